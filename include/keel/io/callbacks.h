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
  /// {best, direction, batch counters}: what a fit resumed by BackupAndRestore needs to save the same files.
  nlohmann::json state() const override;
  void set_state(const nlohmann::json& state) override;

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
/// restores it when fit starts again after an interruption, so that fit continues exactly where the last
/// backup was taken, in the middle of an epoch with save_freq in batches:
///   auto backup = callbacks::BackupAndRestore("/tmp/backup", {.save_freq = 100});
///   model.fit(x, y, {.epochs = 10, .callbacks = {backup}});   // killed in epoch 5, batch 250
///   model.fit(x, y, {.epochs = 10, .callbacks = {backup}});   // restarted: epoch 5 from batch 200
/// A backup is taken in the after_train_batch_end / after_epoch_end hooks, once every callback has seen
/// the batch (epoch). It writes `latest.weights.h5` (the model's and the optimizer's variables, as
/// save_weights writes them) and `training_metadata.json`: Keras's {"epoch": the epoch to resume,
/// "batch": the last batch seen (0 after an epoch end)} plus a "keel" object with what makes the resumed
/// run bitwise identical to an uninterrupted one: the global generator's state at the start of that
/// epoch (its shuffle order) and, mid-epoch, after the last batch done (the dropout masks that follow),
/// the number of batches done, the epoch's metric accumulators (Trainer::metric_state), the optimizer's
/// iteration count (checked against the weights file), the History so far (the History a resumed fit
/// returns continues it; in Keras it holds only the epochs run after the restart), the state() of the
/// fit's other callbacks (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint) and a Dataset's shuffle pass
/// counts. The resumed fit gets them through Trainer::resume_point. Crash safety: the metadata is first
/// written to `training_metadata.json.next`, then the weights replace theirs, then the metadata is renamed
/// into place (each step atomic); a restart that finds new weights beside old metadata commits the
/// `.next` file whose iteration count matches them, so a kill at any instant leaves a usable backup.
/// double_checkpoint first copies the previous pair to `latest.weights.h5.bkp` and
/// `training_metadata.json.bkp`; when the latest pair fails to load (a corrupt file, malformed JSON, a
/// pair from two different saves) the `.bkp` pair replaces it and is loaded instead.
/// on_train_begin: the model must be built (ValueError, Keras's message); when a backup exists the
/// optimizer is built, the variables loaded and fit resumes at the saved point (overriding
/// FitOptions::initial_epoch). on_train_end (fit finished or stopped early, not an exception) removes
/// `backup_dir` with everything in it when delete_checkpoint. The directory must not hold anything else.
/// Under a multi-process strategy (MultiWorkerMirroredStrategy) every worker passes a BackupAndRestore
/// and they resume together, exactly: the chief (rank 0) alone reads, writes and deletes `backup_dir`;
/// each backup gathers every worker's own state (generator, metric accumulators, callback and input
/// states) into the chief's metadata ("num_workers", and "workers" for ranks 1 on), and a restart
/// broadcasts the chief's backup (metadata and variables) to the others, each of which resumes with its
/// own part. It must be resumed by as many workers as wrote it (ValueError otherwise).
/// See docs/saving.md for what is not exact (steps_per_epoch, repeated Datasets).
class BackupAndRestore : public Callback {
 public:
  explicit BackupAndRestore(std::string backup_dir, BackupAndRestoreOptions options = {});

  void on_train_begin(Logs& logs) override;
  void on_train_end(Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void after_epoch_end(int epoch, const Logs& logs) override;
  void after_train_batch_end(int epoch, int64_t batch, const Logs& logs) override;

  const std::string& backup_dir() const { return backup_dir_; }
  /// The epoch the last fit resumed from; nullopt when it found no backup.
  std::optional<int> restored_epoch() const { return restored_epoch_; }
  /// How many batches of restored_epoch() the resumed fit skipped (0: it resumed at the epoch's start).
  int64_t restored_batch() const { return restored_batch_; }
  /// Whether the last restore had to fall back to the `.bkp` pair.
  bool restored_from_previous() const { return restored_from_previous_; }
  /// How many backups the last fit wrote (0 on a worker other than the chief, which writes none).
  int64_t backups_written() const { return backups_written_; }

 private:
  struct Loaded;  // what the files held (backup_and_restore.cpp)
  void restore();
  /// Reads backup_dir (falling back to the .bkp pair) and loads the weights into the model.
  Loaded load();
  Loaded load_from(bool previous);
  /// Resumes fit from what was loaded, with this worker's part of the state.
  void apply(Loaded loaded);
  /// Backs up for resuming at `epoch`: after its batch `batch` (mid-epoch), or at its start (batch -1).
  /// Under a multi-process strategy every worker calls it (a collective) and the chief writes.
  void save(int epoch, int64_t batch);

  std::string backup_dir_;
  BackupAndRestoreOptions options_;
  std::string weights_path_, metadata_path_, next_metadata_path_, prev_weights_path_, prev_metadata_path_;
  int64_t batches_since_save_ = 0;
  int64_t last_batch_seen_ = 0;
  random::GeneratorState epoch_start_state_;  // the generator at the start of the epoch in progress
  History history_;                            // the epochs finished so far, as fit's History holds them
  std::optional<int> restored_epoch_;
  int64_t restored_batch_ = 0;
  bool restored_from_previous_ = false;
  int64_t backups_written_ = 0;
};

}  // namespace keel::callbacks
