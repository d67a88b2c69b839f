// The built-in optimizers (keras.optimizers): SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam.
// Each is built from an options aggregate whose fields follow Keras's keyword order: learning_rate, the
// optimizer's own arguments, then the common ones (weight_decay, clipnorm, clipvalue, global_clipnorm,
// use_ema, ema_momentum, ema_overwrite_frequency, name), declared by KEEL_OPTIMIZER_COMMON_FIELDS
// (optimizer.h). Defaults are Keras's.
//   optimizers::SGD({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});
//   optimizers::Adam({.learning_rate = optimizers::schedules::ExponentialDecay(
//                         {.initial_learning_rate = 0.1, .decay_steps = 100, .decay_rate = 0.96})});
//   optimizers::get("adam");   // by identifier, as compile(optimizer="adam")
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "keel/optimizers/optimizer.h"
#include "keel/optimizers/schedules.h"

namespace keel::optimizers {

// --- SGD ---

struct SGDOptions {
  LearningRate learning_rate = 0.01;
  double momentum = 0.0;  // in [0, 1]
  bool nesterov = false;
  KEEL_OPTIMIZER_COMMON_FIELDS("SGD");
};
/// momentum 0: w −= η·g. Else v ← μ·v − η·g; w += v, or with nesterov w += μ·v − η·g (v already updated).
class SGD : public Optimizer {
 public:
  explicit SGD(SGDOptions options = {});
  nlohmann::json get_config() const override;
  double momentum() const { return momentum_; }
  bool nesterov() const { return nesterov_; }

 protected:
  void build_slots(const std::vector<Variable>& vars) override;
  void update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) override;

 private:
  double momentum_;
  bool nesterov_;
};

// --- Adam / AdamW ---

struct AdamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  KEEL_OPTIMIZER_COMMON_FIELDS("adam");
};
/// α = η·sqrt(1−β2^t)/(1−β1^t); m += (g−m)(1−β1); v += (g²−v)(1−β2); w −= α·m/(sqrt(v)+ε), with
/// t = iterations+1 and ε outside the square root ("epsilon hat"). amsgrad uses v̂ = max(v̂, v) for v.
class Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions options = {});
  nlohmann::json get_config() const override;

 protected:
  /// For AdamW: the same update under another class name and base options.
  Adam(std::string class_name, LearningRate learning_rate, double beta_1, double beta_2, double epsilon, bool amsgrad,
       OptimizerBaseOptions base);
  void build_slots(const std::vector<Variable>& vars) override;
  void update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) override;

 private:
  double beta_1_, beta_2_, epsilon_;
  bool amsgrad_;
};

struct AdamWOptions {
  LearningRate learning_rate = 0.001;
  std::optional<double> weight_decay = 0.004;  // required (nullopt is a ValueError)
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  KEEL_OPTIMIZER_COMMON_FIELDS_AFTER_WEIGHT_DECAY("adamw");
};
/// Adam with decoupled weight decay: w −= w·wd·η before the Adam step.
class AdamW : public Adam {
 public:
  explicit AdamW(AdamWOptions options = {});
};

// --- RMSprop ---

struct RMSpropOptions {
  LearningRate learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
  KEEL_OPTIMIZER_COMMON_FIELDS("rmsprop");
};
/// v ← ρv + (1−ρ)g²; centered: a ← ρa + (1−ρ)g, den = v − a² + ε, else den = v + ε; inc = η·g/sqrt(den)
/// (ε inside the root); momentum > 0: m ← μm + inc, w −= m; else w −= inc.
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(RMSpropOptions options = {});
  nlohmann::json get_config() const override;

 protected:
  void build_slots(const std::vector<Variable>& vars) override;
  void update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) override;

 private:
  double rho_, momentum_, epsilon_;
  bool centered_;
};

// --- Adagrad ---

