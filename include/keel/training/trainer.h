// The Trainer (keras.trainers.Trainer): compile / fit / evaluate / predict and the *_on_batch forms,
// with Keras's semantics (keras-reference §7.4, §8). Model derives from it; the trainer reaches the
// network through the few virtual functions at the bottom.
//   model.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
//   History h = model.fit(x, y, {.batch_size = 64, .epochs = 10, .validation_split = 0.1});
//   auto scores = model.evaluate(x_test, y_test);        // {"accuracy": ..., "loss": ...}
#pragma once
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/random.h"
#include "keel/core/tensor.h"
#include "keel/core/variable.h"
#include "keel/data/dataset.h"
#include "keel/losses/losses.h"
#include "keel/metrics/metrics.h"
#include "keel/optimizers/optimizer.h"
#include "keel/training/callback.h"
#include "keel/training/strategy.h"

namespace keel {

namespace training_detail {
struct Batch;
class EpochData;
struct StepTensors;
struct CompiledSteps;
}  // namespace training_detail
class Trainer;

/// A forward pass's outputs and their Keras masks (one per output; undefined: none).
struct ForwardResult {
  std::vector<Tensor> outputs;
  std::vector<Tensor> masks;
};

/// One batch as a train, test or predict step receives it (Keras's `data`): the inputs, the targets (empty
/// when fit was given none) and the sample weights (undefined when none), on the model's device.
struct StepData {
  std::vector<Tensor> x;
  std::vector<Tensor> y;
  Tensor sample_weight;
};

/// Keras's tape.gradient(loss, variables): d loss / d variable for each variable, undefined where the loss
/// does not depend on it. Leaves no gradient stored on the variables.
std::vector<Tensor> gradients(const Tensor& loss, const std::vector<Variable>& variables);

/// Keras's `verbose`: "auto" (= 1), 0 (silent), 1 (progress bar), 2 (one line per epoch).
class Verbose {
 public:
  Verbose(int level) : level_(level) {}  // NOLINT: implicit, as Keras takes ints
  Verbose(const char* mode);             // NOLINT: "auto"
  int level() const { return level_; }

 private:
  int level_ = 1;
};

/// compile's `loss`: one loss for every output (a string, an object or a shared_ptr), or a list with one
/// per output in output order.
class LossArgs {
 public:
  LossArgs() = default;
  LossArgs(const char* identifier) : args_{LossArg(identifier)} {}  // NOLINT: implicit, as Keras takes strings
  LossArgs(std::string identifier) : args_{LossArg(std::move(identifier))} {}  // NOLINT
  template <class T>
    requires std::derived_from<T, Loss>
  LossArgs(T loss) : args_{LossArg(std::move(loss))} {}  // NOLINT
  LossArgs(std::shared_ptr<Loss> loss) : args_{LossArg(std::move(loss))} {}  // NOLINT
  LossArgs(std::initializer_list<LossArg> per_output) : args_(per_output) {}
  LossArgs(std::vector<LossArg> per_output) : args_(std::move(per_output)) {}  // NOLINT
  size_t size() const { return args_.size(); }
  bool empty() const { return args_.empty(); }
  const LossArg& operator[](size_t i) const { return args_[i]; }

 private:
  std::vector<LossArg> args_;
};

struct CompileOptions {
  OptimizerArg optimizer = "rmsprop";
  LossArgs loss = {};
  std::vector<double> loss_weights = {};
  std::vector<MetricArg> metrics = {};
  std::vector<MetricArg> weighted_metrics = {};
  bool run_eagerly = false;
};

/// validation_data for fit: (x, y[, sample_weight]) arrays or a Dataset of such elements.
struct ValidationData {
  ValidationData(Tensor x, Tensor y, Tensor sample_weight = Tensor())
      : x{std::move(x)}, y{std::move(y)}, sample_weight(std::move(sample_weight)) {}
  ValidationData(std::vector<Tensor> x, std::vector<Tensor> y, Tensor sample_weight = Tensor())
      : x(std::move(x)), y(std::move(y)), sample_weight(std::move(sample_weight)) {}
  ValidationData(data::Dataset dataset) : dataset(std::move(dataset)) {}  // NOLINT: implicit
  std::vector<Tensor> x, y;
  Tensor sample_weight;
  std::optional<data::Dataset> dataset;
};

struct FitOptions {
  std::optional<int64_t> batch_size = std::nullopt;  // 32 for arrays
  int epochs = 1;
  Verbose verbose = "auto";
  std::vector<CallbackArg> callbacks = {};
  double validation_split = 0.0;
  std::optional<ValidationData> validation_data = std::nullopt;
  bool shuffle = true;
  std::map<int64_t, double> class_weight = {};
  Tensor sample_weight = Tensor();
  int initial_epoch = 0;
  std::optional<int64_t> steps_per_epoch = std::nullopt;
  std::optional<int64_t> validation_steps = std::nullopt;
  std::optional<int64_t> validation_batch_size = std::nullopt;
  int validation_freq = 1;
};

struct EvaluateOptions {
  std::optional<int64_t> batch_size = std::nullopt;
  Verbose verbose = "auto";
  Tensor sample_weight = Tensor();
  std::optional<int64_t> steps = std::nullopt;
  std::vector<CallbackArg> callbacks = {};
};

struct PredictOptions {
  std::optional<int64_t> batch_size = std::nullopt;
  Verbose verbose = "auto";
  std::optional<int64_t> steps = std::nullopt;
  std::vector<CallbackArg> callbacks = {};
};

class Trainer {
 public:
  Trainer();
  virtual ~Trainer();

