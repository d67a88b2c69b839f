// Weight initializers (keras.initializers): value types holding a name, a config and a function of
// (shape, dtype). Strings resolve as Keras resolves them (snake_case or class name), so option fields
// typed Initializer accept either:
//   layers::Dense(64, {.kernel_initializer = "he_normal"});
//   layers::Dense(64, {.kernel_initializer = initializers::RandomNormal({.stddev = 0.1, .seed = 7})});
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <nlohmann/json_fwd.hpp>
#include "keel/core/tensor.h"

namespace keel {

class Initializer {
 public:
  using Fn = std::function<Tensor(const Shape& shape, DType dtype)>;
  /// Resolves a Keras identifier ("glorot_uniform", "GlorotUniform", "zeros", ...); unknown names are a
  /// ValueError listing the valid ones.
  Initializer(const char* identifier);  // NOLINT: implicit on purpose, as Keras accepts strings
  Initializer(const std::string& identifier);  // NOLINT
  /// `config` is the Keras config dict (e.g. {"seed": null}); `fn` draws a tensor of the given shape.
  Initializer(std::string class_name, nlohmann::json config, Fn fn);

  Tensor operator()(const Shape& shape, DType dtype = DType::f32) const;
  const std::string& class_name() const { return class_name_; }
  /// Keras's serialised form: {"module": "keras.initializers", "class_name": ..., "config": {...}}.
  nlohmann::json get_config() const;
  static Initializer from_config(const nlohmann::json& config);

 private:
  std::string class_name_;
  std::shared_ptr<const nlohmann::json> config_;
  Fn fn_;
};

namespace initializers {

/// Keras's compute_fans: (fan_in, fan_out) of a weight shape (receptive field for rank >= 3).
std::pair<double, double> compute_fans(const Shape& shape);

struct VarianceScalingOptions {
  double scale = 1.0;
  std::string mode = "fan_in";                     // fan_in, fan_out, fan_avg
  std::string distribution = "truncated_normal";   // truncated_normal (= normal), untruncated_normal, uniform
  std::optional<uint64_t> seed = std::nullopt;
};
struct SeedOptions {
  std::optional<uint64_t> seed = std::nullopt;
};
struct RandomNormalOptions {
  double mean = 0.0, stddev = 0.05;
  std::optional<uint64_t> seed = std::nullopt;
};
struct RandomUniformOptions {
  double minval = -0.05, maxval = 0.05;
  std::optional<uint64_t> seed = std::nullopt;
};
struct OrthogonalOptions {
  double gain = 1.0;
  std::optional<uint64_t> seed = std::nullopt;
};

Initializer Zeros();
Initializer Ones();
Initializer Constant(double value);
Initializer Identity(double gain = 1.0);
Initializer RandomNormal(RandomNormalOptions options = {});
Initializer RandomUniform(RandomUniformOptions options = {});
Initializer TruncatedNormal(RandomNormalOptions options = {});
Initializer VarianceScaling(VarianceScalingOptions options = {});
Initializer GlorotUniform(SeedOptions options = {});
Initializer GlorotNormal(SeedOptions options = {});
Initializer HeUniform(SeedOptions options = {});
Initializer HeNormal(SeedOptions options = {});
Initializer LecunUniform(SeedOptions options = {});
Initializer LecunNormal(SeedOptions options = {});
Initializer Orthogonal(OrthogonalOptions options = {});

/// The identifier lookup behind Initializer(const char*).
Initializer get(const std::string& identifier);

}  // namespace initializers
}  // namespace keel
