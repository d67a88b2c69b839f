// The optimizer base: variables (iteration, learning rate, slots), and the step that every optimizer shares,
// in the order of keras/src/optimizers/base_optimizer.py: drop missing gradients, clip, decay weights,
// update_step per variable, EMA, iteration += 1.
#include "keel/optimizers/optimizer.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>

#include "keel/core/grad_mode.h"
#include "keel/core/naming.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/reduction.h"
#include "optimizers/optimizer_util.h"

namespace keel {

// --- LearningRate ---

LearningRate::LearningRate(double value) : value_(value) {}

LearningRate::LearningRate(std::shared_ptr<LearningRateSchedule> schedule) : schedule_(std::move(schedule)) {
  KEEL_CHECK(schedule_ != nullptr, ValueError, "LearningRate: the schedule is null");
}

double LearningRate::value() const {
  KEEL_CHECK(!schedule_, ValueError, "LearningRate: this learning rate is a ", schedule_->class_name(),
             " schedule, not a float");
  return value_;
}

double LearningRate::operator()(double step) const { return schedule_ ? (*schedule_)(step) : value_; }

nlohmann::json LearningRate::to_json() const {
  return schedule_ ? optimizers::schedules::serialize(*schedule_) : nlohmann::json(value_);
}

// --- Optimizer ---

namespace {

Variable make_variable(const std::string& owner, const std::string& name, const Tensor& value) {
  Variable v(name, value, /*trainable=*/false);
  v.set_path(owner + "/" + name);
  return v;
}

Variable clone_variable(const Variable& v) {
  Variable copy(v.name(), v.value().clone(), v.trainable());
  copy.set_path(v.path());
  return copy;
}

template <class T>
std::string optional_str(const std::optional<T>& v) {
  return v ? detail::cat(*v) : std::string("None");
}

std::string slot_name(const Variable& var, const std::string& slot) {
  std::string name = var.path();
  std::replace(name.begin(), name.end(), '/', '_');
  return name + "_" + slot;
}

}  // namespace

Optimizer::~Optimizer() = default;

Optimizer::Optimizer(std::string class_name, LearningRate learning_rate, OptimizerBaseOptions options)
    : class_name_(std::move(class_name)), learning_rate_(std::move(learning_rate)), options_(std::move(options)) {
  name_ = options_.name.empty() ? naming::unique_name(naming::to_snake_case(class_name_)) : options_.name;
  const int clip_args =
      options_.clipnorm.has_value() + options_.clipvalue.has_value() + options_.global_clipnorm.has_value();
  KEEL_CHECK(clip_args <= 1, ValueError, class_name_, " '", name_,
             "': only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: clipnorm=",
             optional_str(options_.clipnorm), ", clipvalue=", optional_str(options_.clipvalue),
             ", global_clipnorm=", optional_str(options_.global_clipnorm));
  if (options_.use_ema) {
    KEEL_CHECK(options_.ema_momentum >= 0 && options_.ema_momentum <= 1, ValueError, class_name_, " '", name_,
               "': `ema_momentum` must be in the range [0, 1]. Received: ema_momentum=", options_.ema_momentum);
    KEEL_CHECK(!options_.ema_overwrite_frequency || *options_.ema_overwrite_frequency >= 1, ValueError, class_name_,
               " '", name_, "': `ema_overwrite_frequency` must be an integer >= 1 or None. Received: ",
               "ema_overwrite_frequency=", optional_str(options_.ema_overwrite_frequency));
  }
  variables_.list.push_back(make_variable(name_, "iteration", scalar_tensor(0, DType::i64)));
  if (!learning_rate_.is_schedule())
    variables_.list.push_back(make_variable(name_, "learning_rate", scalar_tensor(learning_rate_.value(), DType::f32)));
}

Optimizer::OwnedVariables::OwnedVariables(const OwnedVariables& other) {
  NoGradGuard no_grad;
  list.reserve(other.list.size());
  for (const Variable& v : other.list) list.push_back(clone_variable(v));
}

Optimizer::OwnedVariables& Optimizer::OwnedVariables::operator=(const OwnedVariables& other) {
  if (this != &other) *this = OwnedVariables(other);
  return *this;
}

void Optimizer::build(const std::vector<Variable>& vars) {
  if (built_) return;
  NoGradGuard no_grad;
  for (const Variable& v : vars)
    KEEL_CHECK(v.defined(), ValueError, class_name_, " '", name_, "': cannot build on an undefined variable");
  trainable_variables_ = vars;
  slot_index_.assign(vars.size(), {});
  // Keras's base build() creates the EMA slots before the subclass's own.
  if (options_.use_ema) {
    average_index_.clear();
    for (const Variable& v : vars) {
      average_index_.push_back(variables_.list.size());
      variables_.list.push_back(
          make_variable(name_, slot_name(v, "average"), zeros(v.shape(), v.dtype(), v.value().device())));
    }
  }
  uses_decay_.clear();
  for (const Variable& v : vars) uses_decay_.push_back(decays(v));
  build_slots(vars);
  built_ = true;
}

void Optimizer::add_slots(const std::vector<Variable>& vars, const std::vector<std::string>& slot_names,
                          double initial_value) {
  KEEL_CHECK(vars.size() == slot_index_.size(), ValueError, class_name_, " '", name_,
             "': add_slots must be called from build_slots with the variables being built");
  for (size_t i = 0; i < vars.size(); ++i) {
    for (const std::string& slot : slot_names) {
      slot_index_[i].push_back(variables_.list.size());
      const Variable& v = vars[i];
      variables_.list.push_back(
          make_variable(name_, slot_name(v, slot), full(v.shape(), initial_value, v.dtype(), v.value().device())));
    }
  }
}

size_t Optimizer::add_variable(const std::string& name, const Tensor& value) {
  variables_.list.push_back(make_variable(name_, name, value));
  return variables_.list.size() - 1;
}

size_t Optimizer::index_of(const Variable& var, size_t hint) const {
  // Usually the same list, in build order, every step.
  if (hint < trainable_variables_.size() && trainable_variables_[hint].is_same(var)) return hint;
  for (size_t i = 0; i < trainable_variables_.size(); ++i)
    if (trainable_variables_[i].is_same(var)) return i;
  throw ValueError(detail::cat("Unknown variable: '", var.defined() ? var.path() : std::string("<undefined>"),
                               "'. Optimizer '", name_,
                               "' can only be called for the variables it was originally built with. When working "
                               "with a new set of variables, you should recreate a new optimizer instance."));
}

int64_t Optimizer::iterations() const { return variables_.list[kIterationIndex].value().item<int64_t>(); }

double Optimizer::learning_rate() const {
  if (learning_rate_.is_schedule()) return (*learning_rate_.schedule())(static_cast<double>(iterations()));
  return variables_.list[kLearningRateIndex].value().item<float>();
}

void Optimizer::set_learning_rate(double lr) {
  KEEL_CHECK(!learning_rate_.is_schedule(), ValueError, class_name_, " '", name_, "' was created with a ",
             learning_rate_.schedule()->class_name(),
             " schedule as its `learning_rate`, hence its learning rate is not settable. If you need the learning "
             "rate to be settable, create the optimizer with a float `learning_rate`.");
  NoGradGuard no_grad;
  variables_.list[kLearningRateIndex].assign(scalar_tensor(lr, DType::f32));
}

void Optimizer::apply(const std::vector<Tensor>& grads, const std::vector<Variable>& vars) {
  apply_step(grads, vars, /*clip=*/true);
}

void Optimizer::apply_clipped(const std::vector<Tensor>& grads, const std::vector<Variable>& vars) {
  apply_step(grads, vars, /*clip=*/false);
}

bool Optimizer::clips_gradients() const {
  return (options_.clipnorm && *options_.clipnorm > 0) || (options_.global_clipnorm && *options_.global_clipnorm > 0) ||
         (options_.clipvalue && *options_.clipvalue > 0);
}

std::vector<Tensor> Optimizer::clip(const std::vector<Tensor>& grads) const {
  NoGradGuard no_grad;
  std::vector<Tensor> defined;
  for (const auto& g : grads)
    if (g.defined()) defined.push_back(g);
  if (defined.empty()) return grads;
  clip_gradients(defined);
  std::vector<Tensor> out = grads;
  size_t k = 0;
  for (auto& g : out)
    if (g.defined()) g = defined[k++];
  return out;
}

void Optimizer::apply_step(const std::vector<Tensor>& grads, const std::vector<Variable>& vars, bool clip) {
  KEEL_CHECK(grads.size() == vars.size(), ValueError, class_name_, " '", name_, "': got ", grads.size(),
             " gradients for ", vars.size(), " variables");
  if (grads.empty()) return;  // Keras: an empty gradient list is a no-op
  NoGradGuard no_grad;
  build(vars);

  // Keras checks that every variable is known before dropping the ones without a gradient.
  std::vector<size_t> index(vars.size());
  for (size_t i = 0; i < vars.size(); ++i) index[i] = index_of(vars[i], i);
  std::vector<Tensor> kept_grads;
  std::vector<size_t> kept;
  std::vector<std::string> missing;
  kept_grads.reserve(vars.size());
  kept.reserve(vars.size());
  for (size_t i = 0; i < vars.size(); ++i) {
    if (!grads[i].defined()) {
      missing.push_back(vars[i].path());
      continue;
    }
    KEEL_CHECK(grads[i].shape() == vars[i].shape(), ShapeError, class_name_, " '", name_, "': the gradient for '",
               vars[i].path(), "' has shape ", shape_str(grads[i].shape()), " but the variable has shape ",
               shape_str(vars[i].shape()));
    kept_grads.push_back(grads[i].dtype() == vars[i].dtype() ? grads[i] : ops::cast(grads[i], vars[i].dtype()));
    kept.push_back(index[i]);
  }
  KEEL_CHECK(!kept.empty(), ValueError, "No gradients provided for any variable (optimizer '", name_, "').");
  if (!missing.empty() && !warned_missing_grads_) {
    warned_missing_grads_ = true;
    std::string names;
    for (const auto& m : missing) names += (names.empty() ? "'" : ", '") + m + "'";
    std::cerr << "UserWarning: Gradients do not exist for variables [" << names
              << "] when minimizing the loss. If using `model.compile()`, did you forget to provide a `loss` "
                 "argument?\n";
  }

  if (clip) clip_gradients(kept_grads);
  const int64_t iteration = iterations();
  // Step k uses schedule(k): the counter is read before it is incremented.
  const double lr = learning_rate_.is_schedule() ? (*learning_rate_.schedule())(static_cast<double>(iteration))
                                                 : variables_.list[kLearningRateIndex].value().item<float>();
  if (options_.weight_decay) {
    const double decay = *options_.weight_decay * lr;
    for (size_t k : kept) {
      if (!uses_decay_[k]) continue;
      const Variable& w = trainable_variables_[k];
      w.assign(w.value() - w.value() * decay);
    }
  }
  before_update_steps();
  for (size_t j = 0; j < kept.size(); ++j) update_step(kept_grads[j], trainable_variables_[kept[j]], kept[j], lr);

  if (options_.use_ema) {
    // The first step copies the weights (momentum 0), later steps average.
    const double m = iteration == 0 ? 0.0 : options_.ema_momentum;
    for (size_t i = 0; i < trainable_variables_.size(); ++i) {
      const Variable& avg = variables_.list[average_index_[i]];
      avg.assign(avg.value() * m + trainable_variables_[i].value() * (1.0 - m));
    }
    const auto freq = options_.ema_overwrite_frequency;
    if (freq && (iteration + 1) % *freq == 0) overwrite_with_averages(trainable_variables_);
  }
  // Keras projects every variable it was given onto its constraint after the update.
  for (const Variable& v : vars)
    if (v.constraint()) v.assign(v.constraint()(v.value()));
  variables_.list[kIterationIndex].assign(scalar_tensor(static_cast<double>(iteration + 1), DType::i64));
}

void Optimizer::clip_gradients(std::vector<Tensor>& grads) const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (options_.clipnorm && *options_.clipnorm > 0) {
    // g·c / max(‖g‖₂, c), per tensor.
    const double c = *options_.clipnorm;
    for (Tensor& g : grads) g = g * (c / ops::clip(ops::sqrt(ops::sum(ops::square(g))), c, kInf));
  } else if (options_.global_clipnorm && *options_.global_clipnorm > 0) {
    // g·c·min(1/G, 1/c) = g·c/max(G, c); + (G − G) makes every gradient NaN when G is inf or NaN, as in Keras.
    const double c = *options_.global_clipnorm;
    Tensor sum_sq = ops::sum(ops::square(grads[0]));
    for (size_t i = 1; i < grads.size(); ++i) sum_sq = sum_sq + ops::sum(ops::square(grads[i]));
    const Tensor norm = ops::sqrt(sum_sq);
    const Tensor scale = c / ops::clip(norm, c, kInf) + (norm - norm);
    for (Tensor& g : grads) g = g * scale;
  } else if (options_.clipvalue && *options_.clipvalue > 0) {
    const double v = *options_.clipvalue;
    for (Tensor& g : grads) g = ops::clip(g, -v, v);
  }
}

