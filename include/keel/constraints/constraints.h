// Weight constraints (keras.constraints): value types holding a Keras class name, its config and a projection
// the optimizer applies to a variable after each update (`w <- constraint(w)`, step 7 of Keras's apply).
//   layers::Dense(64, {.kernel_constraint = constraints::MaxNorm({.max_value = 3})});
//   layers::Conv2D(32, {3, 3}, {.kernel_constraint = constraints::MaxNorm({.axis = {0, 1, 2}})});
//   layers::Dense(8, {.kernel_constraint = "non_neg"});
// A default-constructed Constraint is "none" (Keras's None) and converts to false.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>
#include "keel/core/tensor.h"

namespace keel {

class Constraint {
 public:
  using Fn = std::function<Tensor(const Tensor& w)>;
  Constraint() = default;
  /// "max_norm", "non_neg", "unit_norm", "min_max_norm" or a class name; unknown names are a ValueError
  /// listing the valid ones.
  Constraint(const char* identifier);         // NOLINT: implicit on purpose, as Keras accepts strings
  Constraint(const std::string& identifier);  // NOLINT
  Constraint(std::string class_name, nlohmann::json config, Fn fn);

  explicit operator bool() const { return static_cast<bool>(fn_); }
  /// The projected value; ValueError when the constraint is none.
  Tensor operator()(const Tensor& w) const;
  const std::string& class_name() const { return class_name_; }
  /// {"module": "keras.constraints", "class_name", "config", "registered_name": null}; null when none.
  nlohmann::json get_config() const;
  /// Inverse of get_config (also a bare identifier string); null gives none.
  static Constraint from_config(const nlohmann::json& config);

 private:
  std::string class_name_;
  std::shared_ptr<const nlohmann::json> config_;
  Fn fn_;
};

namespace constraints {

/// The axes the norms run over (Keras's `axis`, an int or a list): {0} for a Dense kernel's columns,
/// {0, 1, 2} for a Conv2D kernel's filters.
using NormAxes = std::vector<int64_t>;

struct MaxNormOptions {
  double max_value = 2.0;
  NormAxes axis = {0};
};
struct MinMaxNormOptions {
  double min_value = 0.0, max_value = 1.0, rate = 1.0;
  NormAxes axis = {0};
};

/// w · clip(‖w‖, 0, max_value) / (ε + ‖w‖), norms over `axis`, ε = 1e-7.
Constraint MaxNorm(MaxNormOptions options = {});
/// w · (rate · clip(‖w‖, min_value, max_value) + (1 − rate) · ‖w‖) / (ε + ‖w‖).
Constraint MinMaxNorm(MinMaxNormOptions options = {});
/// w where w ≥ 0, else 0.
Constraint NonNeg();
/// w / (ε + ‖w‖).
Constraint UnitNorm(NormAxes axis = {0});
Constraint UnitNorm(int64_t axis);
/// The identifier lookup behind Constraint(const char*).
Constraint get(const std::string& identifier);

}  // namespace constraints
}  // namespace keel