  void compile(CompileOptions options = {});
  bool compiled() const { return compiled_; }

  History fit(const Tensor& x, const Tensor& y, FitOptions options = {});
  History fit(const std::vector<Tensor>& x, const std::vector<Tensor>& y, FitOptions options = {});
  /// Without targets (Keras's fit(x)): for models whose train_step needs none (a GAN).
  History fit(const Tensor& x, FitOptions options);
  /// Elements of (x, y) or (x, y, sample_weight); batch the dataset first (as with tf.data).
  History fit(const data::Dataset& dataset, FitOptions options = {});

  /// {"loss": ..., "<metric>": ...}
  std::map<std::string, double> evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options = {});
  std::map<std::string, double> evaluate(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                         EvaluateOptions options = {});
  std::map<std::string, double> evaluate(const data::Dataset& dataset, EvaluateOptions options = {});

  /// Single-output models; predict_outputs returns every output.
  Tensor predict(const Tensor& x, PredictOptions options = {});
  Tensor predict(const data::Dataset& dataset, PredictOptions options = {});
  std::vector<Tensor> predict_outputs(const std::vector<Tensor>& x, PredictOptions options = {});

  /// One step on one batch; the returned logs are the metric results after it (metrics are not reset
  /// between calls unless reset_metrics is true, as in Keras).
  std::map<std::string, double> train_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight = Tensor(),
                                               bool reset_metrics = true);
  std::map<std::string, double> test_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight = Tensor(),
                                              bool reset_metrics = true);
  /// Models with several inputs or outputs: one tensor per input and per output, as fit takes them.
  std::map<std::string, double> train_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                               const Tensor& sample_weight = Tensor(), bool reset_metrics = true);
  std::map<std::string, double> test_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                              const Tensor& sample_weight = Tensor(), bool reset_metrics = true);
  Tensor predict_on_batch(const Tensor& x);

  // --- what callbacks use ---
  bool stop_training = false;
  /// Throws ValueError if not compiled.
  Optimizer& optimizer() const;
  std::shared_ptr<Optimizer> optimizer_ptr() const { return optimizer_; }
  /// The arguments of the last compile() (what model.save writes as compile_config).
  const CompileOptions& compile_options() const { return compile_options_; }
  /// The compiled metrics, once fit/evaluate has seen data, then the model's own (track_metric).
  std::vector<std::shared_ptr<Metric>> metrics() const;
  /// +1/-1 for a metric (or "val_" metric) by name, 0 when unknown; "loss" is -1.
  int metric_direction(const std::string& name) const;
  /// fit's starting epoch may be moved by callbacks (BackupAndRestore; Keras's `model._initial_epoch`):
  /// fit clears it before on_train_begin and, when a callback set it there, starts from it instead of
  /// FitOptions::initial_epoch (resume_point, below, when set, takes precedence).
  std::optional<int> initial_epoch_override;
  /// The History a resumed fit continues (set by BackupAndRestore in on_train_begin, cleared by fit before
  /// it): the History fit returns starts with its epochs and values, then the epochs run now.
  std::optional<History> resumed_history;
  /// Where a resumed fit continues, exactly (set by BackupAndRestore in on_train_begin, cleared by fit
  /// before it; Note [Resuming a fit] in trainer.cpp). fit then:
  ///  - after every callback's on_train_begin, hands each of `callback_states` (callback_states()'s
  ///    result in the interrupted fit) to set_state of the callback that matches it: the k-th callback of
  ///    its dynamic type in this fit's list for the k-th of that type saved (states with no match are
  ///    ignored: a resumed fit may drop or add callbacks);
  ///  - sets the input's epoch-start state (`data_state`, see epoch_data_state()) when it is not empty;
  ///  - starts at `epoch` (instead of initial_epoch and initial_epoch_override), whose on_epoch_begin
  ///    and begin of the data pass run as usual, then skips its first `batches_done` batches without
  ///    training on them or calling batch hooks, and before the next batch sets the epoch's metric
  ///    accumulators to `metric_state` (metric_state()'s layout) and, when given, the global generator
  ///    to `random_state`.
  struct CallbackState {
    std::string type;  // typeid(callback).name()
    int index = 0;     // among the fit's callbacks of that type
    nlohmann::json state;
  };
  struct ResumePoint {
    int epoch = 0;
    int64_t batches_done = 0;
    std::vector<double> metric_state;
    std::optional<random::GeneratorState> random_state;
    std::vector<CallbackState> callback_states;
    std::vector<uint64_t> data_state;
  };
  std::optional<ResumePoint> resume_point;
  /// The non-null state() of each callback of the fit call in progress (empty outside fit), in list order.
  std::vector<CallbackState> callback_states() const;
  /// The training metrics' accumulators of the epoch in progress, flattened: the loss tracker's total and
  /// count, each output's (total, count), then every compiled metric's state_values() in metrics() order.
  /// Read in a batch hook, they give that epoch's logs so far.
  std::vector<double> metric_state() const;
  /// The state of fit's input that the global generator does not hold (the pass counts of a Dataset's
  /// shuffle stages, Dataset::shuffle_passes; empty for arrays, whose order the generator gives) at the
  /// start of the epoch in progress, and from the end of its last batch on, the state the next epoch
  /// starts from.
  const std::vector<uint64_t>& epoch_data_state() const { return epoch_data_state_; }

  /// How the train steps (fit, train_on_batch), test steps (evaluate, fit's validation) and predict steps
  /// ran so far (Note [Compiled train step] in the sources): replayed from a recorded kernel plan, or run
  /// op by op, and why a recorded step was refused.
  struct StepStats {
    int64_t replayed = 0, eager = 0;
    std::string not_compiled_because;
  };
  StepStats train_step_stats() const;
  StepStats test_step_stats() const;
  StepStats predict_step_stats() const;

  /// The distribution strategy captured when the model was created or compiled inside strategy.scope()
  /// (Keras's model.distribute_strategy); nullptr: the default strategy (one replica).
  const std::shared_ptr<StrategyExtended>& distribute_strategy() const { return strategy_; }

  // --- implemented by the model ---
  virtual std::vector<Tensor> get_weights() const = 0;
  virtual void set_weights(const std::vector<Tensor>& weights) = 0;

 protected:
  // --- customising fit (Keras's "Customizing what happens in fit()") ---
  /// One training step (fit, train_on_batch); returns the logs fit shows, records in History and hands to
  /// callbacks (an overriding step's logs are also the epoch's). The default: the forward pass in training
  /// mode, compute_loss, the gradients of the trainable variables, optimizer().apply, compute_metrics
  /// (replayed from a kernel plan when it can). A custom step cannot run under a distribution strategy
  /// (UnimplementedError after its first step).
  virtual Logs train_step(const StepData& data);
  /// One evaluation step (evaluate, fit's validation, test_on_batch), without gradients. The default: the
  /// forward pass, compute_loss and compute_metrics.
  virtual Logs test_step(const StepData& data);
  /// One prediction step: the outputs for data.x. The default is the forward pass in inference mode.
  virtual std::vector<Tensor> predict_step(const StepData& data);
  /// Keras's compute_loss: the compiled losses of y_pred against data.y (leaving masked elements out, with the
  /// loss weights) plus the sum of every loss in model.losses(). The default steps call it.
  virtual Tensor compute_loss(const StepData& data, const ForwardResult& y_pred);
  /// Keras's compute_metrics: adds `loss` to the loss tracker, updates the compiled metrics, returns the logs.
  virtual Logs compute_metrics(const StepData& data, const ForwardResult& y_pred, const Tensor& loss);
  /// A metric of the model's own (Keras's metric attributes, such as a GAN's loss trackers): reset when each
  /// epoch and each evaluate begins, listed by metrics().
  void track_metric(std::shared_ptr<Metric> metric);

  /// The network's forward pass on a batch: the outputs and their Keras masks (which the losses and
  /// metrics apply).
  virtual ForwardResult forward(const std::vector<Tensor>& inputs, bool training) = 0;
  /// The losses the last forward pass added besides the compiled ones (Keras's model.losses: add_loss and
  /// weight regularization penalties); their sums join the loss that is differentiated and logged.
  virtual std::vector<Tensor> forward_losses() const = 0;
  /// Builds the network from the first batch's shapes when it has no input shape yet (lazy Sequential).
  virtual void build_from_data(const std::vector<Shape>& input_shapes) = 0;
  virtual std::vector<Variable> trainable_variables() const = 0;
  virtual std::vector<Variable> all_variables() const = 0;
  /// Names used for per-output loss keys of multi-output models.
  virtual std::vector<std::string> output_names() const = 0;

 private:
  using Batch = training_detail::Batch;
  using EpochData = training_detail::EpochData;
  struct CompiledOutput;

  void require_compiled(const char* what) const;
  /// Where the model's variables live; batches are moved there before each step.
  Device model_device() const;
  void build_compiled(const Batch& batch, const std::vector<Tensor>& outputs);
  std::vector<Shape> input_shapes_of(const Batch& batch) const;
  /// `masks`: the outputs' Keras masks (losses and metrics leave masked elements out), or empty.
  Tensor total_loss(const Batch& batch, const std::vector<Tensor>& outputs, const std::vector<Tensor>& masks,
                    std::vector<double>* per_output);
  Tensor total_loss(const Batch& batch, const std::vector<Tensor>& outputs, const std::vector<Tensor>& masks,
                    std::vector<Tensor>* per_output);
  void update_metrics(const Batch& batch, const std::vector<Tensor>& outputs, const std::vector<Tensor>& masks,
                      double loss, const std::vector<double>& per_output_losses);
  void reset_metrics();
  void set_metric_state(const std::vector<double>& state);
  /// Resolves the compiled losses and metrics from a batch without training on it (a forward pass in
  /// inference mode), for a resumed fit that restores metric states before its first step.
  void build_metrics_from(const Batch& batch);
  Logs metric_logs() const;
  /// Places the batch, runs the (possibly overridden) train_step and notes whether it was the default.
  Logs run_train_step(const Batch& host_batch);
  Logs default_train_step(const Batch& batch);
  /// The eager forward pass, loss and backward of a train step (grads of `vars`, in order).
  training_detail::StepTensors forward_backward(const Batch& batch, const std::vector<Variable>& vars);
  /// The same, from a recorded kernel plan when the step allows it (compiled_step.cpp).
  training_detail::StepTensors train_forward_backward(const Batch& batch, const std::vector<Variable>& vars);
  /// evaluate's forward pass and loss, and predict's forward pass, likewise from kernel plans.
  training_detail::StepTensors test_forward(const Batch& batch);
  std::vector<Tensor> predict_forward(const Batch& batch);
  /// Whether steps on this batch may replay kernel plans (CPU, no strategy, not run eagerly).
  bool may_replay(const Batch& batch) const;
  Logs run_test_step(const Batch& host_batch);
  std::vector<Tensor> run_predict_step(const Batch& host_batch);
  /// Forward pass (inference mode), loss and metric updates for a batch already on the model's device.
  void accumulate_test_metrics(const Batch& batch);
  // Under a strategy (distributed_steps.cpp): each replica of this process runs its slice of the global batch.
  Logs distributed_train_step(const Batch& batch);
  Logs distributed_test_step(const Batch& batch);
  std::vector<Tensor> distributed_predict_step(const Batch& batch);
  /// Once per fit/evaluate/predict call, before the first step: every process takes the chief's weights.
  void sync_replicas_once();
  /// Metric and loss states summed over processes (metric_logs() reads them under a multi-process strategy).
  Logs global_metric_logs() const;
  void sync_epoch_order(EpochData& data);
  History fit_data(EpochData& train, std::optional<EpochData>& validation, const FitOptions& options);
  Logs evaluate_data(EpochData& data, const std::vector<std::shared_ptr<Callback>>& callbacks, int verbose,
                     bool standalone);
  std::vector<Tensor> predict_data(EpochData& data, const PredictOptions& options);

  bool compiled_ = false;
  CompileOptions compile_options_;
  std::shared_ptr<Optimizer> optimizer_;
  std::vector<std::unique_ptr<CompiledOutput>> outputs_;  // resolved losses and metrics per output
  double loss_total_ = 0, loss_count_ = 0;  // the "loss" tracker: batch losses weighted by batch size
  bool metrics_built_ = false;
  std::shared_ptr<StrategyExtended> strategy_;
  bool replicas_synced_ = false;
  std::vector<std::shared_ptr<Callback>> fit_callbacks_;  // during fit
  std::vector<uint64_t> epoch_data_state_;               // during fit
  std::vector<std::shared_ptr<Metric>> own_metrics_;     // track_metric
  // Whether the last step was the default one, and whether an override ran instead (its logs are the epoch's).
  bool default_train_step_ran_ = false, default_test_step_ran_ = false;
  bool custom_train_step_ran_ = false, custom_test_step_ran_ = false;
  std::vector<Tensor> last_per_output_;  // the default compute_loss's per-output losses
  // Kernel plans per input signature, for train, test (evaluate) and predict steps.
  std::unique_ptr<training_detail::CompiledSteps> compiled_steps_, compiled_tests_, compiled_predicts_;
};

}  // namespace keel
