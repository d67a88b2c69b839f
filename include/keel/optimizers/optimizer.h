// The optimizer base class (keras.optimizers.Optimizer) and the two argument types built on it:
// LearningRate (a float or a schedule) and OptimizerArg (what compile() takes: a name or an optimizer).
//   auto opt = std::make_shared<optimizers::Adam>(optimizers::AdamOptions{.learning_rate = 1e-3});
//   opt->apply(grads, vars);      // one step; builds the slot variables on first use
//   opt->iterations();            // 1
// Copying an optimizer copies its state (variables are cloned); share one through a shared_ptr.
#pragma once
#include <concepts>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>
#include "keel/core/tensor.h"
#include "keel/core/variable.h"
#include "keel/optimizers/schedules.h"

namespace keel {

/// A float or a LearningRateSchedule: what every optimizer's `learning_rate` option holds.
///   LearningRate a = 1e-3;
///   LearningRate b = optimizers::schedules::CosineDecay({.initial_learning_rate = 0.1, .decay_steps = 1000});
class LearningRate {
 public:
  LearningRate(double value);  // NOLINT: implicit, as Keras accepts a float
  /// Keras rejects an int learning rate (learning_rate=1 is a ValueError); here it does not compile.
  template <std::integral I>
  LearningRate(I) = delete;
  template <std::derived_from<LearningRateSchedule> S>
  LearningRate(S schedule) : schedule_(std::make_shared<S>(std::move(schedule))) {}  // NOLINT
  template <std::derived_from<LearningRateSchedule> S>
  LearningRate(std::shared_ptr<S> schedule)  // NOLINT
      : LearningRate(std::shared_ptr<LearningRateSchedule>(std::move(schedule))) {}
  LearningRate(std::shared_ptr<LearningRateSchedule> schedule);  // NOLINT; null is a ValueError

  bool is_schedule() const { return schedule_ != nullptr; }
  /// The float (ValueError for a schedule).
  double value() const;
  /// The schedule, or nullptr for a float.
  const std::shared_ptr<LearningRateSchedule>& schedule() const { return schedule_; }
  /// The rate at `step`: the float itself, or schedule(step).
  double operator()(double step) const;
  /// As Keras writes it in an optimizer config: the float, or the serialised schedule.
  nlohmann::json to_json() const;

 private:
  double value_ = 0.0;
  std::shared_ptr<LearningRateSchedule> schedule_;
};

/// The constructor arguments every optimizer shares, after the optimizer's own (Keras's base keywords, in
/// Keras's order), declared once here. Each options aggregate of optimizers.h ends with this macro instead
/// of deriving from a base struct, because a C++20 designated initializer cannot name a base class's
/// fields: SGD({.learning_rate = 0.1, .momentum = 0.9, .clipnorm = 1.0}) keeps working.
///   weight_decay                                      decoupled weight decay (none)
///   clipnorm, clipvalue, global_clipnorm              gradient clipping, at most one of them (none)
///   use_ema, ema_momentum, ema_overwrite_frequency    moving averages of the weights (off, 0.99, none)
///   name                                              `default_name` ("": a unique one from the class name)
#define KEEL_OPTIMIZER_COMMON_FIELDS(default_name)   \
  std::optional<double> weight_decay = std::nullopt; \
  KEEL_OPTIMIZER_COMMON_FIELDS_AFTER_WEIGHT_DECAY(default_name)
/// The same without weight_decay, for AdamW, whose weight_decay comes second (as in Keras).
#define KEEL_OPTIMIZER_COMMON_FIELDS_AFTER_WEIGHT_DECAY(default_name) \
  std::optional<double> clipnorm = std::nullopt;                      \
  std::optional<double> clipvalue = std::nullopt;                     \
  std::optional<double> global_clipnorm = std::nullopt;               \
  bool use_ema = false;                                               \
  double ema_momentum = 0.99;                                         \
  std::optional<int64_t> ema_overwrite_frequency = std::nullopt;      \
  std::string name = default_name

/// The common arguments alone, as the Optimizer base class keeps them.
struct OptimizerBaseOptions {
  KEEL_OPTIMIZER_COMMON_FIELDS("");
};

/// keras.optimizers.Optimizer. Subclasses create their slot variables in build_slots() and implement
/// update_step(); the base runs the rest of a step in Keras's order.
class Optimizer {
 public:
  virtual ~Optimizer();

  /// Creates the slot variables for `vars` (interleaved per variable, Keras order). A no-op once built;
  /// apply() builds on first use.
  void build(const std::vector<Variable>& vars);
  bool built() const { return built_; }

  /// One step, in Keras's order: undefined gradients are dropped (all undefined: ValueError), clipping
  /// (clipnorm / global_clipnorm / clipvalue), weight decay, update_step per variable, EMA, iteration += 1.
  /// grads[i] belongs to vars[i]; every variable must be one the optimizer was built with.
  void apply(const std::vector<Tensor>& grads, const std::vector<Variable>& vars);
  /// The same step for gradients already clipped with clip() (under a distribution strategy Keras clips
  /// each replica's gradients before they are summed across replicas).
  void apply_clipped(const std::vector<Tensor>& grads, const std::vector<Variable>& vars);
  /// Whether clipnorm, global_clipnorm or clipvalue is set.
  bool clips_gradients() const;
  /// `grads` clipped as apply() clips them (undefined entries stay undefined and are ignored).
  std::vector<Tensor> clip(const std::vector<Tensor>& grads) const;