void Optimizer::exclude_from_weight_decay(const std::vector<Variable>& var_list,
                                          const std::vector<std::string>& var_names) {
  KEEL_CHECK(!built_, ValueError, class_name_, " '", name_,
             "': `exclude_from_weight_decay()` can only be configured before the optimizer is built.");
  for (const std::string& pattern : var_names) {
    try {
      std::regex check(pattern);
    } catch (const std::regex_error& e) {
      throw ValueError(detail::cat(class_name_, " '", name_, "': exclude_from_weight_decay: invalid pattern '", pattern,
                                   "': ", e.what()));
    }
  }
  excluded_from_decay_ = var_list;
  excluded_names_ = var_names;
}

bool Optimizer::decays(const Variable& var) const {
  for (const Variable& v : excluded_from_decay_)
    if (v.is_same(var)) return false;
  for (const std::string& pattern : excluded_names_)
    if (std::regex_search(var.name(), std::regex(pattern))) return false;
  return true;
}

void Optimizer::overwrite_with_averages(const std::vector<Variable>& vars) {
  KEEL_CHECK(vars.size() == average_index_.size(), ValueError, "The length of model variables (", vars.size(),
             ") to override does not match the length of model variables stored in optimizer '", name_, "' (",
             average_index_.size(), "). Please check if the optimizer was called on your model.");
  for (size_t i = 0; i < vars.size(); ++i) vars[i].assign(variables_.list[average_index_[i]].value());
}

void Optimizer::finalize_variable_values(const std::vector<Variable>& vars) {
  if (!options_.use_ema || !built_) return;
  NoGradGuard no_grad;
  overwrite_with_averages(vars);
}

nlohmann::json Optimizer::get_config() const {
  using optimizers::detail::optional_json;
  nlohmann::json lr =
      learning_rate_.is_schedule()
          ? learning_rate_.to_json()
          : nlohmann::json(static_cast<double>(variables_.list[kLearningRateIndex].value().item<float>()));
  return {{"name", name_},
          {"learning_rate", lr},
          {"weight_decay", optional_json(options_.weight_decay)},
          {"clipnorm", optional_json(options_.clipnorm)},
          {"global_clipnorm", optional_json(options_.global_clipnorm)},
          {"clipvalue", optional_json(options_.clipvalue)},
          {"use_ema", options_.use_ema},
          {"ema_momentum", options_.ema_momentum},
          {"ema_overwrite_frequency", optional_json(options_.ema_overwrite_frequency)},
          {"loss_scale_factor", nullptr},
          {"gradient_accumulation_steps", nullptr}};
}

}  // namespace keel
