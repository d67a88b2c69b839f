// Custom objects and models as JSON, as in Keras 3:
//   keras.saving.register_keras_serializable(package="my_package", name="MyLayer")
//       -> saving::register_serializable("my_package", "MyLayer", factory);
//   keras.saving.load_model(path, custom_objects={"MyLayer": MyLayer})
//       -> saving::load_model(path, {.custom_objects = {{"MyLayer", factory}}});
//   model.to_json()                                   -> model.to_json()
//   keras.models.model_from_json(text, custom_objects) -> models::model_from_json(text, custom_objects)
//   keras.models.clone_model(model)                   -> models::clone_model(model)
//
// A factory rebuilds a layer from its config, the "config" dict its get_config() writes:
//   class Scale : public UnaryLayer {
//    public:
//     explicit Scale(double factor, std::string name = "") : UnaryLayer("Scale", std::move(name)), factor_(factor) {}
//     nlohmann::json get_config() const override { auto c = UnaryLayer::get_config(); c["factor"] = factor_; return c; }
//     ...
//   };
//   saving::register_serializable("my_package", "Scale", [](const nlohmann::json& c) -> LayerHandle {
//     return make_layer<Scale>(c.at("factor").get<double>(), c.at("name").get<std::string>());
//   });
// Saved configs then name the layer as Keras names registered classes: `"class_name": "Scale"`,
// `"registered_name": "my_package>Scale"`, `"module": "my_package"`; loading finds it by its registered name.
// Loading checks the rebuilt layer's get_config() against the file's config like every other layer (see
// the Note [Refuse, never silently change] in src/io/model_config.cpp): a factory must honour every key.
#pragma once
#include <map>
#include <string>

#include "keel/layers/layer.h"
#include "keel/models/model.h"

namespace keel::saving {

/// Keras's custom_objects: a class name ("Scale") or registered name ("my_package>Scale") -> the factory
/// that rebuilds the layer from its config. Consulted before the registered and built-in classes.
using CustomObjects = std::map<std::string, layers::LayerFactory>;

/// keras.saving.register_keras_serializable(package, name): objects whose `registered_name` is
/// "package>name" load with `factory`, and saving writes that registered name for layers whose class_name()
/// is `name`. Returns the registered name. Registering the same name again replaces the factory, as in
/// Keras. ValueError if `package` or `name` is empty or contains '>'.
std::string register_serializable(const std::string& package, const std::string& name, layers::LayerFactory factory);

/// keras.saving.get_registered_name: "package>Name" for a class registered with register_serializable,
/// else the class name itself.
std::string get_registered_name(const std::string& class_name);

/// keras.saving.get_registered_object: the factory `custom_objects` or the registry holds for `name` (a
/// registered name or a class name), custom_objects first; an empty function when none does.
layers::LayerFactory get_registered_object(const std::string& name, const CustomObjects& custom_objects = {});

}  // namespace keel::saving

namespace keel::models {

/// keras.models.model_from_json: rebuilds the model that Model::to_json() (or Keras's model.to_json())
/// wrote, with freshly initialized weights; compiled when the JSON holds a compile_config, as in Keras.
/// `custom_objects` as in load_model. The config is checked as load_model checks it (ValueError for malformed
/// JSON or unknown classes, UnimplementedError for configuration Keel cannot honour).
Model model_from_json(const std::string& json, const saving::CustomObjects& custom_objects = {});

/// keras.models.clone_model: a new model with the same architecture (same layer classes, configs and
/// names) and new, freshly initialized variables; nothing is shared with `model`, and the clone is not
/// compiled. Sequential and functional models (nested ones included); custom layers need a registered
/// factory (layers::register_layer or saving::register_serializable).
Model clone_model(const Model& model);

}  // namespace keel::models

/// KEEL_REGISTER_SERIALIZABLE("my_package", "Scale", factory): register_serializable when the program loads.
#define KEEL_SERIALIZABLE_CONCAT_INNER(a, b) a##b
#define KEEL_SERIALIZABLE_CONCAT(a, b) KEEL_SERIALIZABLE_CONCAT_INNER(a, b)
#define KEEL_REGISTER_SERIALIZABLE(package, name, factory)                                   \
  static const std::string KEEL_SERIALIZABLE_CONCAT(keel_serializable_registered_, __LINE__) = \
      ::keel::saving::register_serializable(package, name, factory)
