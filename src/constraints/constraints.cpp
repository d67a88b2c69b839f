#include "keel/constraints/constraints.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "keel/core/error.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/reduction.h"

namespace keel {

using nlohmann::json;

namespace {

constexpr double kEpsilon = 1e-7;  // keras.backend.epsilon()

Tensor scalar_like(double value, const Tensor& w) { return scalar_tensor(value, w.dtype(), w.device()); }

// ‖w‖ over `axis`, kept as size-1 dimensions so it broadcasts against w.
Tensor norms_of(const Tensor& w, const constraints::NormAxes& axis) {
  return ops::sqrt(ops::sum(ops::square(w), axis, /*keepdims=*/true));
}

// Keras writes a single axis as an int and several as a list.
json axis_json(const constraints::NormAxes& axis) { return axis.size() == 1 ? json(axis[0]) : json(axis); }

constraints::NormAxes axis_from(const json& c) {
  if (!c.contains("axis") || c.at("axis").is_null()) return {0};
  const json& a = c.at("axis");
  KEEL_CHECK(a.is_number_integer() || (a.is_array() && !a.empty()), ValueError,
             "Constraint config: \"axis\" must be an integer or a non-empty list of integers, got ", a.dump());
  if (a.is_number_integer()) return {a.get<int64_t>()};
  constraints::NormAxes axes;
  for (const json& x : a) {
    KEEL_CHECK(x.is_number_integer(), ValueError, "Constraint config: \"axis\" entries must be integers, got ",
               a.dump());
    axes.push_back(x.get<int64_t>());
  }
  return axes;
}

double number_from(const json& c, const char* key, double fallback) {
  if (!c.contains(key) || c.at(key).is_null()) return fallback;
  KEEL_CHECK(c.at(key).is_number(), ValueError, "Constraint config: \"", key, "\" must be a number, got ",
             c.at(key).dump());
  return c.at(key).get<double>();
}

void check_axes(const constraints::NormAxes& axis, const char* who) {
  KEEL_CHECK(!axis.empty(), ValueError, who, ": `axis` must name at least one axis");
}

using Factory = Constraint (*)(const json& config);

Constraint max_norm_from(const json& c) {
  return constraints::MaxNorm({.max_value = number_from(c, "max_value", 2.0), .axis = axis_from(c)});
}
Constraint min_max_norm_from(const json& c) {
  return constraints::MinMaxNorm({.min_value = number_from(c, "min_value", 0.0),
                                  .max_value = number_from(c, "max_value", 1.0),
                                  .rate = number_from(c, "rate", 1.0),
                                  .axis = axis_from(c)});
}
Constraint non_neg_from(const json&) { return constraints::NonNeg(); }
Constraint unit_norm_from(const json& c) { return constraints::UnitNorm(axis_from(c)); }

// Every identifier keras.constraints.get accepts: class names and their snake_case.
const std::map<std::string, Factory>& identifiers() {
  static const std::map<std::string, Factory> ids = {
      {"MaxNorm", max_norm_from},          {"max_norm", max_norm_from},   {"MinMaxNorm", min_max_norm_from},
      {"min_max_norm", min_max_norm_from}, {"NonNeg", non_neg_from},      {"non_neg", non_neg_from},
      {"UnitNorm", unit_norm_from},        {"unit_norm", unit_norm_from},
  };
  return ids;
}

Factory factory_for(const std::string& identifier) {
  auto it = identifiers().find(identifier);
  if (it != identifiers().end()) return it->second;
  std::string valid;
  for (const auto& [id, factory] : identifiers()) valid += (valid.empty() ? "" : ", ") + id;
  throw ValueError(
      detail::cat("Could not interpret constraint identifier: '", identifier, "'. Valid identifiers: ", valid));
}

}  // namespace

Constraint::Constraint(const char* identifier) : Constraint(constraints::get(identifier ? identifier : "")) {}
Constraint::Constraint(const std::string& identifier) : Constraint(constraints::get(identifier)) {}

Constraint::Constraint(std::string class_name, json config, Fn fn)
    : class_name_(std::move(class_name)), config_(std::make_shared<const json>(std::move(config))), fn_(std::move(fn)) {
  KEEL_CHECK(static_cast<bool>(fn_), ValueError, "Constraint ", class_name_, ": the projection function is empty");
}

Tensor Constraint::operator()(const Tensor& w) const {
  KEEL_CHECK(static_cast<bool>(fn_), ValueError, "Constraint: called an empty (None) constraint");
  return fn_(w);
}

json Constraint::get_config() const {
  if (!fn_) return nullptr;
  return {
      {"module", "keras.constraints"}, {"class_name", class_name_}, {"config", *config_}, {"registered_name", nullptr}};
}

Constraint Constraint::from_config(const json& config) {
  if (config.is_null()) return {};
  if (config.is_string()) return constraints::get(config.get<std::string>());
  KEEL_CHECK(config.is_object() && config.contains("class_name") && config.at("class_name").is_string(), ValueError,
             "Constraint::from_config: expected {\"class_name\": ..., \"config\": {...}}, got ", config.dump());
  const json inner = config.contains("config") && !config.at("config").is_null() ? config.at("config") : json::object();
  KEEL_CHECK(inner.is_object(), ValueError, "Constraint::from_config: \"config\" must be an object, got ",
             inner.dump());
  return factory_for(config.at("class_name").get<std::string>())(inner);
}

namespace constraints {

Constraint MaxNorm(MaxNormOptions options) {
  check_axes(options.axis, "MaxNorm");
  const double max_value = options.max_value;
  const NormAxes axis = options.axis;
  return Constraint("MaxNorm", {{"max_value", max_value}, {"axis", axis_json(axis)}},
                    [max_value, axis](const Tensor& w) {
                      const Tensor norms = norms_of(w, axis);
                      const Tensor desired = ops::clip(norms, 0.0, max_value);
                      return w * (desired / (norms + kEpsilon));
                    });
}

Constraint MinMaxNorm(MinMaxNormOptions o) {
  check_axes(o.axis, "MinMaxNorm");
  return Constraint(
      "MinMaxNorm",
      {{"min_value", o.min_value}, {"max_value", o.max_value}, {"rate", o.rate}, {"axis", axis_json(o.axis)}},
      [o](const Tensor& w) {
        const Tensor norms = norms_of(w, o.axis);
        const Tensor desired = ops::clip(norms, o.min_value, o.max_value) * o.rate + norms * (1.0 - o.rate);
        return w * (desired / (norms + kEpsilon));
      });
}

Constraint NonNeg() {
  return Constraint("NonNeg", json::object(), [](const Tensor& w) {
    return w * ops::cast(ops::greater_equal(w, scalar_like(0.0, w)), w.dtype());
  });
}

Constraint UnitNorm(NormAxes axis) {
  check_axes(axis, "UnitNorm");
  return Constraint("UnitNorm", {{"axis", axis_json(axis)}},
                    [axis](const Tensor& w) { return w / (norms_of(w, axis) + kEpsilon); });
}
Constraint UnitNorm(int64_t axis) { return UnitNorm(NormAxes{axis}); }

Constraint get(const std::string& identifier) { return factory_for(identifier)(json::object()); }

}  // namespace constraints
}  // namespace keel