struct AdagradOptions {
  LearningRate learning_rate = 0.001;
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
  KEEL_OPTIMIZER_COMMON_FIELDS("adagrad");
};
/// a += g²; w −= η·g/sqrt(a + ε); the accumulator starts at initial_accumulator_value.
class Adagrad : public Optimizer {
 public:
  explicit Adagrad(AdagradOptions options = {});
  nlohmann::json get_config() const override;

 protected:
  void build_slots(const std::vector<Variable>& vars) override;
  void update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) override;

 private:
  double initial_accumulator_value_, epsilon_;
};

// --- Adadelta ---

struct AdadeltaOptions {
  LearningRate learning_rate = 0.001;
  double rho = 0.95;
  double epsilon = 1e-7;
  KEEL_OPTIMIZER_COMMON_FIELDS("adadelta");
};
/// A ← ρA + (1−ρ)g²; Δ = −sqrt(D+ε)·g/sqrt(A+ε); D ← ρD + (1−ρ)Δ²; w += η·Δ.
class Adadelta : public Optimizer {
 public:
  explicit Adadelta(AdadeltaOptions options = {});
  nlohmann::json get_config() const override;

 protected:
  void build_slots(const std::vector<Variable>& vars) override;
  void update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) override;

 private:
  double rho_, epsilon_;
};

// --- Lion ---

struct LionOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;  // in (0, 1]
  double beta_2 = 0.99;
  KEEL_OPTIMIZER_COMMON_FIELDS("lion");
};
/// w −= η·sign(β1·m + (1−β1)·g); then m ← β2·m + (1−β2)·g (Keras 3's Lion, Chen et al. 2023).
class Lion : public Optimizer {
 public:
  explicit Lion(LionOptions options = {});
  nlohmann::json get_config() const override;

 protected:
  void build_slots(const std::vector<Variable>& vars) override;
  void update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) override;

 private:
  double beta_1_, beta_2_;
};

// --- Adamax ---

struct AdamaxOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  KEEL_OPTIMIZER_COMMON_FIELDS("adamax");
};
/// m += (g−m)(1−β1); u = max(β2·u, |g|); w −= η·m/((1−β1^t)(u+ε)).
class Adamax : public Optimizer {
 public:
  explicit Adamax(AdamaxOptions options = {});
  nlohmann::json get_config() const override;

 protected:
  void build_slots(const std::vector<Variable>& vars) override;
  void update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) override;

 private:
  double beta_1_, beta_2_, epsilon_;
};

// --- Nadam ---

struct NadamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  KEEL_OPTIMIZER_COMMON_FIELDS("nadam");
};
/// Adam with Nesterov momentum (Dozat). Per step P ← P·μ_t (one scalar variable, "u_product", starting
/// at 1), μ_t = β1(1 − ½·0.96^t); m̂ = μ_{t+1}·m/(1 − P·μ_{t+1}) + (1−μ_t)·g/(1 − P);
/// v̂ = v/(1 − β2^t); w −= η·m̂/(sqrt(v̂) + ε).
class Nadam : public Optimizer {
 public:
  explicit Nadam(NadamOptions options = {});
  nlohmann::json get_config() const override;

 protected:
  void build_slots(const std::vector<Variable>& vars) override;
  void before_update_steps() override;
  void update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) override;

 private:
  double beta_1_, beta_2_, epsilon_;
  size_t u_product_index_ = 0;
  double u_product_ = 1.0;  // this step's value, read once in before_update_steps()
};

/// An optimizer by Keras identifier: the class name in any case ("adam", "Adam", "rmsprop", "SGD"), with
/// default arguments. Unknown names are a ValueError listing the valid ones.
std::shared_ptr<Optimizer> get(const std::string& identifier);
/// Rebuilds an optimizer from Keras's serialised form {"class_name": ..., "config": {...}} (or the bare
/// config of get_config() plus "class_name").
std::shared_ptr<Optimizer> deserialize(const nlohmann::json& config);
/// {"module": "keras.optimizers", "class_name": ..., "config": get_config(), "registered_name": null}.
nlohmann::json serialize(const Optimizer& optimizer);

}  // namespace keel::optimizers
