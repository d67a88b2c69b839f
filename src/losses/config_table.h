// Reading Keras configs into Keel's classes, shared by losses::from_config and metrics::from_config: values
// with Keras's defaults, and the table of classes by Keras class name.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace keel::losses::detail {

/// The config's value for `key`, or Keras's default `fallback` when the key is missing or null.
template <class T>
T arg(const nlohmann::json& c, const char* key, T fallback) {
  return c.contains(key) && !c.at(key).is_null() ? c.at(key).get<T>() : fallback;
}

template <class T>
std::optional<T> optional_arg(const nlohmann::json& c, const char* key) {
  if (!c.contains(key) || c.at(key).is_null()) return std::nullopt;
  return c.at(key).get<T>();
}

/// Keras class name -> the function that builds the class from its config.
template <class T>
using ConfigTable = std::map<std::string, std::function<std::shared_ptr<T>(const nlohmann::json&)>>;

/// The object `class_name` built from `config`; nullptr when the table has no such class.
template <class T>
std::shared_ptr<T> build_from(const ConfigTable<T>& table, const std::string& class_name, const nlohmann::json& config) {
  auto it = table.find(class_name);
  return it == table.end() ? nullptr : it->second(config);
}

template <class T>
std::vector<std::string> class_names(const ConfigTable<T>& table) {
  std::vector<std::string> names;
  for (const auto& entry : table) names.push_back(entry.first);
  return names;
}

}  // namespace keel::losses::detail
