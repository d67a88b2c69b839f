// Legacy Keras HDF5 files (keras/src/legacy/saving/legacy_h5_format.py; keras-reference §10.4).
//
// Note [The legacy HDF5 layout]
// A whole-model file has, at its root, the attributes `keras_version` and `backend` (strings),
// `model_config` and, once compiled, `training_config` (JSON as byte strings), then the group
// `model_weights` and, when the optimizer has variables, `optimizer_weights`. A weights group (the root of
// a Keras 2 `save_weights("x.h5")` file, or `model_weights`) lists `layer_names` (byte strings, the
// model's layers in order) and holds one group per layer, named by the layer's name, that lists its
// `weight_names` and holds one dataset per weight at that name, a path below the group ("dense/kernel:0"
// in Keras 2, "sequential/dense/kernel" in Keras 3). `top_level_model_weights` holds the model's own
// weights (none in Keel). Lists longer than 64512 bytes are split into `layer_names0`, `layer_names1`, ...
// Weights load by position: the saved layers that have weights, in `layer_names` order, against the
// model's layers that have weights, each layer's weights in order (trainable, then non-trainable); or,
// with by_name, each saved layer into the model's layers of the same name. As everywhere in Keel, every
// count and shape is checked before anything is assigned.
#include "io/legacy_h5.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "io/atomic_file.h"
#include "io/hdf5.h"
#include "io/legacy_config.h"
#include "io/model_config.h"
#include "io/weights_internal.h"
#include "keel/core/error.h"
#include "keel/optimizers/optimizer.h"

