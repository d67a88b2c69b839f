// config.json of `.keras` archives: Keras 3's serialized model, and the model rebuilt from it.
//
// Note [Refuse, never silently change]
// A config that Keel would load into a different model is refused, never approximated. Each layer is
// rebuilt with its registered factory, and then the config the file holds is compared with the config of
// the layer Keel built: every key of the file must be one Keel's layer reports, with an equivalent value
// (numbers to 1e-6 relative, as Keel keeps hyper-parameters in float32 where Keras does), or one of the
// keys Keras writes for features Keel lacks while they hold their neutral value (a null
// `kernel_regularizer`, `quantization_config`, `lora_rank`; `optional: false`). Anything else is an
// UnimplementedError naming the layer, the key and the value. The optimizer's config and the compile
// arguments are checked the same way. Nothing from the file is ever executed: Keras's `Lambda` layers and
// `__lambda__` payloads (marshalled Python bytecode) are refused (safe_mode or not).
#include "io/model_config.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "keel/core/error.h"
#include "keel/layers/activations.h"
#include "keel/layers/core.h"
#include "keel/layers/recurrent.h"
#include "keel/losses/losses.h"
#include "keel/metrics/metrics.h"
#include "keel/optimizers/optimizers.h"

namespace keel::saving::detail {

namespace {

using json = nlohmann::json;

Shape shape_from(const json& j, const std::string& what) {
  KEEL_CHECK(j.is_array(), ValueError, what, ": expected a shape (a list), got ", j.dump());
  Shape s;
  for (const auto& d : j) {
    KEEL_CHECK(d.is_null() || d.is_number_integer(), ValueError, what, ": expected a shape, got ", j.dump());
    s.push_back(d.is_null() ? kUnknownDim : d.get<int64_t>());
  }
  return s;
}

// --- saving ---

json serialized(const std::string& module, const std::string& class_name, json config) {
  return {{"module", module}, {"class_name", class_name}, {"config", std::move(config)}, {"registered_name", nullptr}};
}

json loss_json(const LossArg& arg) {
  if (arg.is_string()) return arg.identifier();
  auto loss = arg.resolve();
  return serialized("keras.losses", loss->class_name(), loss->get_config());
}

json metric_json(const MetricArg& arg) {
  if (arg.is_string()) return arg.identifier();
  auto metric = arg.resolve({}, {});
  return serialized("keras.metrics", metric->class_name(), metric->get_config());
}

json metrics_json(const std::vector<MetricArg>& metrics) {
  if (metrics.empty()) return nullptr;
  json j = json::array();
  for (const auto& m : metrics) j.push_back(metric_json(m));
  return j;
}

json compile_config(const ModelImpl& model) {
  const CompileOptions& o = model.compile_options();
  json loss;
  if (o.loss.size() == 1) loss = loss_json(o.loss[0]);
  else if (o.loss.size() > 1) {
    loss = json::array();
    for (size_t i = 0; i < o.loss.size(); ++i) loss.push_back(o.loss[i].empty() ? json(nullptr) : loss_json(o.loss[i]));
  }
  return {{"optimizer", optimizers::serialize(model.optimizer())},
          {"loss", loss},
          {"loss_weights", o.loss_weights.empty() ? json(nullptr) : json(o.loss_weights)},
          {"metrics", metrics_json(o.metrics)},
          {"weighted_metrics", metrics_json(o.weighted_metrics)},
          {"run_eagerly", o.run_eagerly},
          {"steps_per_execution", 1},
          {"jit_compile", false}};
}

bool is_model_class(const json& class_name) {
  return class_name == "Sequential" || class_name == "Functional" || class_name == "Model";
}

// Keras's module and registered_name for the entries of a model's `layers` list (layers::serialize writes
// "keras.layers" and null for every layer): a nested model is serialized as Keras serializes a model
// (Sequential: "keras"; Functional: "keras.src.models.functional", registered_name "Functional", and no
// build_config, as a Functional model is built when made), and a class registered with
// register_serializable carries its registered name "package>Name" (module: the package).
void keras_names(json& layers_list) {
  if (!layers_list.is_array()) return;
  for (json& e : layers_list) {
    if (!e.is_object() || !e.contains("class_name") || !e.at("class_name").is_string()) continue;
    const std::string cls = e.at("class_name").get<std::string>();
    if (cls == "Sequential") {
      e["module"] = "keras";
      e["registered_name"] = nullptr;
    } else if (cls == "Functional") {
      e["module"] = "keras.src.models.functional";
      e["registered_name"] = "Functional";
      e.erase("build_config");
    } else if (const std::string registered = get_registered_name(cls); registered != cls) {
      e["module"] = registered.substr(0, registered.find('>'));
      e["registered_name"] = registered;
    }
    if (is_model_class(cls) && e.contains("config") && e.at("config").is_object() && e.at("config").contains("layers"))
      keras_names(e["config"]["layers"]);
  }
}

// --- loading: the checks of Note [Refuse, never silently change] ---

std::string short_dump(const json& j) {
  std::string s = j.dump();
  return s.size() > 300 ? s.substr(0, 300) + "..." : s;
}

bool numbers_equal(double a, double b) {
  if (a == b) return true;
  return std::fabs(a - b) <= 1e-6 * std::max(std::fabs(a), std::fabs(b));
}

// Whether the file's value `a` means what Keel's `b` means.
bool equivalent(const json& a, const json& b, const std::string& key) {
  if (a.is_number() && b.is_number()) return numbers_equal(a.get<double>(), b.get<double>());
  if (key == "dtype") {  // "float32" and DTypePolicy {"config": {"name": "float32"}} say the same
    auto policy_name = [](const json& j) -> json {
      if (j.is_object() && j.value("class_name", "") == "DTypePolicy" && j.contains("config") &&
          j.at("config").is_object() && j.at("config").size() == 1)
        return j.at("config").value("name", json(nullptr));
      return j;
    };
    return policy_name(a) == policy_name(b);
  }
  if (a.is_string() && b.is_object() && b.value("module", "") == "keras.initializers") {
    try {
      return equivalent(Initializer::from_config(a).get_config(), b, key);
    } catch (const Error&) {
      return false;
    }
  }
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (k == "module" || k == "registered_name") continue;  // names of where the class lives
      if (!b.contains(k) || !equivalent(v, b.at(k), k)) return false;
    }
    for (const auto& [k, v] : b.items())
      if (k != "module" && k != "registered_name" && !a.contains(k)) return false;
    return true;
  }
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!equivalent(a[i], b[i], key)) return false;
    return true;
  }
  return a == b;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Keys Keras writes for features Keel does not have, accepted while they hold their neutral value.
