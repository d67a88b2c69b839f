// EarlyStopping (keras/src/callbacks/early_stopping.py, keras-reference §9.2).
#include <cstdio>

#include "keel/core/error.h"
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

nlohmann::json EarlyStopping::state() const {
  nlohmann::json s = {{"wait", wait_},
                      {"stopped_epoch", stopped_epoch_},
                      {"best", best_ ? double_to_json(*best_) : nlohmann::json(nullptr)},
                      {"best_epoch", best_epoch_},
                      {"direction", direction()}};
  if (best_weights_) {
    // As doubles: every float32 (and float64) value survives the JSON round trip exactly.
    nlohmann::json weights = nlohmann::json::array();
    for (const Tensor& w : *best_weights_) {
      nlohmann::json values = nlohmann::json::array();
      for (double v : w.astype(DType::f64).to_vector<double>()) values.push_back(double_to_json(v));
      weights.push_back(std::move(values));
    }
    s["best_weights"] = std::move(weights);
  }
  return s;
}

void EarlyStopping::set_state(const nlohmann::json& s) {
  try {
    wait_ = s.at("wait").get<int>();
    stopped_epoch_ = s.at("stopped_epoch").get<int>();
    best_ = s.at("best").is_null() ? std::nullopt : std::optional<double>(json_to_double(s.at("best")));
    best_epoch_ = s.at("best_epoch").get<int>();
    set_direction(s.at("direction").get<int>());
    best_weights_.reset();
    if (s.contains("best_weights")) {
      // The saved values take the shapes and dtypes of the model's weights.
      const std::vector<Tensor> current = model().get_weights();
      const nlohmann::json& weights = s.at("best_weights");
      KEEL_CHECK(weights.size() == current.size(), ValueError, "EarlyStopping: the saved best weights are ",
                 weights.size(), " arrays; the model has ", current.size());
      std::vector<Tensor> best;
      for (size_t i = 0; i < current.size(); ++i) {
        std::vector<double> values;
        for (const nlohmann::json& v : weights[i]) values.push_back(json_to_double(v));
        KEEL_CHECK(static_cast<int64_t>(values.size()) == current[i].numel(), ValueError,
                   "EarlyStopping: saved best weight ", i, " has ", values.size(), " values; the model's has ",
                   current[i].numel());
        best.push_back(from_vector(values, current[i].shape(), current[i].device()).astype(current[i].dtype()));
      }
      best_weights_ = std::move(best);
    }
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(std::string("EarlyStopping: malformed saved state: ") + e.what());
  }
}

}  // namespace keel::callbacks
