// ReduceLROnPlateau (keras/src/callbacks/reduce_lr_on_plateau.py, keras-reference §9.4).
#include <algorithm>
#include <cstdio>

#include "keel/core/error.h"
#include "keel/training/callbacks.h"
#include "keel/training/trainer.h"
#include "training/callbacks/python_float.h"

namespace keel::callbacks {

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions options)
    : MonitorCallback("ReduceLROnPlateau", options.monitor, options.mode, options.min_delta),
      options_(std::move(options)) {
  KEEL_CHECK(options_.factor < 1.0, ValueError, "ReduceLROnPlateau does not support a factor >= 1.0. Received factor=",
             detail::python_float_repr(options_.factor));
}

void ReduceLROnPlateau::on_train_begin(Logs&) {
  // As Keras: only the counters reset; the best value carries over to a later fit.
  cooldown_counter_ = 0;
  wait_ = 0;
  reset_missing_warning();
}

void ReduceLROnPlateau::on_epoch_end(int epoch, Logs& logs) {
  if (!resolved()) {
    resolve_direction();
    best_ = worst_value();
  }
  Optimizer& optimizer = model().optimizer();
  logs["learning_rate"] = optimizer.learning_rate();
  auto it = logs.find(monitor());
  if (it == logs.end()) {
    warn_missing("Learning rate reduction", logs);
    return;
  }
  const double current = it->second;
  if (in_cooldown()) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (is_improvement(current, best_)) {
    best_ = current;
    wait_ = 0;
  } else if (!in_cooldown()) {
    ++wait_;
    if (wait_ >= options_.patience) {
      const double old_lr = optimizer.learning_rate();
      // The rate is a float32 variable, so compare against min_lr in float32 as Keras does.
      if (old_lr > static_cast<double>(static_cast<float>(options_.min_lr))) {
        const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
        optimizer.set_learning_rate(new_lr);
        if (options_.verbose > 0) {
          std::printf("\nEpoch %d: ReduceLROnPlateau reducing learning rate to %s.\n", epoch + 1,
                      detail::python_float_repr(new_lr).c_str());
          std::fflush(stdout);
        }
        cooldown_counter_ = options_.cooldown;
        wait_ = 0;
      }
    }
  }
}

nlohmann::json ReduceLROnPlateau::state() const {
  return {{"wait", wait_}, {"cooldown_counter", cooldown_counter_}, {"best", double_to_json(best_)},
          {"direction", direction()}};
}

void ReduceLROnPlateau::set_state(const nlohmann::json& s) {
  try {
    wait_ = s.at("wait").get<int>();
    cooldown_counter_ = s.at("cooldown_counter").get<int>();
    best_ = json_to_double(s.at("best"));
    set_direction(s.at("direction").get<int>());
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(std::string("ReduceLROnPlateau: malformed saved state: ") + e.what());
  }
}

}  // namespace keel::callbacks