bool neutral_extra(const std::string& key, const json& value, const json& config) {
  if (ends_with(key, "_regularizer") || ends_with(key, "_constraint")) return value.is_null();
  if (key == "quantization_config" || key == "lora_rank") return value.is_null();
  if (key == "lora_alpha") return !config.contains("lora_rank") || config.at("lora_rank").is_null();
  if (key == "optional" || key == "sparse" || key == "ragged" || key == "synchronized") return value == json(false);
  return false;
}

// `who`: "Layer 'dense' (Dense)", "Optimizer 'adam' (Adam)".
void check_config(const json& file_config, const json& keel_config, const std::string& who, const std::string& where) {
  for (const auto& [key, value] : file_config.items()) {
    if (!keel_config.contains(key)) {
      if (neutral_extra(key, value, file_config)) continue;
      throw UnimplementedError(who + " in " + where + ": Keel does not support the config key `" + key + "` (value " +
                               short_dump(value) + "); refusing to load it rather than ignore it");
    }
    if (!equivalent(value, keel_config.at(key), key))
      throw UnimplementedError(who + " in " + where + ": Keel cannot honour `" + key + "` = " + short_dump(value) +
                               " (Keel's layer would have " + short_dump(keel_config.at(key)) +
                               "); refusing to load it rather than change it");
  }
}

