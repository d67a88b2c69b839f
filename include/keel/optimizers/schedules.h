// Learning-rate schedules (keras.optimizers.schedules): functions of the optimizer's step counter that an
// optimizer evaluates before every update. Each is a value type built from an options aggregate whose
// fields follow Keras's keyword order.
//   auto lr = optimizers::schedules::ExponentialDecay({.initial_learning_rate = 0.1, .decay_steps = 100,
//                                                      .decay_rate = 0.96, .staircase = true});
//   lr(250);  // 0.1 * 0.96^2
//   optimizers::SGD({.learning_rate = lr});
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace keel {

/// keras.optimizers.schedules.LearningRateSchedule: maps the raw step counter (0-based) to a learning rate.
class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule();
  virtual double operator()(double step) const = 0;
  virtual std::string class_name() const = 0;
  /// Keras's config dict for this schedule (the arguments by their Keras names).
  virtual nlohmann::json get_config() const = 0;
};

namespace optimizers::schedules {

/// Marks a required numeric field left unset in an options aggregate (checked by the constructor).
inline constexpr double kRequired = std::numeric_limits<double>::quiet_NaN();

struct ExponentialDecayOptions {
  double initial_learning_rate = kRequired;
  int64_t decay_steps = 0;
  double decay_rate = kRequired;
  bool staircase = false;
  std::string name = "ExponentialDecay";
};
/// lr0 · decay_rate^(step / decay_steps); the exponent is floored when `staircase`.
class ExponentialDecay : public LearningRateSchedule {
 public:
  explicit ExponentialDecay(ExponentialDecayOptions options);
  double operator()(double step) const override;
  std::string class_name() const override { return "ExponentialDecay"; }
  nlohmann::json get_config() const override;
  const ExponentialDecayOptions& options() const { return options_; }

 private:
  ExponentialDecayOptions options_;
};

struct PiecewiseConstantDecayOptions {
  std::vector<double> boundaries;
  std::vector<double> values;  // one more than boundaries
  std::string name = "PiecewiseConstant";
};
/// values[0] for step <= boundaries[0], values[i] for boundaries[i-1] < step <= boundaries[i], values.back()
/// after the last boundary.
class PiecewiseConstantDecay : public LearningRateSchedule {
 public:
  explicit PiecewiseConstantDecay(PiecewiseConstantDecayOptions options);
  double operator()(double step) const override;
  std::string class_name() const override { return "PiecewiseConstantDecay"; }
  nlohmann::json get_config() const override;
  const PiecewiseConstantDecayOptions& options() const { return options_; }

 private:
  PiecewiseConstantDecayOptions options_;
};

struct PolynomialDecayOptions {
  double initial_learning_rate = kRequired;
  int64_t decay_steps = 0;
  double end_learning_rate = 0.0001;
  double power = 1.0;
  bool cycle = false;
  std::string name = "PolynomialDecay";
};
/// (lr0 − end)·(1 − s/decay_steps)^power + end with s = min(step, decay_steps); with `cycle`, decay_steps
/// grows to the first multiple of itself that is >= step instead.
class PolynomialDecay : public LearningRateSchedule {
 public:
  explicit PolynomialDecay(PolynomialDecayOptions options);
  double operator()(double step) const override;
  std::string class_name() const override { return "PolynomialDecay"; }
  nlohmann::json get_config() const override;
  const PolynomialDecayOptions& options() const { return options_; }

 private:
  PolynomialDecayOptions options_;
};

struct InverseTimeDecayOptions {
  double initial_learning_rate = kRequired;
  int64_t decay_steps = 0;
  double decay_rate = kRequired;
  bool staircase = false;
  std::string name = "InverseTimeDecay";
};
/// lr0 / (1 + decay_rate · step/decay_steps); step/decay_steps is floored when `staircase`.
class InverseTimeDecay : public LearningRateSchedule {
 public:
  explicit InverseTimeDecay(InverseTimeDecayOptions options);
  double operator()(double step) const override;
  std::string class_name() const override { return "InverseTimeDecay"; }
  nlohmann::json get_config() const override;
  const InverseTimeDecayOptions& options() const { return options_; }

 private:
  InverseTimeDecayOptions options_;
};

struct CosineDecayOptions {
  double initial_learning_rate = kRequired;
  int64_t decay_steps = 0;
  double alpha = 0.0;
  std::string name = "CosineDecay";
  std::optional<double> warmup_target = std::nullopt;
  int64_t warmup_steps = 0;
};
/// Without warmup: lr0·((1−α)·½(1 + cos(π·min(step, decay_steps)/decay_steps)) + α). With `warmup_target`:
/// a linear ramp from lr0 to the target over warmup_steps, then the cosine decay from the target.
class CosineDecay : public LearningRateSchedule {
 public:
  explicit CosineDecay(CosineDecayOptions options);
  double operator()(double step) const override;
  std::string class_name() const override { return "CosineDecay"; }
  nlohmann::json get_config() const override;
  const CosineDecayOptions& options() const { return options_; }

 private:
  CosineDecayOptions options_;
};

struct CosineDecayRestartsOptions {
  double initial_learning_rate = kRequired;
  int64_t first_decay_steps = 0;
  double t_mul = 2.0;
  double m_mul = 1.0;
  double alpha = 0.0;
  std::string name = "SGDRDecay";
};
/// SGDR: cosine decay restarted after first_decay_steps·t_mul^i steps, each period's peak scaled by m_mul^i.
class CosineDecayRestarts : public LearningRateSchedule {
 public:
  explicit CosineDecayRestarts(CosineDecayRestartsOptions options);
  double operator()(double step) const override;
  std::string class_name() const override { return "CosineDecayRestarts"; }
  nlohmann::json get_config() const override;
  const CosineDecayRestartsOptions& options() const { return options_; }

 private:
  CosineDecayRestartsOptions options_;
};

/// Keras's serialised form: {"module": "keras.optimizers.schedules", "class_name": ..., "config": {...},
/// "registered_name": null}.
nlohmann::json serialize(const LearningRateSchedule& schedule);
/// The inverse of serialize() for the built-in schedules; an unknown class_name is a ValueError.
std::shared_ptr<LearningRateSchedule> deserialize(const nlohmann::json& config);

}  // namespace optimizers::schedules
}  // namespace keel