namespace keel::saving::detail {

namespace {

using json = nlohmann::json;

// Keras 3 writes the version it is; Keel writes the Keras layout it follows (as in `.keras` archives). The
// backend names whose array layouts the weights use: Keel's are TensorFlow's (channels-last, HWIO kernels).
constexpr const char* kKerasVersion = "3.10.0";
constexpr const char* kBackend = "tensorflow";
// h5py's limit for an attribute in an object header (keras's HDF5_OBJECT_HEADER_LIMIT).
constexpr size_t kAttributeLimit = 64512;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}


json parse_json(const std::string& text, const std::string& where) {
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw ValueError("Malformed JSON in " + where + " at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const json::exception& e) {
    throw ValueError("Malformed JSON in " + where + ": " + e.what());
  }
}

// A layer's weights in Keras's legacy order (keras's _legacy_weights): trainable, then non-trainable.
std::vector<Variable> legacy_weights(const Layer& layer) {
  std::vector<Variable> out = layer.trainable_weights();
  for (const Variable& v : layer.non_trainable_weights()) out.push_back(v);
  return out;
}


// --- writing ---

// keras's save_attributes_to_hdf5_group: one attribute, or `name0`, `name1`, ... when the NumPy array of
// byte strings (each as wide as the longest) would exceed the object-header limit.
void write_list_attribute(const h5::Group& g, const std::string& name, const std::vector<std::string>& values) {
  size_t width = 1;
  for (const auto& v : values) {
    KEEL_CHECK(v.size() <= kAttributeLimit, ValueError, "The following attributes cannot be saved to HDF5 file because ",
               "they are larger than ", kAttributeLimit, " bytes: ", v.substr(0, 100), "...");
    width = std::max(width, v.size());
  }
  size_t chunks = 1;
  auto chunk_begin = [&](size_t k) {  // np.array_split: the first n % chunks pieces are one longer
    const size_t n = values.size(), base = n / chunks, extra = n % chunks;
    return k * base + std::min(k, extra);
  };
  auto fits = [&] {
    for (size_t k = 0; k < chunks; ++k)
      if ((chunk_begin(k + 1) - chunk_begin(k)) * width > kAttributeLimit) return false;
    return true;
  };
  while (!fits()) ++chunks;
  if (chunks == 1) {
    g.write_bytes_list_attribute(name, values);
    return;
  }
  for (size_t k = 0; k < chunks; ++k)
    g.write_bytes_list_attribute(name + std::to_string(k), std::vector<std::string>(values.begin() + chunk_begin(k),
                                                                                    values.begin() + chunk_begin(k + 1)));
}

void write_weights(const h5::Group& g, const std::vector<Variable>& weights) {
  std::vector<std::string> names;
  for (const Variable& w : weights) names.push_back(w.path());
  write_list_attribute(g, "weight_names", names);
  for (size_t i = 0; i < weights.size(); ++i) {
    const Tensor t = host_value(weights[i]);
    g.write_dataset(names[i], t.dtype(), t.shape(), t.data_ptr());
  }
}

// --- reading ---

// keras's load_attributes_from_hdf5_group: the attribute, or its chunks; nullopt when neither exists.
std::optional<std::vector<std::string>> read_list_attribute(const h5::Group& g, const std::string& name) {
  if (auto whole = g.string_list_attribute(name)) return whole;
  std::optional<std::vector<std::string>> out;
  for (int k = 0;; ++k) {
    auto part = g.string_list_attribute(name + std::to_string(k));
    if (!part) break;
    if (!out) out.emplace();
    out->insert(out->end(), part->begin(), part->end());
  }
  return out;
}

// The weights one saved layer (or top_level_model_weights, or optimizer_weights) holds.
struct SavedGroup {
  std::string name;
  std::vector<std::string> weight_names;
  std::vector<Tensor> values;
};

SavedGroup read_group(const h5::Group& parent, const std::string& name, const std::string& file) {
  KEEL_CHECK(parent.kind_of(name) == h5::ObjectKind::group, ValueError, "Invalid legacy Keras weights in '", file,
             "': '", parent.path(), "' lists layer '", name, "', but '", name, "' is not a group there");
  const h5::Group g = parent.open_group(name);
  SavedGroup out{name, read_list_attribute(g, "weight_names").value_or(std::vector<std::string>{}), {}};
  for (const std::string& w : out.weight_names) {
    KEEL_CHECK(!w.empty() && g.kind_of(w) == h5::ObjectKind::dataset, ValueError, "Invalid legacy Keras weights in '",
               file, "': group '", g.path(), "' lists weight '", w, "', but holds no dataset of that name");
    const h5::Dataset d = g.open_dataset(w);
    const h5::DatasetInfo info = d.info();
    KEEL_CHECK(info.dtype.has_value(), ValueError, "Invalid legacy Keras weights in '", file, "': dataset '", d.path(),
               "' holds ", info.type_description, " values, not numbers");
    Tensor value = empty(info.shape, *info.dtype, Device::cpu());
    d.read(*info.dtype, value.data_ptr());
    out.values.push_back(std::move(value));
  }
  return out;
}

// The weights group of a legacy file: its root when that lists layer_names, else `model_weights`.
struct SavedWeights {
  std::vector<SavedGroup> layers;  // in layer_names order
  std::optional<SavedGroup> top_level;
};

SavedWeights read_weights(const h5::Group& root, const std::string& file) {
  std::optional<h5::Group> model_weights;
  if (!root.has_attribute("layer_names") && !root.has_attribute("layer_names0") &&
      root.kind_of("model_weights") == h5::ObjectKind::group)
    model_weights.emplace(root.open_group("model_weights"));
  const h5::Group& g = model_weights ? *model_weights : root;
  const auto names = read_list_attribute(g, "layer_names");
  KEEL_CHECK(names.has_value(), ValueError, "'", file,
             "' is not a legacy Keras weights file: it has no `layer_names` attribute at its root and no "
             "`model_weights` group (Keras 3's weight files end in `.weights.h5`)");
  SavedWeights out;
  for (const std::string& name : *names) out.layers.push_back(read_group(g, name, file));
  if (g.kind_of("top_level_model_weights") == h5::ObjectKind::group)
    out.top_level = read_group(g, "top_level_model_weights", file);
  return out;
}

// Pairs of variable and value to assign, collected before anything is assigned.
using Assignments = std::vector<std::pair<Variable, Tensor>>;

// keras's _set_weights: shapes must match (skip_mismatch: skip that weight with a warning).
void match_weights(const std::vector<Variable>& vars, const SavedGroup& saved, const std::string& who,
                   const std::string& file, bool skip_mismatch, Assignments& out) {
  for (size_t i = 0; i < saved.values.size(); ++i) {
    const Tensor& value = saved.values[i];
    KEEL_CHECK(same_kind(value.dtype(), vars[i].dtype()), ValueError, "Invalid legacy Keras weights in '", file,
               "': ", who, ", weight ", vars[i].path(), " is ", dtype_name(vars[i].dtype()), ", but '",
               saved.name, "/", saved.weight_names[i], "' holds ", dtype_name(value.dtype()), " values");
    if (value.shape() != vars[i].shape()) {
      const std::string message = "Shape mismatch in " + who + " for weight " + vars[i].path() +
                                  ". Weight expects shape " + shape_tuple(vars[i].shape()) +
                                  ". Received saved weight with shape " + shape_tuple(value.shape()) + " (" +
                                  saved.name + "/" + saved.weight_names[i] + " in '" + file + "')";
      if (!skip_mismatch) throw ValueError(message);
      std::cerr << "UserWarning: Skipping loading weights for " << who << " due to mismatch in shape for weight "
                << vars[i].path() << ". Weight expects shape " << shape_tuple(vars[i].shape())
                << ". Received saved weight with shape " << shape_tuple(value.shape()) << "\n";
      continue;
    }
    out.emplace_back(vars[i], value);
  }
}

std::string count_mismatch(size_t k, const Layer& layer, const SavedGroup& saved, size_t expected) {
  return "Weight count mismatch for layer #" + std::to_string(k) + " (named " + layer.name() +
         " in the current model, " + saved.name + " in the save file). Layer expects " + std::to_string(expected) +
         " weight(s). Received " + std::to_string(saved.values.size()) + " saved weight(s)";
}

void match_top_level(const SavedWeights& saved, const std::string& file) {
  if (!saved.top_level) return;
  // Keel's models have no weights of their own: the layers hold them all.
  KEEL_CHECK(saved.top_level->values.empty(), ValueError, "Weight count mismatch for top-level weights when loading ",
             "weights from '", file, "'. Expected 0 weights, got ", saved.top_level->values.size(), " weights");
}

Assignments match_by_position(const ModelImpl& model, const SavedWeights& saved, const std::string& file,
                              bool skip_mismatch) {
  std::vector<LayerHandle> layers;
  for (const LayerHandle& l : model.layers())
    if (!legacy_weights(*l).empty()) layers.push_back(l);
  std::vector<const SavedGroup*> groups;
  for (const SavedGroup& g : saved.layers)
    if (!g.weight_names.empty()) groups.push_back(&g);
  KEEL_CHECK(groups.size() == layers.size(), ValueError, "Layer count mismatch when loading weights from file '", file,
             "'. Model expected ", layers.size(), " layers, found ", groups.size(), " saved layers.");
  Assignments out;
  for (size_t k = 0; k < layers.size(); ++k) {
    const std::vector<Variable> vars = legacy_weights(*layers[k]);
    KEEL_CHECK(vars.size() == groups[k]->values.size(), ValueError, count_mismatch(k, *layers[k], *groups[k], vars.size()));
    match_weights(vars, *groups[k], "layer #" + std::to_string(k) + " (named " + layers[k]->name() + ")", file,
                  skip_mismatch, out);
  }
  match_top_level(saved, file);
  return out;
}

Assignments match_by_name(const ModelImpl& model, const SavedWeights& saved, const std::string& file,
                          bool skip_mismatch) {
  std::map<std::string, std::vector<LayerHandle>> index;
  for (const LayerHandle& l : model.layers()) index[l->name()].push_back(l);
  Assignments out;
  for (size_t k = 0; k < saved.layers.size(); ++k) {
    const SavedGroup& g = saved.layers[k];
    auto it = index.find(g.name);
    if (it == index.end()) continue;
    for (const LayerHandle& layer : it->second) {
      const std::vector<Variable> vars = legacy_weights(*layer);
      if (vars.size() != g.values.size()) {
        const std::string message = count_mismatch(k, *layer, g, vars.size());
        if (!skip_mismatch) throw ValueError(message);
        std::cerr << "UserWarning: Skipping loading of weights for layer #" << k << " (named " << layer->name()
                  << ") due to mismatch in number of weights. " << message << "\n";
        continue;
      }
      match_weights(vars, g, "layer #" + std::to_string(k) + " (named " + layer->name() + ")", file, skip_mismatch,
                    out);
    }
  }
  match_top_level(saved, file);
  return out;
}

// Note [Keras 2's optimizer state]
// Keras 2's optimizers stored other variables than Keras 3's (and Keel's): no learning-rate variable, and
// names ending ":0". tf.keras up to 2.10 (OptimizerV2) wrote "Adam/iter:0", then one group per slot, each
// in the order of the model's trainable variables: "Adam/dense/kernel/m:0", ..., "Adam/dense/kernel/v:0",
// ...; tf.keras 2.11+ wrote "Adam/iteration:0" and the slots interleaved per variable,
// "Adam/m/dense/kernel:0", "Adam/v/dense/kernel:0". The update rules are the same as Keras 3's for the
// optimizers below, so their state maps onto Keel's slots: the iteration count, and each saved slot
// (by its Keras 2 name) into Keel's slot of the same model variable (by position among the trainable
// variables, checked by shape). The learning rate comes from the training_config. Keras 3 does not map
// them (it starts a fresh optimizer); Keel does where every variable finds its place, and otherwise falls
// back to Keras 3's behaviour.
std::string keras3_slot(const std::string& optimizer_class, const std::string& keras2_slot) {
  static const std::map<std::string, std::map<std::string, std::string>> slots = {
      {"Adam", {{"m", "momentum"}, {"v", "velocity"}, {"vhat", "velocity_hat"}}},
      {"SGD", {{"momentum", "momentum"}, {"m", "momentum"}}},
      {"RMSprop",
       {{"rms", "velocity"}, {"velocity", "velocity"}, {"momentum", "momentum"}, {"mg", "average_gradient"},
        {"average_gradient", "average_gradient"}}},
      {"Adagrad", {{"accumulator", "accumulator"}}},
  };
  auto it = slots.find(optimizer_class);
  if (it == slots.end()) return {};
  auto slot = it->second.find(keras2_slot);
  return slot == it->second.end() ? std::string() : slot->second;
}

// The assignments that put a Keras 2 optimizer_weights group into `optimizer`; nullopt when it is not one
// or does not fit entirely.
std::optional<Assignments> keras2_optimizer_state(const Optimizer& optimizer, const SavedGroup& saved) {
  const std::vector<Variable>& vars = optimizer.variables();
  const std::vector<Variable>& model_vars = optimizer.trainable_variables();
  auto keel_variable = [&](const std::string& name) -> const Variable* {
    for (const Variable& v : vars)
      if (v.name() == name) return &v;
    return nullptr;
  };
  Assignments out;
  std::map<std::string, size_t> seen_per_slot;  // OptimizerV2: the position within the slot's group
  bool iteration = false;
  for (size_t i = 0; i < saved.weight_names.size(); ++i) {
    std::string name = saved.weight_names[i];
    if (name.size() < 2 || name.compare(name.size() - 2, 2, ":0") != 0) return std::nullopt;
    name.resize(name.size() - 2);
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      const size_t slash = name.find('/', start);
      parts.push_back(name.substr(start, slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    const Tensor& value = saved.values[i];
    if (parts.size() == 2 && (parts[1] == "iter" || parts[1] == "iteration" || parts[1] == "iterations")) {
      if (value.numel() != 1) return std::nullopt;
      out.emplace_back(vars[0], value.astype(vars[0].dtype()).reshape(vars[0].shape()));
      iteration = true;
      continue;
    }
    if (parts.size() < 3) return std::nullopt;
    // tf.keras 2.11+: "<opt>/<slot>/<variable path>"; OptimizerV2: "<opt>/<variable path>/<slot>".
    std::string slot = keras3_slot(optimizer.class_name(), parts[1]);
    const bool interleaved = !slot.empty() && keras3_slot(optimizer.class_name(), parts.back()).empty();
    if (!interleaved) slot = keras3_slot(optimizer.class_name(), parts.back());
    if (slot.empty()) return std::nullopt;
    const size_t index = seen_per_slot[slot]++;  // both layouts list each slot in the variables' order
    if (index >= model_vars.size()) return std::nullopt;
    std::string keel_name = model_vars[index].path();
    std::replace(keel_name.begin(), keel_name.end(), '/', '_');
    const Variable* target = keel_variable(keel_name + "_" + slot);
    if (target == nullptr || target->shape() != value.shape() || !same_kind(target->dtype(), value.dtype()))
      return std::nullopt;
    out.emplace_back(*target, value);
  }
  // Every slot of every variable, and the iteration count, must have come from the file.
  size_t slots = 0;
  for (const auto& [slot, count] : seen_per_slot) {
    if (count != model_vars.size()) return std::nullopt;
    slots += count;
  }
  const size_t keel_slots = vars.size() - 2;  // all but iteration and learning_rate
  if (!iteration || slots != keel_slots) return std::nullopt;
  return out;
}

void assign_all(const Assignments& assignments) {
  for (const auto& [var, value] : assignments) var.assign(value);
}

void check_built(const ModelImpl& model) {
  KEEL_CHECK(model.built(), ValueError,
             "You are loading weights into a model that has not yet been built. Try building the model first by "
             "calling it on some data or by using `build()`.");
}

}  // namespace

bool is_legacy_h5_path(const std::string& path) {
  return (ends_with(path, ".h5") || ends_with(path, ".hdf5")) && !ends_with(path, ".weights.h5");
}

void save_legacy_model(const ModelImpl& model, const std::string& path) {
  KEEL_CHECK(model.built(), ValueError, "model.save: the model '", model.name(),
             "' is not built yet; build it (call it on data, or give it an Input) before saving");
  std::cerr << "WARNING: You are saving your model as an HDF5 file via `model.save()`. This file format is "
               "considered legacy. We recommend using instead the native Keras format, e.g. "
               "`model.save(\"my_model.keras\")`.\n";
  const json serialized = serialize_model(model);
  const json model_config = {{"class_name", serialized.at("class_name")}, {"config", serialized.at("config")}};
  std::optional<json> training_config;
  if (serialized.contains("compile_config")) {
    training_config = serialized.at("compile_config");
    const json optimizer = training_config->at("optimizer");
    training_config->erase("optimizer");  // saved apart, as keras's model_metadata does
    (*training_config)["optimizer_config"] = {{"class_name", optimizer.at("class_name")},
                                              {"config", optimizer.at("config")}};
  }
  const std::string model_text = model_config.dump();
  const std::string training_text = training_config ? training_config->dump() : std::string();
  std::vector<Variable> optimizer_variables;
  if (model.compiled() && model.optimizer_ptr()) optimizer_variables = model.optimizer().variables();

  std::string image;
  {
    h5::Hdf5Session session;
    // Attributes beyond 64 KiB need HDF5 1.8's format (Keras's own saver fails on such models).
    h5::File file = std::max(model_text.size(), training_text.size()) < kAttributeLimit
                        ? h5::File::create_in_memory(path)
                        : h5::File::create_in_memory_large_attributes(path);
    {
      const h5::Group root = file.root();
      root.write_string_attribute("keras_version", kKerasVersion);
      root.write_string_attribute("backend", kBackend);
      root.write_bytes_attribute("model_config", model_text);
      if (training_config) root.write_bytes_attribute("training_config", training_text);

      const h5::Group weights = root.create_group("model_weights");
      std::vector<std::string> names;
      for (const LayerHandle& l : model.layers()) names.push_back(l->name());
      write_list_attribute(weights, "layer_names", names);
      weights.write_bytes_attribute("backend", kBackend);
      weights.write_bytes_attribute("keras_version", kKerasVersion);
      std::vector<LayerHandle> sorted = model.layers();  // keras sorts the groups by name
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const LayerHandle& a, const LayerHandle& b) { return a->name() < b->name(); });
      for (const LayerHandle& l : sorted) write_weights(weights.create_group(l->name()), legacy_weights(*l));
      write_weights(weights.create_group("top_level_model_weights"), {});
      if (!optimizer_variables.empty()) write_weights(root.create_group("optimizer_weights"), optimizer_variables);
    }
    image = file.close_to_image();
  }
  write_atomically(path, [&](const std::string& temp_path) { write_file(temp_path, image, path); });
}