bool holds_lambda(const json& j) {
  if (j.is_object()) {
    if (j.contains("class_name") && j.at("class_name") == "__lambda__") return true;
    for (const auto& [k, v] : j.items())
      if (holds_lambda(v)) return true;
  } else if (j.is_array()) {
    for (const auto& v : j)
      if (holds_lambda(v)) return true;
  }
  return false;
}

class Loader {
 public:
  Loader(const LoadOptions& options, std::string where) : options_(options), where_(std::move(where)) {}

  void refuse_code(const json& j, const std::string& who) const {
    if (!holds_lambda(j) && !(j.is_object() && j.value("class_name", "") == "Lambda")) return;
    if (options_.safe_mode)
      throw ValueError(who + " in " + where_ +
                       " holds Python code (a `Lambda` layer or a `__lambda__` payload): deserializing it would "
                       "execute arbitrary code, which safe_mode refuses. Keel cannot execute Python code anyway, so "
                       "passing safe_mode = false will not load it either: rebuild this part of the model in C++.");
    throw UnimplementedError(who + " in " + where_ +
                             " holds Python code (a `Lambda` layer or a `__lambda__` payload); Keel cannot execute "
                             "Python code, and a loader never runs code from a file.");
  }

  LayerHandle layer(const json& entry) const {
    KEEL_CHECK(entry.is_object() && entry.contains("class_name") && entry.at("class_name").is_string() &&
                   entry.contains("config") && entry.at("config").is_object(),
               ValueError, "Invalid layer entry in ", where_, ": expected {\"class_name\": ..., \"config\": {...}}, got ",
               short_dump(entry));
    const std::string cls = entry.at("class_name").get<std::string>();
    const json& config = entry.at("config");
    const std::string name = config.contains("name") && config.at("name").is_string() ? config.at("name").get<std::string>()
                                                                                       : std::string("?");
    const std::string who = "Layer '" + name + "' (" + cls + ")";
    // A nested model: rebuilt like the outer one (its layers are checked one by one).
    if (is_model_class(cls)) return LayerHandle(model(entry).ptr());
    refuse_code(entry, who);
    // Keras's lookup (serialization_lib._retrieve_class_or_fn): custom_objects (by registered name, then by
    // class name), the classes registered with register_serializable by registered name, then Keel's own
    // layers by class name.
    const json registered = entry.value("registered_name", json(nullptr));
    KEEL_CHECK(registered.is_null() || registered.is_string(), ValueError, who, " in ", where_,
               ": registered_name must be a string or null, got ", short_dump(registered));
    const std::string registered_name = registered.is_string() ? registered.get<std::string>() : std::string();
    layers::LayerFactory factory;
    std::string found_as;  // the custom object's key, for messages
    const auto& custom = options_.custom_objects;
    if (auto it = custom.find(registered_name); !registered_name.empty() && it != custom.end()) {
      factory = it->second;
      found_as = registered_name;
    } else if (auto it2 = custom.find(cls); it2 != custom.end()) {
      factory = it2->second;
      found_as = cls;
    } else if (!registered_name.empty() && (factory = get_registered_object(registered_name))) {
      found_as = registered_name;
    } else if (layers::is_registered(cls) && (registered_name.empty() || registered_name == cls)) {
      factory = [cls](const json& c) { return layers::deserialize({{"class_name", cls}, {"config", c}}); };
    } else if (registered_name.empty() &&
               (factory = get_registered_object(get_registered_name(cls)))) {
      found_as = get_registered_name(cls);
    }
    if (!factory) {
      const std::string name_for_registry = registered_name.empty() ? cls : registered_name;
      const auto gt = name_for_registry.find('>');
      const std::string package = gt == std::string::npos ? "my_package" : name_for_registry.substr(0, gt);
      const std::string short_name = gt == std::string::npos ? name_for_registry : name_for_registry.substr(gt + 1);
      throw ValueError("Could not locate class '" + cls + "' (" + who + ") in " + where_ +
                       (registered_name.empty() ? std::string() : " (registered_name '" + registered_name + "')") +
                       ": it is not one of Keel's layers. Custom classes must be registered before loading "
                       "(keel::saving::register_serializable(\"" + package + "\", \"" + short_name +
                       "\", factory), as Keras's @keras.saving.register_keras_serializable(package=\"" + package +
                       "\")), or passed in LoadOptions::custom_objects (custom_objects={\"" + cls + "\": ...}).");
    }
    for (const char* key : {"activation", "recurrent_activation"}) {
      if (!config.contains(key)) continue;
      const json& a = config.at(key);
      bool known = a.is_null();
      if (a.is_string()) {
        try {
          ActivationFn fn(a.get<std::string>());
          known = true;
        } catch (const Error&) {
        }
      }
      if (!known)
        throw UnimplementedError(who + " in " + where_ + ": Keel cannot honour `" + key + "` = " + short_dump(a) +
                                 " (not one of Keel's activations)");
    }
    LayerHandle layer;
    try {
      layer = factory(config);
    } catch (const json::exception& e) {
      throw ValueError(who + " in " + where_ + ": invalid config " + short_dump(config) + " (" + e.what() + ")");
    }
    KEEL_CHECK(static_cast<bool>(layer), ValueError, who, " in ", where_, ": the factory",
               found_as.empty() ? std::string() : " of custom object '" + found_as + "'", " returned no layer");
    if (layer->class_name() != cls)
      throw ValueError(who + " in " + where_ + ": the factory" +
                       (found_as.empty() ? std::string() : " of custom object '" + found_as + "'") +
                       " built a layer of class '" + layer->class_name() + "', not '" + cls + "'");
    check_config(config, layer->get_config(), who, where_);
    return layer;
  }