  /// Steps taken so far.
  int64_t iterations() const;
  /// The rate the next step will use: schedule(iterations) for a schedule, else the variable's value.
  double learning_rate() const;
  /// Sets the float learning rate; ValueError when the optimizer was built from a schedule (Keras: TypeError).
  void set_learning_rate(double lr);
  bool has_schedule() const { return learning_rate_.is_schedule(); }
  /// The schedule, or nullptr.
  const std::shared_ptr<LearningRateSchedule>& schedule() const { return learning_rate_.schedule(); }

  /// iteration, learning_rate (only for a float rate), then the slot variables in Keras's order.
  const std::vector<Variable>& variables() const { return variables_.list; }
  /// The model variables the optimizer was built for.
  const std::vector<Variable>& trainable_variables() const { return trainable_variables_; }

  const std::string& name() const { return name_; }
  const std::string& class_name() const { return class_name_; }
  const OptimizerBaseOptions& base_options() const { return options_; }
  /// Keras's config dict: name, learning_rate, weight_decay, clipping, EMA settings, then the subclass's own.
  virtual nlohmann::json get_config() const;

  /// Excludes variables (by identity, or by a regex searched in the variable's name) from weight decay.
  /// Only before the optimizer is built (ValueError otherwise).
  void exclude_from_weight_decay(const std::vector<Variable>& var_list, const std::vector<std::string>& var_names = {});

  /// End of fit: with use_ema, overwrite the model variables with their moving averages (positional, as in Keras).
  void finalize_variable_values(const std::vector<Variable>& vars);

 protected:
  Optimizer(std::string class_name, LearningRate learning_rate, OptimizerBaseOptions options);
  // Copies clone every optimizer variable (see OwnedVariables) so the copy trains independently.
  Optimizer(const Optimizer&) = default;
  Optimizer& operator=(const Optimizer&) = default;
  Optimizer(Optimizer&&) noexcept = default;
  Optimizer& operator=(Optimizer&&) noexcept = default;

  /// Creates the subclass's slots with add_slots() (and any extra variables with add_variable()).
  virtual void build_slots(const std::vector<Variable>& vars) = 0;
  /// Runs once per step after clipping and weight decay, before the update_step calls (Nadam's u_product).
  virtual void before_update_steps() {}
  /// Updates `var` (the model variable with build index `var_index`) from its gradient; `lr` is this step's rate.
  virtual void update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) = 0;

  /// Adds one slot per name for every variable, interleaved per variable (Keras's add_optimizer_variables),
  /// named "<variable path with / as _>_<slot name>" and filled with `initial_value`.
  void add_slots(const std::vector<Variable>& vars, const std::vector<std::string>& slot_names,
                 double initial_value = 0.0);
  /// Adds a non-trainable optimizer variable; returns its index in variables().
  size_t add_variable(const std::string& name, const Tensor& value);
  /// The k-th slot (in add_slots order, counting every group) of model variable `var_index`.
  const Variable& slot(size_t var_index, size_t k) const { return variables_.list[slot_index_[var_index][k]]; }
  const Variable& variable_at(size_t index) const { return variables_.list[index]; }

 private:
  /// The optimizer's own variables; copying clones their values (Variable handles alone would share state).
  struct OwnedVariables {
    std::vector<Variable> list;
    OwnedVariables() = default;
    OwnedVariables(const OwnedVariables& other);
    OwnedVariables& operator=(const OwnedVariables& other);
    OwnedVariables(OwnedVariables&&) noexcept = default;
    OwnedVariables& operator=(OwnedVariables&&) noexcept = default;
  };

  size_t index_of(const Variable& var, size_t hint) const;
  void clip_gradients(std::vector<Tensor>& grads) const;
  void apply_step(const std::vector<Tensor>& grads, const std::vector<Variable>& vars, bool clip);
  bool decays(const Variable& var) const;
  void overwrite_with_averages(const std::vector<Variable>& vars);

  std::string class_name_, name_;
  LearningRate learning_rate_;
  OptimizerBaseOptions options_;
  bool built_ = false;
  bool warned_missing_grads_ = false;
  OwnedVariables variables_;                     // iteration, learning_rate, averages, slots, extras
  std::vector<Variable> trainable_variables_;    // the model variables, in build order
  std::vector<std::vector<size_t>> slot_index_;  // [model variable][k] -> index in variables_
  std::vector<size_t> average_index_;            // [model variable] -> its EMA slot, when use_ema
  std::vector<bool> uses_decay_;                 // [model variable] -> weight decay applies
  std::vector<Variable> excluded_from_decay_;
  std::vector<std::string> excluded_names_;
  static constexpr size_t kIterationIndex = 0;
  static constexpr size_t kLearningRateIndex = 1;  // only when the rate is a float
};

/// What compile() takes: an identifier ("adam", case-insensitive) or an optimizer (copied into a
/// shared_ptr, or shared as given).
class OptimizerArg {
 public:
  OptimizerArg(const char* identifier);  // NOLINT: implicit, as Keras accepts strings
  OptimizerArg(std::string identifier);  // NOLINT
  template <std::derived_from<Optimizer> T>
  OptimizerArg(T optimizer) : optimizer_(std::make_shared<T>(std::move(optimizer))) {}  // NOLINT
  template <std::derived_from<Optimizer> T>
  OptimizerArg(std::shared_ptr<T> optimizer)  // NOLINT
      : OptimizerArg(std::shared_ptr<Optimizer>(std::move(optimizer))) {}
  OptimizerArg(std::shared_ptr<Optimizer> optimizer);  // NOLINT; null is a ValueError

  /// The optimizer: the one given, or a new one made from the identifier (ValueError when unknown).
  std::shared_ptr<Optimizer> resolve() const;
  /// The identifier, or "" when an optimizer was given.
  const std::string& identifier() const { return identifier_; }

 private:
  std::string identifier_;
  std::shared_ptr<Optimizer> optimizer_;
};

}  // namespace keel
