// ModelCheckpoint (keras/src/callbacks/model_checkpoint.py, keras-reference §9.3).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "io/python_format.h"
#include "keel/core/error.h"
#include "keel/io/callbacks.h"
#include "keel/io/model_file.h"
#include "keel/io/weights.h"
#include "keel/models/model.h"
#include "keel/training/trainer.h"

namespace keel::callbacks {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string five_decimals(std::optional<double> v) {
  if (!v) return "None";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.5f", *v);
  return buf;
}

// The Model handle of the model a callback serves (callbacks see its Trainer side).
Model model_handle(Trainer& trainer) {
  auto* impl = dynamic_cast<ModelImpl*>(&trainer);
  KEEL_CHECK(impl != nullptr, ValueError, "ModelCheckpoint needs a keel Model to save");
  return Model(std::static_pointer_cast<ModelImpl>(impl->shared_from_this()));
}

}  // namespace

SaveFrequency::SaveFrequency(const char* mode) {
  KEEL_CHECK(mode != nullptr && std::string(mode) == "epoch", ValueError, "Unrecognized save_freq: ",
             mode ? mode : "(null)", ". Expected save_freq are 'epoch' or integer values");
}

SaveFrequency::SaveFrequency(int batches) : batches_(batches) {
  KEEL_CHECK(batches > 0, ValueError, "Unrecognized save_freq: ", batches,
             ". Expected save_freq are 'epoch' or a positive number of batches");
}

ModelCheckpoint::ModelCheckpoint(std::string filepath, ModelCheckpointOptions options)
    : MonitorCallback("ModelCheckpoint", options.monitor, options.mode, 0.0),
      filepath_(std::move(filepath)),
      options_(std::move(options)),
      best_(options_.initial_value_threshold) {
  if (options_.save_weights_only) {
    KEEL_CHECK(ends_with(filepath_, ".weights.h5"), ValueError,
               "When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end in "
               "`.weights.h5` (Keras weights format). Received: filepath=", filepath_);
  } else {
    KEEL_CHECK(ends_with(filepath_, ".keras") || ends_with(filepath_, ".h5"), ValueError,
               "The filepath provided must end in `.keras` (Keras model format). Received: filepath=", filepath_);
  }
}

void ModelCheckpoint::on_train_begin(Logs&) {
  reset_missing_warning();
  batches_since_save_ = 0;
  last_batch_seen_ = 0;
}

void ModelCheckpoint::on_epoch_begin(int epoch, Logs&) { current_epoch_ = epoch; }

nlohmann::json ModelCheckpoint::state() const {
  return {{"best", best_ ? double_to_json(*best_) : nlohmann::json(nullptr)},
          {"direction", direction()},
          {"batches_since_save", batches_since_save_},
          {"last_batch_seen", last_batch_seen_}};
}

void ModelCheckpoint::set_state(const nlohmann::json& s) {
  try {
    best_ = s.at("best").is_null() ? std::nullopt : std::optional<double>(json_to_double(s.at("best")));
    set_direction(s.at("direction").get<int>());
    batches_since_save_ = s.at("batches_since_save").get<int64_t>();
    last_batch_seen_ = s.at("last_batch_seen").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(std::string("ModelCheckpoint: malformed saved state: ") + e.what());
  }
}

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  if (options_.save_freq.per_epoch()) save(epoch, std::nullopt, logs);
}

void ModelCheckpoint::on_train_batch_end(int64_t batch, Logs& logs) {
  if (should_save_on_batch(batch)) save(current_epoch_, batch, logs);
}

bool ModelCheckpoint::should_save_on_batch(int64_t batch) {
  if (options_.save_freq.per_epoch()) return false;
  // Batches count across epochs: a batch index not above the last one seen starts a new epoch.
  batches_since_save_ += batch <= last_batch_seen_ ? batch + 1 : batch - last_batch_seen_;
  last_batch_seen_ = batch;
  if (batches_since_save_ < options_.save_freq.batches()) return false;
  batches_since_save_ = 0;
  return true;
}

bool ModelCheckpoint::should_save(int epoch, const Logs& logs, const std::string& path) {
  if (!options_.save_best_only) {
    if (options_.verbose > 0) std::printf("\nEpoch %d: saving model to %s\n", epoch + 1, path.c_str());
    return true;
  }
  auto it = logs.find(monitor());
  if (it == logs.end()) {
    std::fprintf(stderr, "Warning: Can save best model only with %s available.\n", monitor().c_str());
    return true;
  }
  resolve_direction();
  const double current = it->second;
  const std::string best_text = five_decimals(best_);
  if (!is_improvement(current, best_)) {
    if (options_.verbose > 0)
      std::printf("\nEpoch %d: %s did not improve from %s\n", epoch + 1, monitor().c_str(), best_text.c_str());
    return false;
  }
  if (options_.verbose > 0)
    std::printf("\nEpoch %d: %s improved from %s to %.5f, saving model to %s\n", epoch + 1, monitor().c_str(),
                best_text.c_str(), current, path.c_str());
  best_ = current;
  return true;
}

void ModelCheckpoint::save(int epoch, std::optional<int64_t> batch, const Logs& logs) {
  std::map<std::string, saving::detail::FormatValue> values;
  for (const auto& [key, value] : logs) values[key] = value;
  values["epoch"] = static_cast<int64_t>(epoch + 1);
  if (batch && !logs.count("batch")) values["batch"] = *batch + 1;
  const std::string path = saving::detail::python_format(filepath_, values);
  if (!should_save(epoch, logs, path)) return;

  KEEL_CHECK(!std::filesystem::is_directory(path), Error,
             "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an existing directory: ",
             path);
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  try {
    if (!dir.empty()) std::filesystem::create_directories(dir);
  } catch (const std::filesystem::filesystem_error& e) {
    throw Error("ModelCheckpoint: cannot create the directory of '" + path + "': " + e.code().message());
  }
  if (options_.save_weights_only) saving::save_weights(model_handle(model()), path);
  else saving::save_model(model_handle(model()), path);
  saved_.push_back(path);
  if (options_.verbose > 0) std::printf("\nEpoch %d: finished saving model to %s\n", epoch + 1, path.c_str());
  std::fflush(stdout);
}

}  // namespace keel::callbacks