  // A serialized Sequential or Functional model ({"class_name", "config", "build_config"?}), built.
  Model model(const json& j) const {
    KEEL_CHECK(j.is_object() && j.contains("class_name") && j.at("class_name").is_string() && j.contains("config") &&
                   j.at("config").is_object(),
               ValueError, "Invalid model config in ", where_, ": expected {\"class_name\": ..., \"config\": {...}}, got ",
               short_dump(j));
    const std::string cls = j.at("class_name").get<std::string>();
    Model m;
    if (cls == "Sequential") m = sequential(j.at("config"));
    else if (cls == "Functional" || cls == "Model") m = functional(j.at("config"));
    else
      throw ValueError("Could not locate model class '" + cls + "' in " + where_ +
                       ": Keel rebuilds Sequential and Functional models; custom classes must be registered (in Keras, "
                       "@keras.saving.register_keras_serializable()) and subclassed models cannot be loaded from a "
                       "config");
    if (j.contains("build_config") && j.at("build_config").is_object() && !m.get()->built()) {
      const json& bc = j.at("build_config");
      KEEL_CHECK(bc.contains("input_shape"), UnimplementedError, "build_config in ", where_, ": Keel cannot honour ",
                 short_dump(bc));
      if (auto* seq = dynamic_cast<SequentialImpl*>(m.get()))
        seq->build_for(shape_from(bc.at("input_shape"), where_ + ": build_config"));
    }
    return m;
  }

  // Code payloads are refused before anything is built, naming the layer that holds them (inside nested
  // models too).
  void refuse_code_in_layers(const json& config) const {
    if (!config.is_object() || !config.contains("layers") || !config.at("layers").is_array()) return;
    for (const json& entry : config.at("layers")) {
      if (!entry.is_object() || !entry.contains("config") || !entry.at("config").is_object()) continue;
      const json& cls = entry.contains("class_name") ? entry.at("class_name") : json("?");
      if (is_model_class(cls)) {
        refuse_code_in_layers(entry.at("config"));
        continue;
      }
      const json& name = entry.at("config").contains("name") ? entry.at("config").at("name") : json("?");
      refuse_code(entry, "Layer '" + (name.is_string() ? name.get<std::string>() : name.dump()) + "' (" +
                             (cls.is_string() ? cls.get<std::string>() : cls.dump()) + ")");
    }
  }

