// LearningRateScheduler (keras/src/callbacks/learning_rate_scheduler.py, keras-reference §9.5).
#include <cstdio>

#include "keel/core/error.h"
#include "keel/training/callbacks.h"
#include "keel/training/trainer.h"
#include "training/callbacks/python_float.h"

namespace keel::callbacks {

LearningRateScheduler::LearningRateScheduler(Schedule schedule, LearningRateSchedulerOptions options)
    : schedule_(std::move(schedule)), options_(options) {
  KEEL_CHECK(schedule_ != nullptr, ValueError,
             "LearningRateScheduler: `schedule` must be a function, got an empty one");
}

LearningRateScheduler::LearningRateScheduler(EpochSchedule schedule, LearningRateSchedulerOptions options)
    : options_(options) {
  KEEL_CHECK(schedule != nullptr, ValueError, "LearningRateScheduler: `schedule` must be a function, got an empty one");
  schedule_ = [schedule = std::move(schedule)](int epoch, double) { return schedule(epoch); };
}

void LearningRateScheduler::on_epoch_begin(int epoch, Logs&) {
  Optimizer& optimizer = model().optimizer();
  const double learning_rate = schedule_(epoch, optimizer.learning_rate());
  optimizer.set_learning_rate(learning_rate);
  if (options_.verbose > 0) {
    std::printf("\nEpoch %d: LearningRateScheduler setting learning rate to %s.\n", epoch + 1,
                detail::python_float_repr(learning_rate).c_str());
    std::fflush(stdout);
  }
}

void LearningRateScheduler::on_epoch_end(int, Logs& logs) {
  logs["learning_rate"] = model().optimizer().learning_rate();
}

}  // namespace keel::callbacks
