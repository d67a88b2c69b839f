// Keras's built-in callbacks (keras.callbacks, keras-reference §9): EarlyStopping, ReduceLROnPlateau,
// LearningRateScheduler, CSVLogger, TerminateOnNaN and LambdaCallback. Each takes an options aggregate
// whose fields follow Keras's keyword order. Pass a shared_ptr to read a callback's state after fit.
//   auto stop = std::make_shared<callbacks::EarlyStopping>(callbacks::EarlyStoppingOptions{.patience = 3});
//   model.fit(x, y, {.epochs = 100, .validation_split = 0.2,
//                    .callbacks = {stop, callbacks::CSVLogger("train.csv"),
//                                  callbacks::ReduceLROnPlateau({.factor = 0.5, .patience = 2})}});
//   stop->stopped_epoch();  // 0 when training ran to the end
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/tensor.h"
#include "keel/training/callback.h"

namespace keel::callbacks {

/// The "monitor a quantity, is this value better?" logic EarlyStopping and ReduceLROnPlateau share
/// (keras MonitorCallback, keras-reference §9.1).
class MonitorCallback : public Callback {
 public:
  const std::string& monitor() const { return monitor_; }
  /// "auto", "min" or "max" (an unknown mode falls back to "auto" with a warning, as in Keras).
  const std::string& mode() const { return mode_; }

 protected:
  MonitorCallback(std::string class_name, std::string monitor, std::string mode, double min_delta);
  /// Resolves the direction once (at the first epoch end, when the model's metrics exist): "min"/"max",
  /// or for "auto" loss-like names → min, else the compiled metric's direction; unknown → ValueError.
  void resolve_direction();
  bool resolved() const { return direction_ != 0; }
  /// min: current + |min_delta| < reference; max: current − |min_delta| > reference; no reference ⇒ true.
  bool is_improvement(double current, std::optional<double> reference) const;
  /// +inf for min, −inf for max (once resolved).
  double worst_value() const;
  /// Warns on stderr (once per training run, as Python's warnings do) that the monitored key is missing.
  void warn_missing(const std::string& what, const Logs& logs);
  void reset_missing_warning() { warned_missing_ = false; }
  /// The resolved direction (-1 min, +1 max, 0 not resolved yet), part of the subclasses' state(): a
  /// resumed fit may need it before the model's metrics exist.
  int direction() const { return direction_; }
  void set_direction(int direction);

 private:
  std::string class_name_;
  std::string monitor_;
  std::string mode_;
  double min_delta_;
  int direction_ = 0;  // -1 min, +1 max, 0 not resolved yet
  bool warned_missing_ = false;
};

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0.0;
  int patience = 0;
  int verbose = 0;
  std::string mode = "auto";
  std::optional<double> baseline = std::nullopt;
  bool restore_best_weights = false;
  int start_from_epoch = 0;
};

/// keras.callbacks.EarlyStopping: stops fit when the monitored quantity stops improving (§9.2).
class EarlyStopping : public MonitorCallback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});

  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  /// {wait, stopped_epoch, best, best_epoch, direction, best_weights (with restore_best_weights)}.
  nlohmann::json state() const override;
  void set_state(const nlohmann::json& state) override;

  /// The epoch (0-based) at which training was stopped; 0 when it was not.
  int stopped_epoch() const { return stopped_epoch_; }
  /// The best monitored value so far (none before the first monitored epoch).
  std::optional<double> best() const { return best_; }
  /// The epoch (0-based) of best(), whose weights restore_best_weights restores.
  int best_epoch() const { return best_epoch_; }
  /// Epochs since the last improvement.
  int wait() const { return wait_; }
  const EarlyStoppingOptions& options() const { return options_; }

 private:
  EarlyStoppingOptions options_;
  int wait_ = 0;
  int stopped_epoch_ = 0;
  std::optional<double> best_;
  int best_epoch_ = 0;
  std::optional<std::vector<Tensor>> best_weights_;
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int patience = 10;
  int verbose = 0;
  std::string mode = "auto";
  double min_delta = 1e-4;
  int cooldown = 0;
  double min_lr = 0.0;
};

/// keras.callbacks.ReduceLROnPlateau: multiplies the learning rate by `factor` after `patience` epochs
/// without improvement, then waits `cooldown` epochs (§9.4). Adds "learning_rate" to the epoch logs.
class ReduceLROnPlateau : public MonitorCallback {
 public:
  /// ValueError when factor >= 1.
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});

  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  /// {wait, cooldown_counter, best, direction} (the learning rate itself is in the optimizer's variables).
  nlohmann::json state() const override;
  void set_state(const nlohmann::json& state) override;

  bool in_cooldown() const { return cooldown_counter_ > 0; }
  int wait() const { return wait_; }
  int cooldown_counter() const { return cooldown_counter_; }
  /// The best monitored value (±inf before the first monitored epoch).
  double best() const { return best_; }
  const ReduceLROnPlateauOptions& options() const { return options_; }

 private:
  ReduceLROnPlateauOptions options_;
  int wait_ = 0;
  int cooldown_counter_ = 0;
  double best_ = 0.0;  // set to ±inf when the direction is resolved
};

struct LearningRateSchedulerOptions {
  int verbose = 0;
};

/// keras.callbacks.LearningRateScheduler: at each epoch begin sets the learning rate to
/// schedule(epoch, current_lr) (or schedule(epoch)); adds "learning_rate" to the epoch logs (§9.5).
class LearningRateScheduler : public Callback {
 public:
  using Schedule = std::function<double(int epoch, double learning_rate)>;
  using EpochSchedule = std::function<double(int epoch)>;

