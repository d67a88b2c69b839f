// Callbacks that write files (keras.callbacks.ModelCheckpoint, keras-reference §9.3). They live in the io
// module because they save models; they are used like every other callback:
//   model.fit(x, y, {.epochs = 10, .validation_split = 0.1,
//                    .callbacks = {callbacks::ModelCheckpoint("ckpt/{epoch:02d}-{val_loss:.2f}.keras"),
//                                  callbacks::ModelCheckpoint("best.weights.h5", {.save_best_only = true,
//                                                                                 .save_weights_only = true})}});
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keel/training/callbacks.h"

namespace keel::callbacks {

/// Keras's save_freq: "epoch", or a number of training batches (counted across epochs).
class SaveFrequency {
 public:
  SaveFrequency(const char* mode);  // NOLINT: implicit, as Keras takes the string "epoch"
  SaveFrequency(int batches);       // NOLINT: implicit, as Keras takes an int
  bool per_epoch() const { return batches_ == 0; }
  int64_t batches() const { return batches_; }

 private:
  int64_t batches_ = 0;  // 0: every epoch
};

struct ModelCheckpointOptions {
  std::string monitor = "val_loss";
  int verbose = 0;
  bool save_best_only = false;
  bool save_weights_only = false;
  std::string mode = "auto";
  SaveFrequency save_freq = "epoch";
  std::optional<double> initial_value_threshold = std::nullopt;
};

/// keras.callbacks.ModelCheckpoint: saves the model (`.keras`, model.save) or its weights (`.weights.h5`,
/// with save_weights_only) at the end of every epoch or every `save_freq` batches, to `filepath` formatted with Python's str.format from `epoch` (1-based),
/// `batch` (1-based, batch-level saves) and the logs, e.g. "ckpt-{epoch:02d}-{val_loss:.2f}.weights.h5".
/// save_best_only saves only when the monitored value improves (min or max, as EarlyStopping resolves
/// "auto"); initial_value_threshold is the best value to beat. Missing directories are created; every
/// file is written atomically. The filepath must end in `.weights.h5` with save_weights_only, else in
/// `.keras` (ValueError otherwise, Keras's messages); legacy `.h5` model files are not available yet
/// (UnimplementedError).
class ModelCheckpoint : public MonitorCallback {
 public:
  explicit ModelCheckpoint(std::string filepath, ModelCheckpointOptions options = {});

  void on_train_begin(Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;

  /// The best monitored value so far (initial_value_threshold before the first save).
  std::optional<double> best() const { return best_; }
  /// The files written so far, in order (a path saved twice appears twice).
  const std::vector<std::string>& saved_paths() const { return saved_; }
  const std::string& filepath() const { return filepath_; }

 private:
  void save(int epoch, std::optional<int64_t> batch, const Logs& logs);
  bool should_save_on_batch(int64_t batch);
  bool should_save(int epoch, const Logs& logs, const std::string& path);

  std::string filepath_;
  ModelCheckpointOptions options_;
  std::optional<double> best_;
  int current_epoch_ = 0;
  int64_t batches_since_save_ = 0;
  int64_t last_batch_seen_ = 0;
  std::vector<std::string> saved_;
};

}  // namespace keel::callbacks