  std::shared_ptr<Optimizer> optimizer(const json& j) const {
    if (j.is_string()) return optimizers::get(j.get<std::string>());
    refuse_code(j, "The optimizer");
    KEEL_CHECK(j.is_object() && j.contains("class_name") && j.at("class_name").is_string() && j.contains("config") &&
                   j.at("config").is_object(),
               ValueError, "Invalid optimizer in the compile_config of ", where_, ": ", short_dump(j));
    const std::string cls = j.at("class_name").get<std::string>();
    const json registered = j.value("registered_name", json(nullptr));
    if (registered.is_string() && registered.get<std::string>() != cls)
      throw ValueError("Could not locate optimizer class '" + cls + "' in " + where_ +
                       ": custom classes must be registered before loading");
    std::shared_ptr<Optimizer> opt;
    try {
      opt = optimizers::deserialize(j);
    } catch (const json::exception& e) {
      throw ValueError("Optimizer " + cls + " in " + where_ + ": invalid config (" + e.what() + ")");
    }
    check_config(j.at("config"), opt->get_config(), "Optimizer '" + opt->name() + "' (" + cls + ")", where_);
    return opt;
  }

  // A serialized loss or metric object of compile_config ({"module": "keras.losses", "class_name", "config"}),
  // rebuilt when Keel has the class, and checked like a layer.
  // `make` is losses::from_config or metrics::from_config, `known` the class names it knows.
  template <class T>
  std::shared_ptr<T> compile_object(const json& j, std::shared_ptr<T> (*make)(const std::string&, const json&),
                                    const std::vector<std::string>& known, const char* kind, const char* module) const {
    refuse_code(j, std::string("The ") + kind + " in compile_config");
    KEEL_CHECK(j.is_object() && j.contains("class_name") && j.at("class_name").is_string() && j.contains("config") &&
                   j.at("config").is_object(),
               ValueError, "Invalid ", kind, " in the compile_config of ", where_, ": expected {\"class_name\": ..., ",
               "\"config\": {...}}, got ", short_dump(j));
    const std::string cls = j.at("class_name").get<std::string>();
    const json registered = j.value("registered_name", json(nullptr));
    const json file_module = j.value("module", json(nullptr));
    if (std::find(known.begin(), known.end(), cls) == known.end() ||
        (registered.is_string() && registered.get<std::string>() != cls) ||
        (file_module.is_string() && file_module.get<std::string>().rfind("keras", 0) != 0)) {
      std::string names;
      for (const auto& name : known) names += (names.empty() ? "" : ", ") + name;
      throw UnimplementedError("compile_config in " + where_ + ": Keel has no " + kind + " class '" + cls + "'" +
                               (registered.is_string() ? " (registered_name " + registered.dump() + ")" : std::string()) +
                               " to rebuild " + short_dump(j) + " with; Keel's " + module + " classes are: " + names);
    }
    json config = j.at("config");
    if (config.contains("reduction") && config.at("reduction").is_null()) config["reduction"] = "none";
    std::shared_ptr<T> object;
    try {
      object = make(cls, config);
    } catch (const json::exception& e) {
      throw ValueError(std::string(kind) + " " + cls + " in the compile_config of " + where_ + ": invalid config " +
                       short_dump(config) + " (" + e.what() + ")");
    }
    const json keel_config = object->get_config();
    // Keras 3.6+ writes the loss's dtype (null: the float32 Keel computes in).
    if (!keel_config.contains("dtype") && config.contains("dtype") &&
        (config.at("dtype").is_null() || equivalent(config.at("dtype"), "float32", "dtype")))
      config.erase("dtype");
    const std::string who = std::string(kind == std::string("loss") ? "Loss" : "Metric") + " '" + object->name() +
                            "' (" + cls + ") of the compile_config";
    check_config(config, keel_config, who, where_);
    return object;
  }

  LossArg loss_arg(const json& x) const {
    if (x.is_null()) return LossArg();
    if (x.is_string()) return LossArg(x.get<std::string>());
    return LossArg(compile_object<Loss>(x, losses::from_config, losses::config_class_names(), "loss", "keras.losses"));
  }

  MetricArg metric_arg(const json& x) const {
    if (x.is_string()) return MetricArg(x.get<std::string>());
    return MetricArg(
        compile_object<Metric>(x, metrics::from_config, metrics::config_class_names(), "metric", "keras.metrics"));
  }

