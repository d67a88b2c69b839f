// Helpers shared by layer configs: shapes and tuples as JSON arrays, optional values as null.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "keel/core/error.h"
#include "keel/initializers/initializers.h"
#include "keel/layers/activations.h"
#include "keel/layers/layer.h"

namespace keel::layers::detail {

/// A shape as Keras writes it: unknown dimensions become null.
inline nlohmann::json shape_json(const Shape& s) {
  nlohmann::json j = nlohmann::json::array();
  for (int64_t d : s) j.push_back(d == kUnknownDim ? nlohmann::json(nullptr) : nlohmann::json(d));
  return j;
}
inline Shape shape_from_json(const nlohmann::json& j) {
  Shape s;
  for (const auto& d : j) s.push_back(d.is_null() ? kUnknownDim : d.get<int64_t>());
  return s;
}
template <class T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
template <class T>
std::optional<T> optional_from_json(const nlohmann::json& config, const char* key) {
  if (!config.contains(key) || config.at(key).is_null()) return std::nullopt;
  return config.at(key).get<T>();
}
/// The common constructor fields every layer config carries.
inline std::string name_from(const nlohmann::json& config) { return config.value("name", std::string()); }
inline ActivationFn activation_from(const nlohmann::json& config, const char* key = "activation") {
  if (!config.contains(key) || config.at(key).is_null()) return ActivationFn();
  return ActivationFn(config.at(key).get<std::string>());
}
inline Initializer initializer_from(const nlohmann::json& config, const char* key, const char* fallback) {
  if (!config.contains(key) || config.at(key).is_null()) return Initializer(fallback);
  const auto& j = config.at(key);
  return j.is_string() ? Initializer(j.get<std::string>()) : Initializer::from_config(j);
}
/// Reads a regularizer or constraint entry; errors name the layer and the key.
template <class T>
T penalty_from(const nlohmann::json& config, const char* key) {
  if (!config.contains(key)) return T();
  try {
    return T::from_config(config.at(key));
  } catch (const ValueError& e) {
    throw ValueError(keel::detail::cat("Layer '", config.value("name", std::string()), "': `", key, "`: ", e.what()));
  }
}
inline Regularizer regularizer_from(const nlohmann::json& config, const char* key) {
  return penalty_from<Regularizer>(config, key);
}
inline Constraint constraint_from(const nlohmann::json& config, const char* key) {
  return penalty_from<Constraint>(config, key);
}
/// Applies the base config's "trainable" flag to a freshly built layer.
inline LayerHandle with_base_config(LayerHandle layer, const nlohmann::json& config) {
  if (config.contains("trainable")) layer->set_trainable(config.at("trainable").get<bool>());
  return layer;
}

}  // namespace keel::layers::detail
