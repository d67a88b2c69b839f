// Keras 2's configuration dialect rewritten in Keras 3's form (keras/src/legacy/saving/ does the same on
// Keras's side when it loads a legacy file).
//
// Note [Keras 2's dialect]
// Keras 2 (2.0 to 2.15, standalone and tf.keras) wrote the same layers with other spellings:
//   - objects as {"class_name", "config"} without `module`/`registered_name` (Keel's checks ignore those),
//     initializers even without "config" (their defaults);
//   - Sequential configs as a bare list of layers (Keras 2.0-2.2) and the input shape as the first layer's
//     `batch_input_shape` instead of an InputLayer (other layers' copies were ignored); InputLayer's
//     `batch_input_shape` for `batch_shape`;
//   - Functional configs (class "Model" until Keras 2.3) with inbound nodes as lists of
//     [layer name, node index, tensor index, call kwargs] instead of `__keras_tensor__` arguments;
//   - dtype policies as {"class_name": "Policy", "config": {"name": "float32"}};
//   - keys for implementation choices that compute the same values (RNNs' `implementation`,
//     BatchNormalization's `fused`) and for features off by default (`renorm`, `virtual_batch_size`,
//     `adjustment`, `time_major`, Dropout's null `noise_shape`), BatchNormalization's `axis` as a one-element
//     list, LeakyReLU's `alpha`, VarianceScaling's distribution "normal" (truncated), the initializers
//     Orthogonal and Identity (Keras 3: OrthogonalInitializer, IdentityInitializer);
//   - optimizers as "Custom>Adam" (tf.keras 2.11+) with `lr` (Keras 2.0-2.2), `decay`, `jit_compile`,
//     `is_legacy_optimizer`; losses with reduction "auto"; metrics as MeanMetricWrapper objects, nested in a
//     list per output.
// Only these are rewritten, and only where the Keras 2 value means what Keel does (a non-zero `decay`, a
// `renorm` of true, `time_major` true stay and are refused by the loader's checks, naming the key).
#include "io/legacy_config.h"

#include <set>

#include "keel/core/error.h"