  Model sequential(const json& config) const {
    static const std::set<std::string> known = {"name", "trainable", "dtype", "layers", "build_input_shape"};
    model_keys(config, "Sequential", known);
    auto model = std::make_shared<SequentialImpl>(config.value("name", std::string()));
    KEEL_CHECK(config.contains("layers") && config.at("layers").is_array(), ValueError,
               "Invalid Sequential config in ", where_, ": no \"layers\" list");
    for (const json& entry : config.at("layers")) {
      LayerHandle l = layer(entry);
      if (auto input = std::dynamic_pointer_cast<layers::InputLayerImpl>(l.ptr())) model->add_input(input->output());
      else model->add(l);
    }
    if (!model->built() && config.contains("build_input_shape") && !config.at("build_input_shape").is_null())
      model->build_for(shape_from(config.at("build_input_shape"), where_ + ": build_input_shape"));
    if (!config.value("trainable", true)) model->set_trainable(false);
    return Model(model);
  }

  Model functional(const json& config) const {
    static const std::set<std::string> known = {"name", "trainable", "dtype", "layers", "input_layers", "output_layers"};
    model_keys(config, "Functional", known);
    KEEL_CHECK(config.contains("layers") && config.at("layers").is_array(), ValueError,
               "Invalid Functional config in ", where_, ": no \"layers\" list");
    struct Entry {
      std::string name;
      LayerHandle layer;
      json nodes;
      size_t done = 0;
    };
    std::vector<Entry> entries;
    std::map<std::pair<std::string, int64_t>, std::vector<SymbolicTensor>> produced;
    for (const json& e : config.at("layers")) {
      LayerHandle l = layer(e);
      Entry entry{l->name(), l, e.value("inbound_nodes", json::array()), 0};
      KEEL_CHECK(entry.nodes.is_array(), ValueError, "Layer '", entry.name, "' in ", where_,
                 ": inbound_nodes must be a list");
      if (auto input = std::dynamic_pointer_cast<layers::InputLayerImpl>(l.ptr())) produced[{entry.name, 0}] = {input->output()};
      entries.push_back(std::move(entry));
    }
    auto lookup = [&](const json& history) -> const SymbolicTensor* {
      KEEL_CHECK(history.is_array() && history.size() == 3 && history[0].is_string() && history[1].is_number_integer() &&
                     history[2].is_number_integer(),
                 ValueError, "Invalid tensor reference in ", where_, ": ", short_dump(history));
      auto it = produced.find({history[0].get<std::string>(), history[1].get<int64_t>()});
      if (it == produced.end()) return nullptr;
      const int64_t index = history[2].get<int64_t>();
      KEEL_CHECK(index >= 0 && index < static_cast<int64_t>(it->second.size()), ValueError, "Invalid tensor reference in ",
                 where_, ": ", short_dump(history), " (layer '", history[0].get<std::string>(), "' has ",
                 it->second.size(), " outputs)");
      return &it->second[index];
    };
    // Keras's order: layers in config order, each node once all the tensors it reads exist.
    bool progress = true;
    while (progress) {
      progress = false;
      for (Entry& e : entries) {
        while (e.done < e.nodes.size()) {
          const json& node = e.nodes[e.done];
          const std::string who = "Layer '" + e.name + "'";
          KEEL_CHECK(node.is_object() && node.contains("args") && node.at("args").is_array(), ValueError, who, " in ",
                     where_, ": invalid inbound node ", short_dump(node));
          // Keras records `mask: null` (and `training: null`) for layers whose call takes them, nested models
          // included: the call Keel makes anyway. Any other call argument is refused.
          // An RNN's initial_state (a list of tensors) becomes its extra inputs, after the sequence.
          const json* initial_state = nullptr;
          if (node.contains("kwargs"))
            for (const auto& [k, v] : node.at("kwargs").items()) {
              if ((k == "mask" || k == "training") && v.is_null()) continue;
              if (k == "initial_state" && v.is_array() && dynamic_cast<const layers::RNNImpl*>(e.layer.get())) {
                initial_state = &v;
                continue;
              }
              throw UnimplementedError(who + " in " + where_ + ": Keel cannot honour call arguments `kwargs` = " +
                                       short_dump(node.at("kwargs")));
            }
          std::vector<const json*> refs;
          for (const json& arg : node.at("args")) {
            if (arg.is_array())
              for (const json& a : arg) refs.push_back(&a);
            else refs.push_back(&arg);
          }
          if (initial_state)
            for (const json& a : *initial_state) refs.push_back(&a);
          std::vector<SymbolicTensor> inputs;
          bool ready = true;
          for (const json* r : refs) {
            KEEL_CHECK(r->is_object() && r->value("class_name", "") == "__keras_tensor__" && r->contains("config") &&
                           r->at("config").contains("keras_history"),
                       UnimplementedError, who, " in ", where_,
                       ": Keel can only pass symbolic tensors as call arguments, got ", short_dump(*r));
            const SymbolicTensor* t = lookup(r->at("config").at("keras_history"));
            if (!t) {
              ready = false;
              break;
            }
            inputs.push_back(*t);
          }
          if (!ready) break;
          produced[{e.name, static_cast<int64_t>(e.done)}] = e.layer->call_symbolic(inputs);
          ++e.done;
          progress = true;
        }
      }
    }
    for (const Entry& e : entries)
      KEEL_CHECK(e.done == e.nodes.size(), ValueError, "Invalid Functional config in ", where_, ": inbound node ",
                 e.done, " of layer '", e.name, "' reads tensors that no layer produces: ", short_dump(e.nodes[e.done]));
    auto tensors = [&](const char* key) {
      KEEL_CHECK(config.contains(key) && config.at(key).is_array() && !config.at(key).empty(), ValueError,
                 "Invalid Functional config in ", where_, ": \"", key, "\" must be a non-empty list");
      json refs = config.at(key);
      if (refs[0].is_string()) refs = json::array({refs});  // a single reference
      std::vector<SymbolicTensor> out;
      for (const json& r : refs) {
        const SymbolicTensor* t = lookup(r);
        KEEL_CHECK(t != nullptr, ValueError, "Invalid Functional config in ", where_, ": ", key, " references ",
                   short_dump(r), ", which no layer produces");
        out.push_back(*t);
      }
      return out;
    };
    Model model(tensors("input_layers"), tensors("output_layers"), config.value("name", std::string()));
    if (!config.value("trainable", true)) model.set_trainable(false);
    return model;
  }

