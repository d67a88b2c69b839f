// Trainer: the eager train/test/predict steps and the loops around them, following Keras's trainer
// (keras/src/trainers/trainer.py, keras/src/backend/tensorflow/trainer.py) as keras-reference §7.4 and
// §8 describe them.
#include "keel/training/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <typeinfo>

#include "keel/core/grad_mode.h"
#include "keel/core/random.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/reduction.h"
#include "keel/training/progbar.h"
#include "training/compiled_step.h"
#include "training/epoch_data.h"

namespace keel {

using training_detail::StepTensors;

using training_detail::ArrayData;
using training_detail::on_device;

Verbose::Verbose(const char* mode) {
  KEEL_CHECK(mode != nullptr && std::strcmp(mode, "auto") == 0, ValueError,
             "verbose must be \"auto\", 0, 1 or 2; received \"", mode ? mode : "", "\"");
  level_ = 1;
}

/// The resolved losses and metrics of one model output.
struct Trainer::CompiledOutput {
  std::string name;
  std::shared_ptr<Loss> loss;  // null: this output has no loss
  double loss_weight = 1.0;
  std::vector<std::shared_ptr<Metric>> metrics;           // updated without sample weights
  std::vector<std::shared_ptr<Metric>> weighted_metrics;  // updated with sample/class weights
  double loss_total = 0, loss_count = 0;                  // per-output loss mean for multi-output logs
};

// A model created inside strategy.scope() trains with that strategy (Keras's TF trainer captures it then).
Trainer::Trainer() : strategy_(current_strategy()) {}
Trainer::~Trainer() = default;

void Trainer::compile(CompileOptions options) {
  optimizer_ = options.optimizer.resolve();
  if (auto strategy = current_strategy()) strategy_ = std::move(strategy);
  compile_options_ = std::move(options);
  outputs_.clear();
  metrics_built_ = false;
  loss_total_ = loss_count_ = 0;
  compiled_steps_.reset();  // plans recorded with the previous losses
  compiled_tests_.reset();
  compiled_ = true;
}

void Trainer::require_compiled(const char* what) const {
  KEEL_CHECK(compiled_, ValueError, "You must call compile() before using the model (", what, " was called on a model "
             "that is not compiled).");
}

Optimizer& Trainer::optimizer() const {
  KEEL_CHECK(optimizer_ != nullptr, ValueError, "This model has no optimizer: call compile() first");
  return *optimizer_;
}

std::vector<std::shared_ptr<Metric>> Trainer::metrics() const {
  std::vector<std::shared_ptr<Metric>> out;
  for (const auto& o : outputs_) {
    out.insert(out.end(), o->metrics.begin(), o->metrics.end());
    out.insert(out.end(), o->weighted_metrics.begin(), o->weighted_metrics.end());
  }
  out.insert(out.end(), own_metrics_.begin(), own_metrics_.end());
  return out;
}

int Trainer::metric_direction(const std::string& name) const {
  std::string base = name.rfind("val_", 0) == 0 ? name.substr(4) : name;
  if (base == "loss" || (base.size() > 5 && base.ends_with("_loss"))) return -1;
  for (const auto& m : metrics())
    if (m->name() == base) return m->direction();
  return 0;
}

// --- resolving losses and metrics from the first batch's shapes (keras-reference §6.2, §7.1) ---

namespace {

/// "crossentropy"/"ce" pick binary, sparse or categorical cross-entropy from the shapes, as "accuracy" does.
std::shared_ptr<Loss> resolve_loss(const LossArg& arg, const Shape& y_true, const Shape& y_pred) {
  if (arg.is_string()) {
    std::string id = arg.identifier();
    if (id == "crossentropy" || id == "ce") {
      const bool binary = !y_pred.empty() && y_pred.back() == 1;
      const bool sparse = y_true.size() < y_pred.size() || (!y_true.empty() && y_true.back() == 1 && !binary);
      id = binary ? "binary_crossentropy" : sparse ? "sparse_categorical_crossentropy" : "categorical_crossentropy";
    }
    return losses::get(id);
  }
  return arg.resolve();
}

std::shared_ptr<Metric> resolve_metric(const MetricArg& arg, const Shape& y_true, const Shape& y_pred) {
  return arg.resolve(y_true, y_pred);
}

}  // namespace

void Trainer::build_compiled(const Batch& batch, const std::vector<Tensor>& outputs) {
  if (metrics_built_) return;
  const auto& opts = compile_options_;
  const size_t n_out = outputs.size();
  KEEL_CHECK(!opts.loss.empty(), ValueError, "compile() was called without a loss; fit and evaluate need one "
             "(e.g. compile({.optimizer = \"adam\", .loss = \"mse\"}))");
  KEEL_CHECK(opts.loss.size() == 1 || opts.loss.size() == n_out, ValueError, "compile() received ", opts.loss.size(),
             " losses but the model has ", n_out, " outputs: give one loss, or one per output");
  KEEL_CHECK(opts.loss_weights.empty() || opts.loss_weights.size() == n_out, ValueError, "compile() received ",
             opts.loss_weights.size(), " loss_weights but the model has ", n_out, " outputs");
  KEEL_CHECK(batch.y.size() == n_out, ValueError, "The model has ", n_out, " outputs but the data gives ",
             batch.y.size(), " targets");
  std::vector<std::string> names = output_names();
  outputs_.clear();
  for (size_t o = 0; o < n_out; ++o) {
    auto out = std::make_unique<CompiledOutput>();
    out->name = o < names.size() ? names[o] : "output_" + std::to_string(o);
    const Shape& yt = batch.y[o].shape();
    const Shape& yp = outputs[o].shape();
    out->loss = resolve_loss(opts.loss.size() == 1 ? opts.loss[0] : opts.loss[o], yt, yp);
    out->loss_weight = opts.loss_weights.empty() ? 1.0 : opts.loss_weights[o];
    auto named = [&](std::shared_ptr<Metric> m) {
      if (n_out > 1) m->set_name(out->name + "_" + m->name());
      return m;
    };
    for (const auto& m : opts.metrics) out->metrics.push_back(named(resolve_metric(m, yt, yp)));
    for (const auto& m : opts.weighted_metrics) {
      auto metric = resolve_metric(m, yt, yp);
      // A weighted metric whose name is already taken shows as weighted_<name>, as in Keras.
      for (const auto& other : out->metrics)
        if (other->name() == metric->name()) metric->set_name("weighted_" + metric->name());
      out->weighted_metrics.push_back(named(metric));
    }
    outputs_.push_back(std::move(out));
  }
  metrics_built_ = true;
}

Tensor Trainer::total_loss(const Batch& batch, const std::vector<Tensor>& outputs, const std::vector<Tensor>& masks,
                           std::vector<Tensor>* per_output) {
  Tensor total;
  for (size_t o = 0; o < outputs_.size(); ++o) {
    const auto& out = *outputs_[o];
    if (!out.loss) continue;
    Tensor l = (*out.loss)(batch.y[o], outputs[o], batch.sample_weight, o < masks.size() ? masks[o] : Tensor());
    if (per_output) per_output->push_back(l.detach());
    Tensor weighted = out.loss_weight == 1.0 ? l : l * out.loss_weight;
    total = total.defined() ? total + weighted : weighted;
  }
  // Keras's compute_loss: each added loss is summed to a scalar and added to the compiled ones.
  for (const Tensor& extra : forward_losses()) {
    Tensor s = ops::sum(extra);
    if (total.defined() && s.dtype() != total.dtype()) s = ops::cast(s, total.dtype());
    total = total.defined() ? total + s : s;
  }
  return total;
}

Tensor Trainer::total_loss(const Batch& batch, const std::vector<Tensor>& outputs, const std::vector<Tensor>& masks,
                           std::vector<double>* per_output) {
  std::vector<Tensor> losses;
  Tensor total = total_loss(batch, outputs, masks, &losses);
  for (const Tensor& l : losses) per_output->push_back(l.item<double>());
  return total;
}

void Trainer::update_metrics(const Batch& batch, const std::vector<Tensor>& outputs, const std::vector<Tensor>& masks,
                             double loss, const std::vector<double>& per_output_losses) {
  NoGradGuard no_grad;
  const double n = static_cast<double>(batch.size);
  loss_total_ += loss * n;
  loss_count_ += n;
  for (size_t o = 0; o < outputs_.size(); ++o) {
    auto& out = *outputs_[o];
    Tensor pred = outputs[o].detach();
    if (o < per_output_losses.size()) {
      out.loss_total += per_output_losses[o] * n;
      out.loss_count += n;
    }
    // Keras's MeanMetricWrapper leaves the prediction's masked elements out (other metrics ignore masks).
    const Tensor mask = o < masks.size() ? masks[o] : Tensor();
    for (auto& m : out.metrics) m->update_state_masked(batch.y[o], pred, Tensor(), mask);
    for (auto& m : out.weighted_metrics) m->update_state_masked(batch.y[o], pred, batch.sample_weight, mask);
  }
}

void Trainer::reset_metrics() {
  loss_total_ = loss_count_ = 0;
  for (auto& m : own_metrics_) m->reset_state();
  for (auto& out : outputs_) {
    out->loss_total = out->loss_count = 0;
    for (auto& m : out->metrics) m->reset_state();
    for (auto& m : out->weighted_metrics) m->reset_state();
  }
}

std::vector<Trainer::CallbackState> Trainer::callback_states() const {
  std::vector<CallbackState> states;
  std::map<std::string, int> seen;
  for (const auto& cb : fit_callbacks_) {
    const Callback& c = *cb;
    std::string type = typeid(c).name();
    const int index = seen[type]++;
    nlohmann::json state = cb->state();
    if (!state.is_null()) states.push_back({std::move(type), index, std::move(state)});
  }
  return states;
}

std::vector<double> Trainer::metric_state() const {
  std::vector<double> state{loss_total_, loss_count_};
  for (const auto& out : outputs_) {
    state.push_back(out->loss_total);
    state.push_back(out->loss_count);
  }
  for (const auto& m : metrics()) {
    const std::vector<double> values = m->state_values();
    state.insert(state.end(), values.begin(), values.end());
  }
  return state;
}

void Trainer::set_metric_state(const std::vector<double>& state) {
  const std::vector<double> current = metric_state();  // the expected layout
  KEEL_CHECK(state.size() == current.size(), ValueError, "Cannot restore the training metrics: the saved state has ",
             state.size(), " values, the compiled losses and metrics have ", current.size(),
             " (was the model compiled with other metrics?)");
  loss_total_ = state[0];
  loss_count_ = state[1];
  size_t k = 2;
  for (auto& out : outputs_) {
    out->loss_total = state[k++];
    out->loss_count = state[k++];
  }
  for (const auto& m : metrics()) {
    const size_t n = m->state_values().size();
    m->set_state_values(std::vector<double>(state.begin() + static_cast<std::ptrdiff_t>(k),
                                            state.begin() + static_cast<std::ptrdiff_t>(k + n)));
    k += n;
  }
}

void Trainer::build_metrics_from(const Batch& host_batch) {
  if (metrics_built_) return;
  NoGradGuard no_grad;
  build_from_data(input_shapes_of(host_batch));
  const Batch batch = on_device(host_batch, model_device());
  build_compiled(batch, forward(batch.x, /*training=*/false).outputs);
}

Logs Trainer::metric_logs() const {
  if (strategy_ && strategy_->process_count() > 1) return global_metric_logs();
  Logs logs;
  logs["loss"] = loss_count_ > 0 ? loss_total_ / loss_count_ : 0.0;
  if (outputs_.size() > 1)
    for (const auto& out : outputs_)
      if (out->loss) logs[out->name + "_loss"] = out->loss_count > 0 ? out->loss_total / out->loss_count : 0.0;
  for (const auto& m : metrics()) logs[m->name()] = m->result();
  return logs;
}

// Under a multi-process strategy the logs are global, as Keras's SUM-aggregated metric variables are.
Logs Trainer::global_metric_logs() const {
  // One all-reduce of every state: the loss tracker, per-output losses, then each metric's sums.
  std::vector<double> state{loss_total_, loss_count_};
  for (const auto& out : outputs_) {
    state.push_back(out->loss_total);
    state.push_back(out->loss_count);
  }
  const std::vector<std::shared_ptr<Metric>> all_metrics = metrics();
  std::vector<std::vector<double>> local_states;
  for (const auto& m : all_metrics) {
    local_states.push_back(m->state_values());
    state.insert(state.end(), local_states.back().begin(), local_states.back().end());
  }
  std::vector<Tensor> buffer{from_vector(state, {static_cast<int64_t>(state.size())}, Device::cpu())};
  strategy_->all_reduce_sum(buffer);
  const std::vector<double> global = buffer[0].to_vector<double>();

  auto mean = [](double total, double count) { return count > 0 ? total / count : 0.0; };
  Logs logs;
  logs["loss"] = mean(global[0], global[1]);
  size_t k = 2;
  for (const auto& out : outputs_) {
    if (outputs_.size() > 1 && out->loss) logs[out->name + "_loss"] = mean(global[k], global[k + 1]);
    k += 2;
  }
  for (size_t i = 0; i < all_metrics.size(); ++i) {
    const size_t n = local_states[i].size();
    all_metrics[i]->set_state_values(std::vector<double>(global.begin() + k, global.begin() + k + n));
    logs[all_metrics[i]->name()] = all_metrics[i]->result();
    all_metrics[i]->set_state_values(local_states[i]);
    k += n;
  }
  return logs;
}

std::vector<Shape> Trainer::input_shapes_of(const Batch& batch) const {
  std::vector<Shape> shapes;
  for (const auto& x : batch.x) {
    Shape s = x.shape();
    if (!s.empty()) s[0] = -1;
    shapes.push_back(s);
  }
  return shapes;
}

// --- steps ---

Device Trainer::model_device() const {
  std::vector<Variable> vars = all_variables();
  return vars.empty() ? default_device() : vars.front().value().device();
}

// --- steps ---

namespace {
training_detail::Batch batch_of(const StepData& d) {
  return training_detail::Batch{d.x, d.y, d.sample_weight, d.x.empty() || d.x[0].ndim() == 0 ? 0 : d.x[0].dim(0)};
}

void require_targets(const training_detail::Batch& b, const char* what) {
  KEEL_CHECK(!b.y.empty(), ValueError, what, " received no targets (y). The default ", what,
             " step computes the compiled loss against them; train without targets only with a model whose ", what,
             " step is overridden");
}
}  // namespace

std::vector<Tensor> gradients(const Tensor& loss, const std::vector<Variable>& variables) {
  KEEL_CHECK(loss.defined() && loss.numel() == 1, ValueError,
             "gradients(): the loss must be a tensor with one element; received ",
             loss.defined() ? "shape " + shape_str(loss.shape()) : std::string("an undefined tensor"));
  for (const Variable& v : variables) v.value().set_grad(Tensor());
  std::vector<Tensor> grads;
  if (loss.requires_grad()) loss.backward();
  for (const Variable& v : variables) {
    grads.push_back(v.value().grad());
    v.value().set_grad(Tensor());
  }
  return grads;
}

void Trainer::track_metric(std::shared_ptr<Metric> metric) {
  KEEL_CHECK(metric != nullptr, ValueError, "track_metric() received an empty metric");
  own_metrics_.push_back(std::move(metric));
}

Tensor Trainer::compute_loss(const StepData& data, const ForwardResult& y_pred) {
  const Batch batch = batch_of(data);
  build_compiled(batch, y_pred.outputs);
  last_per_output_.clear();
  return total_loss(batch, y_pred.outputs, y_pred.masks, &last_per_output_);
}

Logs Trainer::compute_metrics(const StepData& data, const ForwardResult& y_pred, const Tensor& loss) {
  const Batch batch = batch_of(data);
  build_compiled(batch, y_pred.outputs);
  std::vector<double> per_output;
  for (const Tensor& l : last_per_output_) per_output.push_back(l.item<double>());
  update_metrics(batch, y_pred.outputs, y_pred.masks, loss.detach().item<double>(), per_output);
  return metric_logs();
}

Logs Trainer::run_train_step(const Batch& host_batch) {
  // The default steps build the model from the batch; an overriding step may feed it other shapes (a GAN's
  // call takes latent vectors, its data is images), so it builds what it calls.
  const Batch batch = strategy_ ? host_batch : on_device(host_batch, model_device());
  default_train_step_ran_ = false;
  Logs logs = train_step(StepData{batch.x, batch.y, batch.sample_weight});
  custom_train_step_ran_ = !default_train_step_ran_;
  KEEL_CHECK(!strategy_ || default_train_step_ran_, UnimplementedError,
             "This model's own train_step ran under a distribution strategy, which Keel does not support: its "
             "gradients were applied by this replica alone. Use the default train_step (override compute_loss "
             "instead) or train without the strategy.");
  return logs;
}

Logs Trainer::train_step(const StepData& data) {
  default_train_step_ran_ = true;
  return default_train_step(batch_of(data));
}

Logs Trainer::default_train_step(const Batch& batch) {
  build_from_data(input_shapes_of(batch));
  require_targets(batch, "fit()");
  if (strategy_) return distributed_train_step(batch);
  std::vector<Variable> vars = trainable_variables();
  // Forward, loss and backward: replayed from a kernel plan when possible (compiled_step.cpp).
  const StepTensors step = train_forward_backward(batch, vars);
  if (!vars.empty()) {
    optimizer_->apply(step.grads, vars);
    for (auto& v : vars) v.value().set_grad(Tensor());
  }
  last_per_output_ = step.per_output;  // a replayed step did not run compute_loss
  return compute_metrics(StepData{batch.x, batch.y, batch.sample_weight}, {step.outputs, step.output_masks}, step.loss);
}

StepTensors Trainer::forward_backward(const Batch& batch, const std::vector<Variable>& vars) {
  for (auto& v : vars) v.value().set_grad(Tensor());
  StepTensors step;
  ForwardResult f = forward(batch.x, /*training=*/true);
  step.outputs = std::move(f.outputs);
  step.output_masks = std::move(f.masks);
  last_per_output_.clear();  // an overriding compute_loss gives none
  step.loss = compute_loss(StepData{batch.x, batch.y, batch.sample_weight}, {step.outputs, step.output_masks});
  step.per_output = last_per_output_;
  if (!vars.empty()) {
    step.loss.backward();
    for (auto& v : vars) step.grads.push_back(v.value().grad());
  }
  step.loss = step.loss.detach();
  return step;
}

Logs Trainer::run_test_step(const Batch& host_batch) {
  NoGradGuard no_grad;
  const Batch batch = strategy_ ? host_batch : on_device(host_batch, model_device());
  default_test_step_ran_ = false;
  Logs logs = test_step(StepData{batch.x, batch.y, batch.sample_weight});
  custom_test_step_ran_ = !default_test_step_ran_;
  KEEL_CHECK(!strategy_ || default_test_step_ran_, UnimplementedError,
             "This model's own test_step ran under a distribution strategy, which Keel does not support: it saw this "
             "replica's data alone. Use the default test_step or evaluate without the strategy.");
  return logs;
}

Logs Trainer::test_step(const StepData& data) {
  default_test_step_ran_ = true;
  const Batch batch = batch_of(data);
  build_from_data(input_shapes_of(batch));
  require_targets(batch, "evaluate()");
  if (strategy_) return distributed_test_step(batch);
  accumulate_test_metrics(batch);
  return metric_logs();
}

std::vector<Tensor> Trainer::run_predict_step(const Batch& host_batch) {
  NoGradGuard no_grad;
  const Batch batch = strategy_ ? host_batch : on_device(host_batch, model_device());
  return predict_step(StepData{batch.x, batch.y, batch.sample_weight});
}

std::vector<Tensor> Trainer::predict_step(const StepData& data) {
  const Batch batch = batch_of(data);
  build_from_data(input_shapes_of(batch));
  return strategy_ ? distributed_predict_step(batch) : predict_forward(batch);
}

void Trainer::accumulate_test_metrics(const Batch& batch) {
  const StepTensors step = test_forward(batch);  // replayed from a kernel plan when possible
  last_per_output_ = step.per_output;
  compute_metrics(StepData{batch.x, batch.y, batch.sample_weight}, {step.outputs, step.output_masks}, step.loss);
}

// --- loops ---

namespace {

std::vector<std::shared_ptr<Callback>> user_callbacks(const std::vector<CallbackArg>& args) {
  std::vector<std::shared_ptr<Callback>> out;
  for (const auto& a : args) out.push_back(a.get());
  return out;
}

}  // namespace

History Trainer::fit(const Tensor& x, const Tensor& y, FitOptions options) {
  return fit(std::vector<Tensor>{x}, std::vector<Tensor>{y}, std::move(options));
}

History Trainer::fit(const Tensor& x, FitOptions options) {
  return fit(std::vector<Tensor>{x}, std::vector<Tensor>{}, std::move(options));
}

History Trainer::fit(const std::vector<Tensor>& x, const std::vector<Tensor>& y, FitOptions options) {
  require_compiled("fit");
  KEEL_CHECK(!options.batch_size || *options.batch_size > 0, ValueError,
             "batch_size must be a positive integer; received batch_size=", *options.batch_size);
  // Before batch_size is derived from it below (a division).
  KEEL_CHECK(!options.steps_per_epoch || *options.steps_per_epoch > 0, ValueError,
             "steps_per_epoch must be a positive integer; received steps_per_epoch=", *options.steps_per_epoch);
  KEEL_CHECK(options.validation_split >= 0.0 && options.validation_split < 1.0, ValueError,
             "validation_split must be in [0, 1); received ", options.validation_split);
  KEEL_CHECK(options.class_weight.empty() || !options.sample_weight.defined(), ValueError,
             "You cannot pass both class_weight and sample_weight to fit()");
  KEEL_CHECK(options.class_weight.empty() || y.size() == 1, ValueError,
             "class_weight is only supported for models with a single output");
  ArrayData all(x, y, options.sample_weight);
  std::optional<EpochData> validation;
  ArrayData train_arrays = all;
  if (options.validation_data) {
    const ValidationData& v = *options.validation_data;
    if (v.dataset) validation.emplace(*v.dataset, options.validation_steps, "validation_steps");
    else
      validation.emplace(ArrayData(v.x, v.y, v.sample_weight),
                         options.validation_batch_size.value_or(options.batch_size.value_or(32)), false,
                         options.validation_steps, "validation_steps");
  } else if (options.validation_split > 0.0) {
    // Keras takes the validation samples from the end, before any shuffling.
    const int64_t n = all.size();
    const int64_t split_at = static_cast<int64_t>(std::floor(static_cast<double>(n) * (1.0 - options.validation_split)));
    KEEL_CHECK(split_at > 0 && split_at < n, ValueError, "validation_split=", options.validation_split, " leaves ",
               split_at, " training and ", n - split_at, " validation samples out of ", n,
               "; both must be non-empty");
    auto [train_part, val_part] = all.split(split_at);
    train_arrays = std::move(train_part);
    validation.emplace(std::move(val_part), options.validation_batch_size.value_or(options.batch_size.value_or(32)),
                       false, options.validation_steps, "validation_steps");
  }
  if (!options.class_weight.empty()) train_arrays.apply_class_weight(options.class_weight);
  int64_t batch_size = options.batch_size.value_or(32);
  if (!options.batch_size && options.steps_per_epoch)
    batch_size = std::max<int64_t>(1, (train_arrays.size() + *options.steps_per_epoch - 1) / *options.steps_per_epoch);
  EpochData train(std::move(train_arrays), batch_size, options.shuffle, options.steps_per_epoch, "steps_per_epoch");
  return fit_data(train, validation, options);
}

History Trainer::fit(const data::Dataset& dataset, FitOptions options) {
  require_compiled("fit");
  KEEL_CHECK(options.validation_split == 0.0, ValueError,
             "validation_split is only supported for arrays, not for a Dataset; pass validation_data instead");
  KEEL_CHECK(!options.batch_size, ValueError,
             "Do not pass batch_size when fitting on a Dataset: batch the dataset instead (dataset.batch(n))");
  KEEL_CHECK(!options.sample_weight.defined(), ValueError,
             "sample_weight is not supported when fitting on a Dataset: make it the third component of each element "
             "(x, y, sample_weight)");
  KEEL_CHECK(options.class_weight.empty(), ValueError,
             "class_weight is not supported yet when fitting on a Dataset; pass arrays, or per-sample weights as the "
             "third component of each element");
  std::optional<EpochData> validation;
  if (options.validation_data) {
    const ValidationData& v = *options.validation_data;
    if (v.dataset) validation.emplace(*v.dataset, options.validation_steps, "validation_steps");
    else
      validation.emplace(ArrayData(v.x, v.y, v.sample_weight), options.validation_batch_size.value_or(32), false,
                         options.validation_steps, "validation_steps");
  }
  EpochData train(dataset, options.steps_per_epoch, "steps_per_epoch");
  return fit_data(train, validation, options);
}

// Note [Resuming a fit]
// BackupAndRestore resumes an interrupted fit exactly where its last backup was taken, possibly in the
// middle of an epoch, through Trainer::resume_point (set in its on_train_begin). The epoch to resume
// begins as it began in the interrupted run: the global generator is back at its state of that epoch's
// start (restored by the callback), on_epoch_begin runs, and the data pass begins (the same shuffle
// permutation is drawn; a Dataset's shuffle stages are back at their pass counts). The batches the
// interrupted run had finished are then skipped (arrays: the position moves, nothing is gathered; a
// Dataset: its elements are pulled and dropped), the metric accumulators are set to their values after
// those batches (their losses and metrics are resolved first from the last skipped batch when this
// process has not trained yet), and the generator is set to its state after them, so the dropout masks
// of the following batches are the interrupted run's. Skipped batches get no batch hooks.
History Trainer::fit_data(EpochData& train, std::optional<EpochData>& validation, const FitOptions& options) {
  KEEL_CHECK(options.validation_freq >= 1, ValueError, "validation_freq must be a positive integer; received ",
             "validation_freq=", options.validation_freq);
  const int verbose = options.verbose.level();
  auto history = std::make_shared<History>();
  std::vector<std::shared_ptr<Callback>> cbs = user_callbacks(options.callbacks);
  cbs.push_back(history);
  if (verbose != 0) cbs.push_back(std::make_shared<callbacks::ProgbarLogger>());
  CallbackList callbacks(cbs, this, CallbackParams{verbose, options.epochs, train.steps()});

  stop_training = false;
  initial_epoch_override.reset();
  resumed_history.reset();
  resume_point.reset();
  replicas_synced_ = false;
  sync_epoch_order(train);
  fit_callbacks_ = cbs;
  struct ClearFitState {
    Trainer* t;
    ~ClearFitState() {
      t->fit_callbacks_.clear();
      t->epoch_data_state_.clear();
      t->resume_point.reset();
    }
  } clear_fit_state{this};
  Logs logs;
  callbacks.on_train_begin(logs);
  if (resumed_history) {  // after History::on_train_begin, which starts an empty one
    history->history = resumed_history->history;
    history->epoch = resumed_history->epoch;
    resumed_history.reset();
  }
  std::optional<ResumePoint> resume = std::move(resume_point);
  resume_point.reset();
  if (resume) {
    std::map<std::string, int> seen;  // callbacks of each type so far
    for (const auto& cb : cbs) {
      const Callback& c = *cb;
      const std::string type = typeid(c).name();
      const int index = seen[type]++;
      for (const CallbackState& saved : resume->callback_states)
        if (saved.type == type && saved.index == index) cb->set_state(saved.state);
    }
    if (!resume->data_state.empty()) train.set_data_state(resume->data_state);
  }
  const int first_epoch = resume ? resume->epoch : initial_epoch_override.value_or(options.initial_epoch);
  Logs epoch_logs;
  int64_t total_steps_seen = 0;
  for (int epoch = first_epoch; epoch < options.epochs && !stop_training; ++epoch) {
    reset_metrics();
    epoch_data_state_ = train.data_state();
    Logs begin_logs;
    callbacks.on_epoch_begin(epoch, begin_logs);
    train.begin_epoch();
    int64_t step = 0;
    if (resume && epoch == first_epoch && resume->batches_done > 0) {
      std::optional<Batch> last;
      for (; step < resume->batches_done; ++step) {
        const bool need_batch = step + 1 == resume->batches_done && !metrics_built_;
        const bool more = need_batch ? (last = train.next()).has_value() : train.skip();
        KEEL_CHECK(more, ValueError, "Cannot resume fit at batch ", resume->batches_done, " of epoch ", epoch + 1,
                   ": the training data has only ", step, " batches");
      }
      if (last) build_metrics_from(*last);
      set_metric_state(resume->metric_state);
      if (resume->random_state) random::set_state(*resume->random_state);
      total_steps_seen += step;
    }
    Logs batch_logs;
    while (auto batch = train.next()) {
      Logs begin;
      callbacks.on_train_batch_begin(step, begin);
      batch_logs = run_train_step(*batch);
      callbacks.on_train_batch_end(step, batch_logs);
      callbacks.after_train_batch_end(epoch, step, batch_logs);
      ++step;
      ++total_steps_seen;
      if (stop_training) break;
    }
    epoch_data_state_ = train.data_state();  // from here on: what the next epoch starts from
    KEEL_CHECK(step > 0 || total_steps_seen > 0, ValueError,
               "fit() received no data: the training set is empty (0 batches in epoch ", epoch + 1, ")");
    if (step == 0) {
      std::fprintf(stderr, "Warning: your input ran out of data; interrupting training. Make sure that your dataset "
                           "can generate at least steps_per_epoch * epochs batches.\n");
      break;
    }
    // An overriding train_step's logs are the epoch's (Keras reports what the step returned).
    epoch_logs = custom_train_step_ran_ ? batch_logs : metric_logs();
    const bool validate = validation && (epoch + 1) % options.validation_freq == 0;
    if (validate) {
      Logs val = evaluate_data(*validation, cbs, 0, /*standalone=*/false);
      for (const auto& [k, v] : val) epoch_logs["val_" + k] = v;
    }
    callbacks.on_epoch_end(epoch, epoch_logs);
    callbacks.after_epoch_end(epoch, epoch_logs);
  }
  if (optimizer_ && optimizer_->built()) optimizer_->finalize_variable_values(trainable_variables());
  callbacks.on_train_end(epoch_logs);
  return *history;
}

Logs Trainer::evaluate_data(EpochData& data, const std::vector<std::shared_ptr<Callback>>& cbs, int verbose,
                            bool standalone) {
  reset_metrics();
  if (standalone) replicas_synced_ = false;
  std::vector<std::shared_ptr<Callback>> all = cbs;
  if (standalone && verbose != 0) all.push_back(std::make_shared<callbacks::ProgbarLogger>());
  // Inside fit the callbacks keep fit's params (steps, verbose); only the hooks are shared.
  CallbackList callbacks = standalone ? CallbackList(all, this, CallbackParams{verbose, 1, data.steps()})
                                      : CallbackList(all);
  Logs logs;
  callbacks.on_test_begin(logs);
  data.begin_epoch();
  int64_t step = 0;
  Logs batch_logs = metric_logs();
  while (auto batch = data.next()) {
    Logs begin;
    callbacks.on_test_batch_begin(step, begin);
    batch_logs = run_test_step(*batch);
    callbacks.on_test_batch_end(step, batch_logs);
    ++step;
  }
  KEEL_CHECK(step > 0, ValueError, "evaluate() received no data: the dataset is empty");
  Logs result = custom_test_step_ran_ ? batch_logs : metric_logs();
  callbacks.on_test_end(result);
  return result;
}

std::map<std::string, double> Trainer::evaluate(const Tensor& x, const Tensor& y, EvaluateOptions options) {
  return evaluate(std::vector<Tensor>{x}, std::vector<Tensor>{y}, std::move(options));
}

std::map<std::string, double> Trainer::evaluate(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                                EvaluateOptions options) {
  require_compiled("evaluate");
  KEEL_CHECK(!options.batch_size || *options.batch_size > 0, ValueError,
             "batch_size must be a positive integer; received batch_size=", *options.batch_size);
  EpochData data(ArrayData(x, y, options.sample_weight), options.batch_size.value_or(32), false, options.steps, "steps");
  return evaluate_data(data, user_callbacks(options.callbacks), options.verbose.level(), true);
}

std::map<std::string, double> Trainer::evaluate(const data::Dataset& dataset, EvaluateOptions options) {
  require_compiled("evaluate");
  EpochData data(dataset, options.steps, "steps");
  return evaluate_data(data, user_callbacks(options.callbacks), options.verbose.level(), true);
}

std::vector<Tensor> Trainer::predict_data(EpochData& data, const PredictOptions& options) {
  std::vector<std::shared_ptr<Callback>> cbs = user_callbacks(options.callbacks);
  if (options.verbose.level() != 0) cbs.push_back(std::make_shared<callbacks::ProgbarLogger>());
  CallbackList callbacks(cbs, this, CallbackParams{options.verbose.level(), 1, data.steps()});
  Logs logs;
  callbacks.on_predict_begin(logs);
  replicas_synced_ = false;
  data.begin_epoch();
  std::vector<std::vector<Tensor>> pieces;
  int64_t step = 0;
  while (auto batch = data.next()) {
    Logs begin;
    callbacks.on_predict_batch_begin(step, begin);
    std::vector<Tensor> outs = run_predict_step(*batch);
    if (pieces.empty()) pieces.resize(outs.size());
    for (size_t o = 0; o < outs.size(); ++o) pieces[o].push_back(outs[o]);
    Logs end;
    callbacks.on_predict_batch_end(step, end);
    ++step;
  }
  KEEL_CHECK(step > 0, ValueError, "predict() received no data: the input is empty");
  callbacks.on_predict_end(logs);
  NoGradGuard no_grad;
  std::vector<Tensor> result;
  for (auto& p : pieces) result.push_back(p.size() == 1 ? p[0] : ops::concatenate(p, 0));
  return result;
}

std::vector<Tensor> Trainer::predict_outputs(const std::vector<Tensor>& x, PredictOptions options) {
  KEEL_CHECK(!options.batch_size || *options.batch_size > 0, ValueError,
             "batch_size must be a positive integer; received batch_size=", *options.batch_size);
  EpochData data(ArrayData(x, {}, Tensor()), options.batch_size.value_or(32), false, options.steps, "steps");
  return predict_data(data, options);
}

Tensor Trainer::predict(const Tensor& x, PredictOptions options) {
  std::vector<Tensor> outs = predict_outputs({x}, std::move(options));
  KEEL_CHECK(outs.size() == 1, ValueError, "predict(): the model has ", outs.size(),
             " outputs; use predict_outputs() to get them all");
  return outs[0];
}

Tensor Trainer::predict(const data::Dataset& dataset, PredictOptions options) {
  EpochData data(dataset, options.steps, "steps");
  std::vector<Tensor> outs = predict_data(data, options);
  KEEL_CHECK(outs.size() == 1, ValueError, "predict(): the model has ", outs.size(),
             " outputs; use predict_outputs() to get them all");
  return outs[0];
}

std::map<std::string, double> Trainer::train_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight,
                                                      bool reset) {
  return train_on_batch(std::vector<Tensor>{x}, std::vector<Tensor>{y}, sample_weight, reset);
}

