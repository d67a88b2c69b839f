#include "keel/regularizers/regularizers.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "keel/core/error.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "keel/ops/reduction.h"

namespace keel {

using nlohmann::json;

namespace {

// Keras's validate_float_arg: a finite, non-negative number.
double checked_factor(double value, const char* name) {
  KEEL_CHECK(std::isfinite(value) && value >= 0, ValueError, "Invalid value for argument ", name,
             ": expected a non-negative float. Received: ", name, "=", value);
  return value;
}

double factor_from(const json& config, const char* key, double fallback) {
  if (!config.contains(key) || config.at(key).is_null()) return fallback;
  KEEL_CHECK(config.at(key).is_number(), ValueError, "Regularizer config: \"", key, "\" must be a number, got ",
             config.at(key).dump());
  return config.at(key).get<double>();
}

// The factor as a scalar of x's dtype on x's device, as Keras casts it.
Tensor scalar_like(double value, const Tensor& x) { return scalar_tensor(value, x.dtype(), x.device()); }

// x scaled along `axis` to unit L2 norm, as keras.ops.normalize(order=2): x · min(rsqrt(Σx²), 1/ε), ε = 1e-7.
Tensor unit_normalize(const Tensor& x, int64_t axis) {
  const Tensor inv_norm = ops::rsqrt(ops::sum(ops::square(x), {axis}, /*keepdims=*/true));
  return x * ops::minimum(inv_norm, scalar_like(1e7, x));
}

using Factory = Regularizer (*)(const json& config);

Regularizer l1_from(const json& c) { return regularizers::L1(factor_from(c, "l1", 0.01)); }
Regularizer l2_from(const json& c) { return regularizers::L2(factor_from(c, "l2", 0.01)); }
Regularizer l1l2_from(const json& c) {
  return regularizers::L1L2({.l1 = factor_from(c, "l1", 0.0), .l2 = factor_from(c, "l2", 0.0)});
}
Regularizer orthogonal_from(const json& c) {
  std::string mode = "rows";
  if (c.contains("mode") && !c.at("mode").is_null()) {
    KEEL_CHECK(c.at("mode").is_string(), ValueError, "OrthogonalRegularizer config: \"mode\" must be a string, got ",
               c.at("mode").dump());
    mode = c.at("mode").get<std::string>();
  }
  return regularizers::OrthogonalRegularizer({.factor = factor_from(c, "factor", 0.01), .mode = mode});
}

// Every identifier keras.regularizers.get accepts: the class names and their snake_case (Keras's to_snake_case
// turns "L1L2" into "l1l2"), each with the builder of its class.
const std::map<std::string, Factory>& identifiers() {
  static const std::map<std::string, Factory> ids = {
      {"L1", l1_from},
      {"l1", l1_from},
      {"L2", l2_from},
      {"l2", l2_from},
      {"L1L2", l1l2_from},
      {"l1l2", l1l2_from},
      {"OrthogonalRegularizer", orthogonal_from},
      {"orthogonal_regularizer", orthogonal_from},
  };
  return ids;
}

std::string valid_identifiers_text() {
  std::string s;
  for (const auto& [id, factory] : identifiers()) s += (s.empty() ? "" : ", ") + id;
  return s;
}

Factory factory_for(const std::string& identifier) {
  auto it = identifiers().find(identifier);
  KEEL_CHECK(it != identifiers().end(), ValueError, "Could not interpret regularizer identifier: '", identifier,
             "'. Valid identifiers: ", valid_identifiers_text());
  return it->second;
}

}  // namespace

Regularizer::Regularizer(const char* identifier) : Regularizer(regularizers::get(identifier ? identifier : "")) {}
Regularizer::Regularizer(const std::string& identifier) : Regularizer(regularizers::get(identifier)) {}

Regularizer::Regularizer(std::string class_name, json config, Fn fn)
    : class_name_(std::move(class_name)), config_(std::make_shared<const json>(std::move(config))), fn_(std::move(fn)) {
  KEEL_CHECK(static_cast<bool>(fn_), ValueError, "Regularizer ", class_name_, ": the penalty function is empty");
}

Tensor Regularizer::operator()(const Tensor& x) const {
  KEEL_CHECK(static_cast<bool>(fn_), ValueError, "Regularizer: called an empty (None) regularizer");
  return fn_(x);
}

json Regularizer::get_config() const {
  if (!fn_) return nullptr;
  return {{"module", "keras.regularizers"},
          {"class_name", class_name_},
          {"config", *config_},
          {"registered_name", nullptr}};
}

Regularizer Regularizer::from_config(const json& config) {
  if (config.is_null()) return {};
  if (config.is_string()) return regularizers::get(config.get<std::string>());
  KEEL_CHECK(config.is_object() && config.contains("class_name") && config.at("class_name").is_string(), ValueError,
             "Regularizer::from_config: expected {\"class_name\": ..., \"config\": {...}}, got ", config.dump());
  const json inner = config.contains("config") && !config.at("config").is_null() ? config.at("config") : json::object();
  KEEL_CHECK(inner.is_object(), ValueError, "Regularizer::from_config: \"config\" must be an object, got ",
             inner.dump());
  return factory_for(config.at("class_name").get<std::string>())(inner);
}

namespace regularizers {

Regularizer L1(double l1) {
  checked_factor(l1, "l1");
  return Regularizer("L1", {{"l1", l1}}, [l1](const Tensor& x) { return scalar_like(l1, x) * ops::sum(ops::abs(x)); });
}

Regularizer L2(double l2) {
  checked_factor(l2, "l2");
  return Regularizer("L2", {{"l2", l2}},
                     [l2](const Tensor& x) { return scalar_like(l2, x) * ops::sum(ops::square(x)); });
}

Regularizer L1L2(L1L2Options options) {
  const double l1 = checked_factor(options.l1, "l1"), l2 = checked_factor(options.l2, "l2");
  return Regularizer("L1L2", {{"l1", l1}, {"l2", l2}}, [l1, l2](const Tensor& x) {
    // Keras adds only the terms whose factor is nonzero.
    Tensor penalty = scalar_like(0.0, x);
    if (l1 != 0) penalty = penalty + scalar_like(l1, x) * ops::sum(ops::abs(x));
    if (l2 != 0) penalty = penalty + scalar_like(l2, x) * ops::sum(ops::square(x));
    return penalty;
  });
}

Regularizer OrthogonalRegularizer(OrthogonalRegularizerOptions options) {
  const double factor = checked_factor(options.factor, "factor");
  const std::string mode = options.mode;
  KEEL_CHECK(mode == "rows" || mode == "columns", ValueError,
             "Invalid value for argument `mode`. Expected one of {\"rows\", \"columns\"}. Received: mode=", mode);
  return Regularizer("OrthogonalRegularizer", {{"factor", factor}, {"mode", mode}}, [factor, mode](const Tensor& x) {
    KEEL_CHECK(x.ndim() == 2, ValueError,
               "Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape=", shape_str(x.shape()));
    const bool rows = mode == "rows";
    const Tensor v = unit_normalize(x, rows ? 1 : 0);
    const Tensor product = rows ? ops::matmul(v, ops::transpose(v)) : ops::matmul(ops::transpose(v), v);
    const int64_t n = x.shape()[rows ? 0 : 1];
    std::vector<float> off_diagonal(static_cast<size_t>(n * n), 1.0f);
    for (int64_t i = 0; i < n; ++i) off_diagonal[static_cast<size_t>(i * n + i)] = 0.0f;
    const Tensor mask = ops::cast(from_vector(off_diagonal, {n, n}, x.device()), x.dtype());
    const double pairs = static_cast<double>(n) * (static_cast<double>(n) - 1.0) / 2.0;
    return scalar_like(factor * 0.5 / pairs, x) * ops::sum(ops::abs(product * mask));
  });
}

Regularizer get(const std::string& identifier) { return factory_for(identifier)(json::object()); }

}  // namespace regularizers
}  // namespace keel
