// MonitorCallback: the direction and improvement test EarlyStopping and ReduceLROnPlateau share
// (keras/src/callbacks/monitor_callback.py, keras-reference §9.1).
#include <cmath>
#include <cstdio>
#include <limits>

#include "keel/core/error.h"
#include "keel/training/callbacks.h"
#include "keel/training/trainer.h"

namespace keel::callbacks {

MonitorCallback::MonitorCallback(std::string class_name, std::string monitor, std::string mode, double min_delta)
    : class_name_(std::move(class_name)),
      monitor_(std::move(monitor)),
      mode_(std::move(mode)),
      min_delta_(std::fabs(min_delta)) {
  if (mode_ != "auto" && mode_ != "min" && mode_ != "max") {
    std::fprintf(stderr, "Warning: %s mode '%s' is unknown, fallback to auto mode.\n", class_name_.c_str(),
                 mode_.c_str());
    mode_ = "auto";
  }
}

void MonitorCallback::resolve_direction() {
  if (direction_ != 0) return;
  if (mode_ == "min") {
    direction_ = -1;
  } else if (mode_ == "max") {
    direction_ = 1;
  } else {
    const std::string base = monitor_.rfind("val_", 0) == 0 ? monitor_.substr(4) : monitor_;
    int direction = base == "loss" ? -1 : 0;
    if (has_model()) {
      const int from_model = model().metric_direction(monitor_);
      if (from_model != 0) direction = from_model;
    }
    KEEL_CHECK(direction != 0, ValueError, class_name_, " callback received monitor=", monitor_,
               ", but Keel isn't able to automatically determine whether that metric should be maximized or "
               "minimized. Pass `mode='max'` in order to monitor based on the highest metric value, or pass "
               "`mode='min'` in order to use the lowest value.");
    direction_ = direction;
  }
}

void MonitorCallback::set_direction(int direction) {
  KEEL_CHECK(direction >= -1 && direction <= 1, ValueError, class_name_, ": invalid direction ", direction,
             " in a saved state");
  direction_ = direction;
}

bool MonitorCallback::is_improvement(double current, std::optional<double> reference) const {
  if (!reference) return true;
  return direction_ < 0 ? current + min_delta_ < *reference : current - min_delta_ > *reference;
}

double MonitorCallback::worst_value() const {
  constexpr double inf = std::numeric_limits<double>::infinity();
  return direction_ < 0 ? inf : -inf;
}

void MonitorCallback::warn_missing(const std::string& what, const Logs& logs) {
  if (warned_missing_) return;
  warned_missing_ = true;
  std::string available;
  for (const auto& [key, value] : logs) available += (available.empty() ? "" : ",") + key;
  std::fprintf(stderr, "Warning: %s conditioned on metric `%s` which is not available. Available metrics are: %s\n",
               what.c_str(), monitor_.c_str(), available.c_str());
}

}  // namespace keel::callbacks
