// register_serializable / custom objects, Model::to_json, models::model_from_json and models::clone_model
// (keel/io/serialization.h). The configs go through the same code as `.keras` archives (model_config.cpp).
#include "keel/io/serialization.h"

#include <mutex>
#include <nlohmann/json.hpp>

#include "io/model_config.h"
#include "keel/core/error.h"
#include "keel/io/model_file.h"

namespace keel {
namespace saving {

namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, layers::LayerFactory> by_registered_name;  // "package>Name" -> factory
  std::map<std::string, std::string> registered_name_of;           // class name -> "package>Name"
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

std::string register_serializable(const std::string& package, const std::string& name, layers::LayerFactory factory) {
  KEEL_CHECK(!package.empty() && !name.empty(), ValueError,
             "register_serializable: the package and the name must not be empty (got package='", package, "', name='",
             name, "')");
  KEEL_CHECK(package.find('>') == std::string::npos && name.find('>') == std::string::npos, ValueError,
             "register_serializable: the package and the name cannot contain '>' (got package='", package, "', name='",
             name, "')");
  KEEL_CHECK(static_cast<bool>(factory), ValueError, "register_serializable: the factory for '", package, ">", name,
             "' is empty");
  const std::string registered = package + ">" + name;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.by_registered_name[registered] = std::move(factory);
  r.registered_name_of[name] = registered;
  return registered;
}

std::string get_registered_name(const std::string& class_name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.registered_name_of.find(class_name);
  return it == r.registered_name_of.end() ? class_name : it->second;
}

layers::LayerFactory get_registered_object(const std::string& name, const CustomObjects& custom_objects) {
  if (auto it = custom_objects.find(name); it != custom_objects.end()) return it->second;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (auto it = r.by_registered_name.find(name); it != r.by_registered_name.end()) return it->second;
  return {};
}

}  // namespace saving

std::string Model::to_json() const {
  KEEL_CHECK(*this, ValueError, "to_json: the model handle is empty");
  return saving::detail::serialize_model(*get()).dump();
}

namespace models {

Model model_from_json(const std::string& text, const saving::CustomObjects& custom_objects) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ValueError("model_from_json: malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(std::string("model_from_json: malformed JSON: ") + e.what());
  }
  saving::LoadOptions options;
  options.custom_objects = custom_objects;
  try {
    return saving::detail::deserialize_model(config, options, "the JSON given to model_from_json", false);
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(std::string("model_from_json: invalid model config: ") + e.what());
  }
}

Model clone_model(const Model& model) {
  KEEL_CHECK(model, ValueError, "clone_model: the model handle is empty");
  nlohmann::json config = saving::detail::serialize_model(*model.get());
  config.erase("compile_config");  // Keras's clone_model does not compile the clone
  saving::LoadOptions options;
  options.compile = false;
  const std::string where = "clone_model('" + model.name() + "')";
  try {
    return saving::detail::deserialize_model(config, options, where, false);
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(where + ": " + e.what());
  }
}

}  // namespace models
}  // namespace keel