  void compile(const Model& model, const json& cc) const {
    static const std::set<std::string> known = {"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics",
                                                "run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss"};
    KEEL_CHECK(cc.is_object(), ValueError, "Invalid compile_config in ", where_, ": ", short_dump(cc));
    for (const auto& [key, value] : cc.items())
      if (!known.count(key))
        throw UnimplementedError("compile_config in " + where_ + ": Keel does not support `" + key + "` (value " +
                                 short_dump(value) + ")");
    auto refuse = [&](const std::string& key) {
      throw UnimplementedError("compile_config in " + where_ + ": Keel cannot honour `" + key +
                               "` = " + short_dump(cc.at(key)) +
                               " (Keel replays string identifiers, serialized loss and metric objects of its own "
                               "classes, and lists of them, one per output)");
    };
    CompileOptions o;
    if (cc.contains("optimizer") && !cc.at("optimizer").is_null()) o.optimizer = optimizer(cc.at("optimizer"));
    if (cc.contains("loss") && !cc.at("loss").is_null()) {
      const json& l = cc.at("loss");
      if (l.is_string() || (l.is_object() && l.contains("class_name"))) o.loss = std::vector<LossArg>{loss_arg(l)};
      else if (l.is_array()) {
        std::vector<LossArg> per_output;
        for (const json& x : l) {
          if (!x.is_string() && !x.is_null() && !(x.is_object() && x.contains("class_name"))) refuse("loss");
          per_output.push_back(loss_arg(x));
        }
        o.loss = per_output;
      } else refuse("loss");
    }
    if (cc.contains("loss_weights") && !cc.at("loss_weights").is_null()) {
      const json& w = cc.at("loss_weights");
      if (w.is_number()) o.loss_weights = {w.get<double>()};
      else if (w.is_array()) {
        for (const json& x : w) {
          if (!x.is_number()) refuse("loss_weights");
          o.loss_weights.push_back(x.get<double>());
        }
      } else refuse("loss_weights");
    }
    for (const char* key : {"metrics", "weighted_metrics"}) {
      if (!cc.contains(key) || cc.at(key).is_null()) continue;
      if (!cc.at(key).is_array()) refuse(key);
      std::vector<MetricArg>& out = std::string(key) == "metrics" ? o.metrics : o.weighted_metrics;
      for (const json& m : cc.at(key)) {
        if (!m.is_string() && !(m.is_object() && m.contains("class_name"))) refuse(key);
        out.push_back(metric_arg(m));
      }
    }
    if (cc.contains("run_eagerly") && cc.at("run_eagerly").is_boolean()) o.run_eagerly = cc.at("run_eagerly").get<bool>();
    // steps_per_execution, jit_compile and auto_scale_loss choose how Keras runs the same computation
    // (and auto_scale_loss only acts under mixed precision, which loading refuses): nothing to replay.
    model.compile(std::move(o));
    // Built now, so that its saved variables (iteration, learning rate, slots) load.
    model.optimizer().build(model.trainable_weights());
  }

