// Weight and activity regularizers (keras.regularizers): value types holding a Keras class name, its config
// and a function from a tensor to a scalar penalty. A layer adds the penalty of each regularized weight to
// its losses() and so to the training loss, as Keras does. Strings resolve as keras.regularizers.get does:
//   layers::Dense(64, {.kernel_regularizer = regularizers::L2(1e-4)});
//   layers::Dense(64, {.kernel_regularizer = "l2"});   // L2(0.01)
// A default-constructed Regularizer is "none" (Keras's None) and converts to false.
#pragma once
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include "keel/core/tensor.h"

namespace keel {

class Regularizer {
 public:
  using Fn = std::function<Tensor(const Tensor& x)>;
  Regularizer() = default;
  /// "l1", "l2", "l1_l2", "orthogonal_regularizer" or a class name; unknown names are a ValueError listing
  /// the valid ones.
  Regularizer(const char* identifier);         // NOLINT: implicit on purpose, as Keras accepts strings
  Regularizer(const std::string& identifier);  // NOLINT
  /// `config` is the Keras config dict (e.g. {"l2": 0.01}); `fn` returns a scalar of x's dtype.
  Regularizer(std::string class_name, nlohmann::json config, Fn fn);

  explicit operator bool() const { return static_cast<bool>(fn_); }
  /// The penalty for `x`; ValueError when the regularizer is none.
  Tensor operator()(const Tensor& x) const;
  const std::string& class_name() const { return class_name_; }
  /// {"module": "keras.regularizers", "class_name", "config", "registered_name": null}; null when none.
  nlohmann::json get_config() const;
  /// Inverse of get_config (also a bare identifier string); null gives none.
  static Regularizer from_config(const nlohmann::json& config);

 private:
  std::string class_name_;
  std::shared_ptr<const nlohmann::json> config_;
  Fn fn_;
};

namespace regularizers {

struct L1L2Options {
  double l1 = 0.0, l2 = 0.0;
};
struct OrthogonalRegularizerOptions {
  double factor = 0.01;
  std::string mode = "rows";  // "rows" or "columns"
};

/// l1 · Σ|x|. Factors must be finite and non-negative (ValueError naming the argument).
Regularizer L1(double l1 = 0.01);
/// l2 · Σx².
Regularizer L2(double l2 = 0.01);
/// l1 · Σ|x| + l2 · Σx².
Regularizer L1L2(L1L2Options options = {});
/// For a rank-2 x: its n rows (or columns) v_i scaled to unit length (x·min(1/‖v‖, 1e7)), then
/// factor · Σ_{i<j} |⟨v_i, v_j⟩| / (n·(n−1)/2): the factor times the mean absolute cosine over the pairs.
Regularizer OrthogonalRegularizer(OrthogonalRegularizerOptions options = {});
/// The identifier lookup behind Regularizer(const char*).
Regularizer get(const std::string& identifier);

}  // namespace regularizers
}  // namespace keel