  /// ValueError when `schedule` is empty.
  explicit LearningRateScheduler(Schedule schedule, LearningRateSchedulerOptions options = {});
  /// The legacy one-argument form Keras falls back to.
  explicit LearningRateScheduler(EpochSchedule schedule, LearningRateSchedulerOptions options = {});

  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  Schedule schedule_;
  LearningRateSchedulerOptions options_;
};

struct CSVLoggerOptions {
  std::string separator = ",";
  bool append = false;
};

/// keras.callbacks.CSVLogger: one row per epoch, header "epoch" + the sorted log keys (§9.6), rows
/// ending in "\r\n" as Python's csv module writes them. As Keras, it opens the file at train begin
/// (truncating it unless `append`) and appends each epoch's row; each row goes out in one write() and is
/// synced (fdatasync) before training goes on, so a killed run leaves every finished epoch's row and no
/// temporary file, and an epoch costs one row, not a rewrite of the file. A write that fails is undone
/// (the file is cut back to its last complete row). Appending to a file whose last line is unterminated
/// first ends that line, so no row is glued to it. keel::Error naming the path when it cannot be opened
/// or written.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string filename, CSVLoggerOptions options = {});
  /// A copy has the same settings and its own file descriptor, opened by its own on_train_begin.
  CSVLogger(const CSVLogger& other);
  CSVLogger& operator=(const CSVLogger&) = delete;
  ~CSVLogger() override;

  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;

  const std::string& filename() const { return filename_; }

 private:
  void append_text(const std::string& text);
  void close_file();
  std::string format_row(const std::vector<std::string>& fields) const;

  std::string filename_;
  CSVLoggerOptions options_;
  int fd_ = -1;                    // open from on_train_begin to on_train_end, in O_APPEND mode
  std::vector<std::string> keys_;  // column keys after "epoch"; fixed at the first epoch end
  bool keys_set_ = false;
  bool append_header_ = true;
  bool end_last_line_ = false;     // the appended-to file ends inside a line
};

struct TerminateOnNaNOptions {
  bool raise_error = false;
};

/// keras.callbacks.TerminateOnNaN: stops training (or throws RuntimeError with raise_error) when a
/// training batch's "loss" is NaN or infinite.
class TerminateOnNaN : public Callback {
 public:
  explicit TerminateOnNaN(TerminateOnNaNOptions options = {}) : options_(options) {}

  void on_batch_end(int64_t batch, Logs& logs) override;

 private:
  TerminateOnNaNOptions options_;
};

/// The functions of a LambdaCallback: Keras's named arguments first, then the other hooks Keras accepts
/// as keyword arguments. Empty functions are not called.
struct LambdaCallbackOptions {
  std::function<void(int epoch, Logs& logs)> on_epoch_begin = nullptr;
  std::function<void(int epoch, Logs& logs)> on_epoch_end = nullptr;
  std::function<void(Logs& logs)> on_train_begin = nullptr;
  std::function<void(Logs& logs)> on_train_end = nullptr;
  std::function<void(int64_t batch, Logs& logs)> on_train_batch_begin = nullptr;
  std::function<void(int64_t batch, Logs& logs)> on_train_batch_end = nullptr;
  /// Keras 2's names: called for training batches when on_train_batch_begin/end are not given.
  std::function<void(int64_t batch, Logs& logs)> on_batch_begin = nullptr;
  std::function<void(int64_t batch, Logs& logs)> on_batch_end = nullptr;
  std::function<void(Logs& logs)> on_test_begin = nullptr;
  std::function<void(Logs& logs)> on_test_end = nullptr;
  std::function<void(int64_t batch, Logs& logs)> on_test_batch_begin = nullptr;
  std::function<void(int64_t batch, Logs& logs)> on_test_batch_end = nullptr;
  std::function<void(Logs& logs)> on_predict_begin = nullptr;
  std::function<void(Logs& logs)> on_predict_end = nullptr;
  std::function<void(int64_t batch, Logs& logs)> on_predict_batch_begin = nullptr;
  std::function<void(int64_t batch, Logs& logs)> on_predict_batch_end = nullptr;
};

/// keras.callbacks.LambdaCallback: a callback built from functions.
///   callbacks::LambdaCallback({.on_epoch_end = [](int epoch, Logs& logs) { std::cout << logs["loss"]; }})
class LambdaCallback : public Callback {
 public:
  explicit LambdaCallback(LambdaCallbackOptions functions = {}) : f_(std::move(functions)) {}

  void on_train_begin(Logs& logs) override;
  void on_train_end(Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_batch_begin(int64_t batch, Logs& logs) override;
  void on_batch_end(int64_t batch, Logs& logs) override;
  void on_train_batch_begin(int64_t batch, Logs& logs) override;
  void on_train_batch_end(int64_t batch, Logs& logs) override;
  void on_test_begin(Logs& logs) override;
  void on_test_end(Logs& logs) override;
  void on_test_batch_begin(int64_t batch, Logs& logs) override;
  void on_test_batch_end(int64_t batch, Logs& logs) override;
  void on_predict_begin(Logs& logs) override;
  void on_predict_end(Logs& logs) override;
  void on_predict_batch_begin(int64_t batch, Logs& logs) override;
  void on_predict_batch_end(int64_t batch, Logs& logs) override;

 private:
  LambdaCallbackOptions f_;
};

}  // namespace keel::callbacks