 private:
  void model_keys(const json& config, const std::string& cls, const std::set<std::string>& known) const {
    KEEL_CHECK(config.is_object(), ValueError, "Invalid ", cls, " config in ", where_, ": ", short_dump(config));
    const std::string who = "Model '" + config.value("name", std::string("?")) + "' (" + cls + ")";
    for (const auto& [key, value] : config.items()) {
      if (!known.count(key))
        throw UnimplementedError(who + " in " + where_ + ": Keel does not support the config key `" + key + "` (value " +
                                 short_dump(value) + ")");
      if (key == "dtype" && !equivalent(value, "float32", key))
        throw UnimplementedError(who + " in " + where_ + ": Keel cannot honour `dtype` = " + short_dump(value) +
                                 " (Keel's models compute in float32)");
    }
  }

  const LoadOptions& options_;
  std::string where_;
};

}  // namespace

json serialize_model(const ModelImpl& model) {
  json out;
  if (dynamic_cast<const SequentialImpl*>(&model) != nullptr) {
    out = serialized("keras", "Sequential", model.get_config());
    if (out["config"].contains("build_input_shape"))
      out["build_config"] = {{"input_shape", out["config"]["build_input_shape"]}};
  } else if (dynamic_cast<const FunctionalImpl*>(&model) != nullptr) {
    out = serialized("keras.src.models.functional", "Functional", model.get_config());
    out["registered_name"] = "Functional";
  } else {
    if (dynamic_cast<const SubclassedModel*>(&model) != nullptr) model.get_config();  // its ValueError says why
    throw UnimplementedError("model.save: Keel saves Sequential and functional models; '" + model.name() + "' is a " +
                             model.class_name());
  }
  if (out["config"].contains("layers")) keras_names(out["config"]["layers"]);
  if (model.compiled() && model.optimizer_ptr()) out["compile_config"] = compile_config(model);
  return out;
}

Model deserialize_model(const json& j, const LoadOptions& options, const std::string& where, bool require_built) {
  Loader loader(options, where);
  KEEL_CHECK(j.is_object() && j.contains("class_name") && j.at("class_name").is_string() && j.contains("config"),
             ValueError, "Invalid model config in ", where, ": expected {\"class_name\": ..., \"config\": {...}}");
  loader.refuse_code_in_layers(j.at("config"));
  loader.refuse_code(j, "The model");
  Model model = loader.model(j);
  KEEL_CHECK(!require_built || model.get()->built(), ValueError, "The model in ", where,
             " has no input shape (no InputLayer, build_input_shape or build_config), so its weights cannot load");
  if (options.compile && j.contains("compile_config") && !j.at("compile_config").is_null())
    loader.compile(model, j.at("compile_config"));
  return model;
}

}  // namespace keel::saving::detail
