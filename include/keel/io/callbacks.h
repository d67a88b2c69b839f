// Callbacks that write files (keras.callbacks.ModelCheckpoint and BackupAndRestore, keras-reference §9.3,
// §9.7). They live in the io
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

#include "keel/core/random.h"
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

struct BackupAndRestoreOptions {
  SaveFrequency save_freq = "epoch";
  bool double_checkpoint = false;
  bool delete_checkpoint = true;
};

/// keras.callbacks.BackupAndRestore: backs the training state up to `backup_dir` at the end of every epoch
/// (or every `save_freq` training batches, counted across epochs as ModelCheckpoint counts them), and
/// restores it when fit starts again after an interruption, so that fit continues from the saved epoch:
///   auto backup = callbacks::BackupAndRestore("/tmp/backup");
///   model.fit(x, y, {.epochs = 10, .callbacks = {backup}});   // killed during epoch 5
///   model.fit(x, y, {.epochs = 10, .callbacks = {backup}});   // same program restarted: epochs 5..9
/// Each backup writes, each atomically, `latest.weights.h5` (the model's and the optimizer's variables, as
/// save_weights writes them) and then `training_metadata.json`: Keras's {"epoch": next epoch index,
/// "batch": last batch seen (0 after an epoch end)} plus a "keel" object with what makes the resumed run
/// bitwise identical to an uninterrupted one: the global generator's state (shuffle order, dropout
/// masks), the optimizer's iteration count (checked against the weights file, so a crash between the two
/// writes is detected) and the History so far (the History a resumed fit returns continues it; in Keras
/// it holds only the epochs run after the restart). Batch-level backups record the epoch in progress
/// and the generator state at its start: a resumed run repeats that epoch from its first batch, starting
/// from the weights saved mid-epoch, as Keras does (not exact).
/// double_checkpoint first copies the previous pair to `latest.weights.h5.bkp` and
/// `training_metadata.json.bkp`; when the latest pair fails to load (a corrupt file, malformed JSON, a
/// pair from two different saves) the `.bkp` pair replaces it and is loaded instead.
/// on_train_begin: the model must be built (ValueError, Keras's message); when a backup exists the
/// optimizer is built, the variables loaded and fit starts at the saved epoch (overriding
/// FitOptions::initial_epoch). on_train_end (fit finished or stopped early, not an exception) removes
/// `backup_dir` with everything in it when delete_checkpoint. The directory must not hold anything else.
class BackupAndRestore : public Callback {
 public:
  explicit BackupAndRestore(std::string backup_dir, BackupAndRestoreOptions options = {});

  void on_train_begin(Logs& logs) override;
  void on_train_end(Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;

  const std::string& backup_dir() const { return backup_dir_; }
  /// The epoch the last fit resumed from; nullopt when it found no backup.
  std::optional<int> restored_epoch() const { return restored_epoch_; }
  /// Whether the last restore had to fall back to the `.bkp` pair.
  bool restored_from_previous() const { return restored_from_previous_; }
  /// How many backups the last fit wrote.
  int64_t backups_written() const { return backups_written_; }

 private:
  void restore();
  void restore_from(bool previous);
  void save(int64_t batch);

  std::string backup_dir_;
  BackupAndRestoreOptions options_;
  std::string weights_path_, metadata_path_, prev_weights_path_, prev_metadata_path_;
  int current_epoch_ = 0;  // the epoch the next backup resumes from
  int64_t batches_since_save_ = 0;
  int64_t last_batch_seen_ = 0;
  random::GeneratorState epoch_start_state_;  // the generator at the start of the epoch in progress
  History history_;                            // the epochs finished so far, as fit's History holds them
  std::optional<int> restored_epoch_;
  bool restored_from_previous_ = false;
  int64_t backups_written_ = 0;
};

}  // namespace keel::callbacks