namespace keel::saving::detail {

namespace {

using json = nlohmann::json;

bool is_object_entry(const json& j) {
  return j.is_object() && j.contains("class_name") && j.at("class_name").is_string() && j.contains("config");
}

bool is_model_class(const std::string& cls) { return cls == "Sequential" || cls == "Functional" || cls == "Model"; }

json translate_entry(const json& entry, const std::string& where);

// {"class_name": "Policy", "config": {"name": "float32"}} -> "float32".
void translate_dtype(json& config) {
  if (!config.contains("dtype")) return;
  const json& d = config.at("dtype");
  if (d.is_object() && !d.contains("module") && (d.value("class_name", "") == "Policy") && d.contains("config") &&
      d.at("config").is_object() && d.at("config").contains("name"))
    config["dtype"] = d.at("config").at("name");
}

void translate_initializers(json& config) {
  for (auto& [key, value] : config.items()) {
    if (key.size() < 12 || key.compare(key.size() - 12, 12, "_initializer") != 0) continue;
    // Keras 2 could write an initializer without a config ({"class_name": "Zeros"}): its defaults.
    if (value.is_object() && value.contains("class_name") && !value.contains("config") && !value.contains("module"))
      value["config"] = json::object();
    if (!is_object_entry(value) || value.contains("module")) continue;
    // Keras 3's names for the initializers Keras 2 called Orthogonal and Identity.
    if (value.at("class_name") == "Orthogonal") value["class_name"] = "OrthogonalInitializer";
    if (value.at("class_name") == "Identity") value["class_name"] = "IdentityInitializer";
    json& c = value["config"];
    if (value.at("class_name") == "VarianceScaling" && c.is_object() && c.value("distribution", "") == "normal")
      c["distribution"] = "truncated_normal";  // Keras 2's "normal" was the truncated normal
  }
}

// Drops `key` when it holds one of `neutral` (the values that change nothing).
void drop_if(json& config, const std::string& key, const std::vector<json>& neutral) {
  if (!config.contains(key)) return;
  for (const json& n : neutral)
    if (config.at(key) == n) {
      config.erase(key);
      return;
    }
}

// The batch input shape a Keras 2 layer carried in its own config (removed from it), or null. Keras 2 wrote
// `batch_input_shape` for a layer made with `input_shape=`/`input_dim=`/Embedding's `input_length=`.
json take_input_shape(json& config) {
  json shape = config.contains("batch_input_shape") ? config.at("batch_input_shape") : json();
  config.erase("batch_input_shape");
  return shape;
}

json translate_layer(const json& entry, const std::string& where) {
  json out = entry;
  if (!out.at("config").is_object()) return out;
  json& config = out["config"];
  const std::string cls = out.at("class_name").get<std::string>();
  translate_dtype(config);
  translate_initializers(config);
  if (cls == "InputLayer" && config.contains("batch_input_shape") && !config.contains("batch_shape")) {
    config["batch_shape"] = config.at("batch_input_shape");
    config.erase("batch_input_shape");
  }
  if (cls == "BatchNormalization") {
    if (config.contains("axis") && config.at("axis").is_array() && config.at("axis").size() == 1)
      config["axis"] = config.at("axis")[0];
    config.erase("fused");  // a kernel choice: the same values either way
    drop_if(config, "renorm", {false});
    if (!config.contains("renorm")) {
      config.erase("renorm_clipping");
      config.erase("renorm_momentum");
    }
    drop_if(config, "virtual_batch_size", {nullptr});
    drop_if(config, "adjustment", {nullptr});
  }
  if (cls == "LSTM" || cls == "GRU" || cls == "SimpleRNN" || cls == "LSTMCell" || cls == "GRUCell" ||
      cls == "SimpleRNNCell") {
    config.erase("implementation");  // Keras 2's choice of kernel (1 or 2): the same values either way
    drop_if(config, "time_major", {false});
  }
  if (cls == "Dropout") drop_if(config, "noise_shape", {nullptr});
  if (cls == "LeakyReLU" && config.contains("alpha") && !config.contains("negative_slope")) {
    config["negative_slope"] = config.at("alpha");
    config.erase("alpha");
  }
  if (cls == "Embedding") config.erase("input_length");  // a shape hint only (Keras 3 drops it too)
  for (const char* key : {"layer", "backward_layer"})  // Bidirectional's wrapped layers
    if (config.contains(key) && is_object_entry(config.at(key))) config[key] = translate_entry(config.at(key), where);
  return out;
}

// Keras 2's inbound node [[name, node, tensor, kwargs], ...] as Keras 3's {"args": [...], "kwargs": {...}}.
json translate_node(const json& node, const std::string& layer, const std::string& where) {
  if (!node.is_array()) return node;  // already Keras 3's form
  json tensors = json::array();
  json kwargs = json::object();
  for (const json& input : node) {
    KEEL_CHECK(input.is_array() && (input.size() == 3 || input.size() == 4) && input[0].is_string(), ValueError,
               "Invalid inbound node of layer '", layer, "' in ", where,
               ": expected [layer name, node index, tensor index, kwargs], got ", input.dump());
    tensors.push_back({{"class_name", "__keras_tensor__"},
                       {"config", {{"keras_history", json::array({input[0], input[1], input[2]})}}}});
    if (input.size() == 4 && input[3].is_object())
      for (const auto& [k, v] : input[3].items()) kwargs[k] = v;
  }
  json args = tensors.size() == 1 ? json::array({tensors[0]}) : json::array({tensors});
  return {{"args", args}, {"kwargs", kwargs}};
}

json translate_model(const json& entry, const std::string& where) {
  const std::string cls = entry.at("class_name").get<std::string>();
  json config = entry.at("config");
  if (cls == "Sequential" && config.is_array()) config = {{"name", "sequential"}, {"layers", config}};
  KEEL_CHECK(config.is_object() && config.contains("layers") && config.at("layers").is_array(), ValueError,
             "Invalid ", cls, " config in ", where, ": no \"layers\" list");
  translate_dtype(config);
  json layers = json::array();
  const json& saved = config.at("layers");
  for (size_t i = 0; i < saved.size(); ++i) {
    const json& e = saved[i];
    KEEL_CHECK(is_object_entry(e), ValueError, "Invalid layer entry ", i, " in ", where,
               ": expected {\"class_name\": ..., \"config\": {...}}, got ", e.dump().substr(0, 300));
    json layer = translate_entry(e, where);
    if (cls == "Sequential" && layer.at("config").is_object() && !layer.contains("module") &&
        layer.at("class_name") != "InputLayer" && !is_model_class(layer.at("class_name").get<std::string>())) {
      json& lc = layer["config"];
      const json shape = take_input_shape(lc);
      if (i == 0 && !shape.is_null()) {  // Keras 2 made this layer's input an InputLayer named "<layer>_input"
        json input_config = {{"batch_shape", shape},
                             {"dtype", lc.contains("dtype") && lc.at("dtype").is_string() ? lc.at("dtype") : json("float32")},
                             {"sparse", false},
                             {"name", lc.value("name", std::string("layer")) + "_input"}};
        layers.push_back({{"class_name", "InputLayer"}, {"config", input_config}});
      }
    }
    if (cls != "Sequential" && !layer.contains("module") && layer.at("config").is_object() &&
        layer.at("class_name") != "InputLayer")
      take_input_shape(layer["config"]);  // the graph gives a Functional model's shapes: Keras 2 ignored it
    if (cls != "Sequential" && e.contains("inbound_nodes") && e.at("inbound_nodes").is_array()) {
      json nodes = json::array();
      const std::string name = e.value("name", std::string("?"));
      for (const json& node : e.at("inbound_nodes")) nodes.push_back(translate_node(node, name, where));
      layer["inbound_nodes"] = nodes;
    }
    layers.push_back(std::move(layer));
  }
  config["layers"] = layers;
  if (cls == "Sequential") return {{"module", "keras"}, {"class_name", "Sequential"}, {"config", config}, {"registered_name", nullptr}};
  return {{"module", "keras.src.models.functional"},
          {"class_name", "Functional"},
          {"config", config},
          {"registered_name", "Functional"}};
}

json translate_entry(const json& entry, const std::string& where) {
  const std::string cls = entry.at("class_name").get<std::string>();
  if (is_model_class(cls)) {
    json out = translate_model(entry, where);
    for (const char* key : {"name", "inbound_nodes"})  // a nested model inside a Functional model's layers
      if (entry.contains(key)) out[key] = entry.at(key);
    if (out.contains("inbound_nodes") && out.at("inbound_nodes").is_array()) {
      json nodes = json::array();
      for (const json& node : out.at("inbound_nodes"))
        nodes.push_back(translate_node(node, out.value("name", std::string("?")), where));
      out["inbound_nodes"] = nodes;
    }
    return out;
  }
  if (entry.contains("module")) return entry;  // written by Keras 3: already its form
  return translate_layer(entry, where);
}

json translate_optimizer(const json& optimizer) {
  if (!is_object_entry(optimizer) || optimizer.contains("module")) return optimizer;
  json out = optimizer;
  std::string cls = out.at("class_name").get<std::string>();
  if (cls.rfind("Custom>", 0) == 0) out["class_name"] = cls.substr(7);  // tf.keras 2.11+'s registered name
  json& c = out["config"];
  if (!c.is_object()) return out;
  if (c.contains("lr") && !c.contains("learning_rate")) {
    c["learning_rate"] = c.at("lr");
    c.erase("lr");
  }
  drop_if(c, "decay", {0, 0.0});
  c.erase("jit_compile");  // XLA compilation of the update: the same values
  drop_if(c, "is_legacy_optimizer", {false, true});
  return out;
}

json translate_loss(const json& loss) {
  if (!is_object_entry(loss) || loss.contains("module")) return loss;
  json out = loss;
  out["module"] = "keras.losses";
  if (out["config"].is_object() && out["config"].value("reduction", "") == "auto")
    out["config"]["reduction"] = "sum_over_batch_size";  // what Keras 2's "auto" meant in fit
  return out;
}

// A Keras 2 metric: strings stay; MeanMetricWrapper(fn=f, name=n) becomes the string a Keras user writes.
json translate_metric(const json& metric) {
  if (!is_object_entry(metric) || metric.contains("module")) return metric;
  if (metric.at("class_name") == "MeanMetricWrapper" && metric.at("config").is_object()) {
    const json& c = metric.at("config");
    const std::string name = c.value("name", ""), fn = c.contains("fn") && c.at("fn").is_string() ? c.at("fn").get<std::string>() : "";
    static const std::set<std::string> accuracies = {"binary_accuracy", "categorical_accuracy",
                                                     "sparse_categorical_accuracy"};
    if ((name == "accuracy" || name == "acc") && accuracies.count(fn)) return name;
    if (!fn.empty() && name == fn) return fn;
  }
  json out = metric;
  out["module"] = "keras.metrics";
  return out;
}

json translate_metrics(const json& metrics, const std::string& key, const std::string& where) {
  if (!metrics.is_array()) return metrics;
  json list = metrics;
  // Keras 2.4+ saved one list per output; a single output's list is the list.
  if (!list.empty() && list[0].is_array()) {
    KEEL_CHECK(list.size() == 1, UnimplementedError, "training_config in ", where, ": Keel cannot honour `", key,
               "` given per output (", metrics.dump().substr(0, 300), ")");
    list = list[0];
  }
  json out = json::array();
  for (const json& m : list) out.push_back(translate_metric(m));
  return out;
}

}  // namespace

json keras3_model_config(const json& legacy, const std::string& where) {
  KEEL_CHECK(is_object_entry(legacy), ValueError, "Invalid model_config in ", where,
             ": expected {\"class_name\": ..., \"config\": ...}, got ", legacy.dump().substr(0, 300));
  const std::string cls = legacy.at("class_name").get<std::string>();
  if (!is_model_class(cls)) return legacy;  // the loader names the class it cannot rebuild
  json out = translate_model(legacy, where);
  for (const char* key : {"build_config", "compile_config"})
    if (legacy.contains(key)) out[key] = legacy.at(key);
  return out;
}

json keras3_compile_config(const json& training_config, const std::string& where) {
  KEEL_CHECK(training_config.is_object(), ValueError, "Invalid training_config in ", where, ": ",
             training_config.dump().substr(0, 300));
  json out = json::object();
  for (const auto& [key, value] : training_config.items()) {
    if (key == "optimizer_config") out["optimizer"] = translate_optimizer(value);
    else if (key == "loss") {
      if (value.is_array()) {
        json losses = json::array();
        for (const json& l : value) losses.push_back(translate_loss(l));
        out["loss"] = losses;
      } else {
        out["loss"] = translate_loss(value);
      }
    } else if (key == "metrics" || key == "weighted_metrics") out[key] = translate_metrics(value, key, where);
    else if (key == "sample_weight_mode" && value.is_null()) continue;  // Keras 2.0-2.3, null: per-sample weights
    else out[key] = value;  // the loader checks what is left (unknown keys are refused)
  }
  return out;
}

}  // namespace keel::saving::detail
