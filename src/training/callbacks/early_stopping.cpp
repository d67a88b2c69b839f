// EarlyStopping (keras/src/callbacks/early_stopping.py, keras-reference §9.2).
#include <cstdio>

#include "keel/training/callbacks.h"
#include "keel/training/trainer.h"

namespace keel::callbacks {

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : MonitorCallback("EarlyStopping", options.monitor, options.mode, options.min_delta),
      options_(std::move(options)) {}

void EarlyStopping::on_train_begin(Logs&) {
  // Reset so one instance can serve several fit calls.
  wait_ = 0;
  stopped_epoch_ = 0;
  best_.reset();
  best_weights_.reset();
  best_epoch_ = 0;
  reset_missing_warning();
}

void EarlyStopping::on_epoch_end(int epoch, Logs& logs) {
  resolve_direction();  // delayed until now: the model's metrics exist only after the first batch
  auto it = logs.find(monitor());
  if (it == logs.end()) {
    warn_missing("Early stopping", logs);
    return;
  }
  if (epoch < options_.start_from_epoch) return;
  const double current = it->second;
  if (options_.restore_best_weights && !best_weights_) {
    // Nothing stored yet: the current weights are the best seen.
    best_weights_ = model().get_weights();
    best_epoch_ = epoch;
  }
  ++wait_;
  if (is_improvement(current, best_)) {
    best_ = current;
    best_epoch_ = epoch;
    if (options_.restore_best_weights) best_weights_ = model().get_weights();
    // The wait restarts only when the baseline is beaten as well as the previous best.
    if (!options_.baseline || is_improvement(current, options_.baseline)) wait_ = 0;
    return;
  }
  if (wait_ >= options_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model().stop_training = true;
  }
}

void EarlyStopping::on_train_end(Logs&) {
  if (stopped_epoch_ > 0 && options_.verbose > 0) {
    std::printf("Epoch %d: early stopping\n", stopped_epoch_ + 1);
    std::fflush(stdout);
  }
  if (options_.restore_best_weights && best_weights_) {
    if (options_.verbose > 0) {
      std::printf("Restoring model weights from the end of the best epoch: %d.\n", best_epoch_ + 1);
      std::fflush(stdout);
    }
    model().set_weights(*best_weights_);
  }
}

}  // namespace keel::callbacks