std::map<std::string, double> Trainer::test_on_batch(const Tensor& x, const Tensor& y, const Tensor& sample_weight,
                                                     bool reset) {
  return test_on_batch(std::vector<Tensor>{x}, std::vector<Tensor>{y}, sample_weight, reset);
}

std::map<std::string, double> Trainer::train_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                                      const Tensor& sample_weight, bool reset) {
  require_compiled("train_on_batch");
  if (reset) reset_metrics();
  ArrayData arrays(x, y, sample_weight);
  KEEL_CHECK(arrays.size() > 0, ValueError, "train_on_batch: the batch is empty (x has shape ",
             x.empty() ? std::string("()") : shape_str(x[0].shape()), ")");
  return run_train_step(arrays.all());
}

std::map<std::string, double> Trainer::test_on_batch(const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                                                     const Tensor& sample_weight, bool reset) {
  require_compiled("test_on_batch");
  if (reset) reset_metrics();
  ArrayData arrays(x, y, sample_weight);
  KEEL_CHECK(arrays.size() > 0, ValueError, "test_on_batch: the batch is empty (x has shape ",
             x.empty() ? std::string("()") : shape_str(x[0].shape()), ")");
  return run_test_step(arrays.all());
}

Tensor Trainer::predict_on_batch(const Tensor& x) {
  NoGradGuard no_grad;
  build_from_data(input_shapes_of(Batch{{x}, {}, Tensor(), x.ndim() ? x.dim(0) : 1}));
  std::vector<Tensor> outs = forward({x.device() == model_device() ? x : x.to(model_device())}, false).outputs;
  KEEL_CHECK(outs.size() == 1, ValueError, "predict_on_batch(): the model has ", outs.size(), " outputs");
  return outs[0];
}

}  // namespace keel
