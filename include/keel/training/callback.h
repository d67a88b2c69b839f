// Callbacks (keras.callbacks.Callback): hooks the Trainer calls around training, evaluation and
// prediction, in Keras's order (keras-reference §9). A callback reaches the model it serves through
// `model()`, the training-side view of a Model (stop_training, weights, optimizer, metric directions).
//   class PrintLoss : public Callback {
//     void on_epoch_end(int epoch, Logs& logs) override { std::cout << logs.at("loss") << "\n"; }
//   };
//   model.fit(x, y, {.callbacks = {PrintLoss()}});
#pragma once
#include <concepts>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace keel {

class Trainer;

/// Epoch and batch logs, keyed like Keras ("loss", "accuracy", "val_loss", ...); std::map keeps them
/// sorted alphabetically as Keras sorts them before callbacks see them.
using Logs = std::map<std::string, double>;

/// fit's parameters as Keras passes them to callbacks (callback.params).
struct CallbackParams {
  int verbose = 1;
  int epochs = 1;
  int64_t steps = -1;  // batches per epoch; -1 when unknown
};

class Callback {
 public:
  virtual ~Callback() = default;

  void set_model(Trainer* model) { model_ = model; }
  void set_params(const CallbackParams& params) { params_ = params; }
  Trainer& model() const;
  bool has_model() const { return model_ != nullptr; }
  const CallbackParams& params() const { return params_; }

  virtual void on_train_begin(Logs&) {}
  virtual void on_train_end(Logs&) {}
  virtual void on_epoch_begin(int /*epoch*/, Logs&) {}
  virtual void on_epoch_end(int /*epoch*/, Logs&) {}
  /// Default bodies of on_train_batch_begin/end, as in Keras.
  virtual void on_batch_begin(int64_t /*batch*/, Logs&) {}
  virtual void on_batch_end(int64_t /*batch*/, Logs&) {}
  virtual void on_train_batch_begin(int64_t batch, Logs& logs) { on_batch_begin(batch, logs); }
  virtual void on_train_batch_end(int64_t batch, Logs& logs) { on_batch_end(batch, logs); }
  virtual void on_test_begin(Logs&) {}
  virtual void on_test_end(Logs&) {}
  virtual void on_test_batch_begin(int64_t /*batch*/, Logs&) {}
  virtual void on_test_batch_end(int64_t /*batch*/, Logs&) {}
  virtual void on_predict_begin(Logs&) {}
  virtual void on_predict_end(Logs&) {}
  virtual void on_predict_batch_begin(int64_t /*batch*/, Logs&) {}
  virtual void on_predict_batch_end(int64_t /*batch*/, Logs&) {}

  /// Keel's hooks, called by fit after every callback's on_train_batch_end (on_epoch_end) of the same
  /// batch (epoch), with the logs as they left the last callback: the weights, the metric accumulators and
  /// every callback's state() then include that batch (epoch), whatever the callbacks' order.
  /// BackupAndRestore backs up there.
  virtual void after_train_batch_end(int /*epoch*/, int64_t /*batch*/, const Logs&) {}
  virtual void after_epoch_end(int /*epoch*/, const Logs&) {}

  /// What this callback has accumulated during fit that a resumed fit needs to behave as an uninterrupted
  /// one (EarlyStopping's wait and best, ReduceLROnPlateau's counters, ModelCheckpoint's best, ...): a
  /// JSON value, or null (the default) for a callback with no such state. BackupAndRestore saves the
  /// states of the fit's other callbacks with each backup, and the resumed fit hands them back through
  /// set_state after every callback's on_train_begin (which resets them), before the first epoch begins.
  virtual nlohmann::json state() const { return nullptr; }
  /// Restores what state() returned (only called with a non-null value); ValueError when it is malformed.
  virtual void set_state(const nlohmann::json& /*state*/) {}

 private:
  Trainer* model_ = nullptr;
  CallbackParams params_;
};

/// What fit/evaluate/predict accept in `callbacks`: a callback object by value (copied) or a shared
/// pointer (to read its state afterwards, e.g. EarlyStopping::stopped_epoch()).
class CallbackArg {
 public:
  template <class T>
    requires std::derived_from<T, Callback>
  CallbackArg(T callback) : ptr_(std::make_shared<T>(std::move(callback))) {}  // NOLINT: implicit
  template <class T>
    requires std::derived_from<T, Callback>
  CallbackArg(std::shared_ptr<T> callback) : ptr_(std::move(callback)) {}  // NOLINT: implicit
  const std::shared_ptr<Callback>& get() const { return ptr_; }

 private:
  std::shared_ptr<Callback> ptr_;
};

/// The callbacks of one fit/evaluate/predict call, called in list order.
class CallbackList {
 public:
  CallbackList(std::vector<std::shared_ptr<Callback>> callbacks, Trainer* model, const CallbackParams& params);
  /// Callbacks already attached (fit's, reused by its validation pass): model and params stay as they are.
  explicit CallbackList(std::vector<std::shared_ptr<Callback>> callbacks) : callbacks_(std::move(callbacks)) {}
  const std::vector<std::shared_ptr<Callback>>& callbacks() const { return callbacks_; }

  void on_train_begin(Logs& logs);
  void on_train_end(Logs& logs);
  void on_epoch_begin(int epoch, Logs& logs);
  void on_epoch_end(int epoch, Logs& logs);
  void on_train_batch_begin(int64_t batch, Logs& logs);
  void on_train_batch_end(int64_t batch, Logs& logs);
  void after_train_batch_end(int epoch, int64_t batch, const Logs& logs);
  void after_epoch_end(int epoch, const Logs& logs);
  void on_test_begin(Logs& logs);
  void on_test_end(Logs& logs);
  void on_test_batch_begin(int64_t batch, Logs& logs);
  void on_test_batch_end(int64_t batch, Logs& logs);
  void on_predict_begin(Logs& logs);
  void on_predict_end(Logs& logs);
  void on_predict_batch_begin(int64_t batch, Logs& logs);
  void on_predict_batch_end(int64_t batch, Logs& logs);

 private:
  std::vector<std::shared_ptr<Callback>> callbacks_;
};

namespace callbacks {

/// JSON has no NaN or infinities: callback states (and BackupAndRestore's metadata) write such doubles as
/// the strings "nan", "inf" and "-inf"; json_to_double reads both forms back (ValueError otherwise).
nlohmann::json double_to_json(double value);
double json_to_double(const nlohmann::json& value);

/// keras.callbacks.History: fit adds one automatically; model.fit returns it.
class History : public Callback {
 public:
  /// Per-epoch values keyed like the epoch logs.
  std::map<std::string, std::vector<double>> history;
  /// The epoch indices (0-based) that ran.
  std::vector<int> epoch;

  void on_train_begin(Logs&) override;
  void on_epoch_end(int epoch_index, Logs& logs) override;
};

}  // namespace callbacks

using History = callbacks::History;

}  // namespace keel