Model load_legacy_model(const std::string& path, const LoadOptions& options) {
  std::optional<std::string> model_text, training_text;
  {
    h5::Hdf5Session session;
    h5::File file = h5::File::open_read(path);
    const h5::Group root = file.root();
    for (const char* name : {"model_config", "training_config"}) {
      std::optional<std::string> text = root.string_attribute(name);
      KEEL_CHECK(text || !root.has_attribute(name), ValueError, "Invalid legacy Keras model file '", path,
                 "': its attribute `", name, "` is not a string");
      (std::string(name) == "model_config" ? model_text : training_text) = std::move(text);
    }
  }
  KEEL_CHECK(model_text.has_value(), ValueError, "No model config found in the file at '", path,
             "' (a weights-only file: build the model and call model.load_weights on it)");
  const std::string config_where = "attribute `model_config` of '" + path + "'";
  json config = keras3_model_config(parse_json(*model_text, config_where), config_where);
  if (options.compile && training_text) {
    const std::string where = "attribute `training_config` of '" + path + "'";
    config["compile_config"] = keras3_compile_config(parse_json(*training_text, where), where);
  } else if (options.compile) {
    std::cerr << "WARNING: No training configuration found in the save file, so the model was *not* compiled. "
                 "Compile it manually.\n";
  }
  Model model;
  try {
    model = deserialize_model(config, options, config_where);
  } catch (const json::exception& e) {
    throw ValueError("Invalid model config in " + config_where + ": " + e.what());
  }
  const ModelImpl& impl = *model.get();

  SavedWeights saved;
  std::optional<SavedGroup> optimizer_saved;
  {
    h5::Hdf5Session session;
    h5::File file = h5::File::open_read(path);
    const h5::Group root = file.root();
    KEEL_CHECK(root.kind_of("model_weights") == h5::ObjectKind::group, ValueError, "Invalid legacy Keras model file '",
               path, "': it has a model_config but no `model_weights` group");
    saved = read_weights(root.open_group("model_weights"), path);
    if (impl.compiled() && root.kind_of("optimizer_weights") == h5::ObjectKind::group) {
      optimizer_saved = read_group(root, "optimizer_weights", path);
    }
  }
  Assignments assignments = match_by_position(impl, saved, path, false);
  if (optimizer_saved) {
    // keras: the optimizer state loads when it fits; otherwise a warning and a fresh optimizer. Keel also
    // maps Keras 2's layouts (Note [Keras 2's optimizer state]).
    const std::vector<Variable> vars = impl.optimizer().variables();
    bool fits = vars.size() == optimizer_saved->values.size();
    for (size_t i = 0; fits && i < vars.size(); ++i)
      fits = vars[i].shape() == optimizer_saved->values[i].shape() &&
             same_kind(vars[i].dtype(), optimizer_saved->values[i].dtype());
    std::optional<Assignments> keras2;
    if (!fits) keras2 = keras2_optimizer_state(impl.optimizer(), *optimizer_saved);
    if (fits) {
      for (size_t i = 0; i < vars.size(); ++i) assignments.emplace_back(vars[i], optimizer_saved->values[i]);
    } else if (keras2) {
      assignments.insert(assignments.end(), keras2->begin(), keras2->end());
    } else {
      std::cerr << "WARNING: Error in loading the saved optimizer state from '" << path << "' (the file holds "
                << optimizer_saved->values.size() << " optimizer variables, Keel's " << impl.optimizer().class_name()
                << " has " << vars.size() << " with other shapes or count). As a result, your model is starting "
                << "with a freshly initialized optimizer.\n";
    }
  }
  assign_all(assignments);
  return model;
}

void load_legacy_weights(const ModelImpl& model, const std::string& path, LoadWeightsOptions options) {
  check_built(model);
  SavedWeights saved;
  {
    h5::Hdf5Session session;
    h5::File file = h5::File::open_read(path);
    saved = read_weights(file.root(), path);
  }
  assign_all(options.by_name ? match_by_name(model, saved, path, options.skip_mismatch)
                             : match_by_position(model, saved, path, options.skip_mismatch));
}

}  // namespace keel::saving::detail
