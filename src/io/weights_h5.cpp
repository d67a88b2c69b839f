// model.save_weights / model.load_weights in Keras 3's `.weights.h5` layout (keel/io/weights.h).
//
// Note [Keras's object walk]
// Keras (saving_lib._save_state / _load_state) visits the saveable objects reachable from the model:
// each one with save_own_variables gets `<path>/vars` with attribute `name` (the object's name) and its
// own variables as datasets "0", "1", ... (a layer's: trainable then non-trainable, creation order); the
// root's path is "" (group `/vars`). Children are visited after the object: for Sequential and
// Functional first the `layers` list, whose items are named by snake-cased class name made unique in
// list order (dense, dense_1, ...), then every other attribute in sorted order with names starting with
// "_" last, skipping what a bare Layer has. An object already visited is skipped, so it lands under the
// first path that reaches it. What carries state in Keel's objects:
//   - models: `layers`, then `optimizer` once compiled (metrics and losses save nothing);
//   - layers: their tracked sub-layers under the attribute names they were tracked with
//     (Layer::tracked_attributes());
//   - Keras objects without variables that Keel's layers have no object for but Keras still writes an
//     empty `vars` group for (MultiHeadAttention's `_dropout_layer` and `_softmax`): kStatelessChildren.
// Loading walks the same tree. A missing group reads as no variables, as Keras's H5IOStore.get does.
#include "keel/io/weights.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "core/tensor_internals.h"
#include "io/atomic_file.h"
#include "io/hdf5.h"
#include "io/legacy_h5.h"
#include "io/weights_internal.h"
#include "keel/core/error.h"
#include "keel/core/naming.h"
#include "keel/optimizers/optimizer.h"

namespace keel {
namespace saving {

namespace {

constexpr const char* kExtension = ".weights.h5";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string join(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "/" + child;
}

// Keras's _name_key: private attributes ("_x") sort after public ones.
std::string sort_key(const std::string& attribute) {
  return !attribute.empty() && attribute[0] == '_' ? "~" + attribute : attribute;
}

// Sub-objects without variables that Keras's layer of this class holds in attributes of its own; Keras
// writes an empty `vars` group (with the object's name) for each. Keel's layer computes the same thing
// without a separate object. {attribute, Keras class}.
struct StatelessChild {
  const char* attribute;
  const char* class_name;
};
const std::map<std::string, std::vector<StatelessChild>>& stateless_children() {
  static const std::map<std::string, std::vector<StatelessChild>> table = {
      // keras/src/layers/attention/multi_head_attention.py, _build_attention().
      {"MultiHeadAttention", {{"_dropout_layer", "Dropout"}, {"_softmax", "Softmax"}}},
  };
  return table;
}

// One object of the walk: where its variables go, and what it is for messages.
struct Saveable {
  enum class Kind { layer, optimizer };
  Kind kind = Kind::layer;
  std::string path;         // "" for the model itself
  std::string name;         // the `name` attribute
  std::string repr;         // "<Dense name=dense_1, built=True>", as Keras prints objects in its messages
  std::string layer_name;   // for messages: the layer or optimizer name
  std::vector<Variable> variables;

  std::string group_path() const { return path.empty() ? "vars" : path + "/vars"; }
};

std::string layer_repr(const Layer& layer) {
  return "<" + layer.class_name() + " name=" + layer.name() + ", built=" + (layer.built() ? "True" : "False") + ">";
}

class Walker {
 public:
  std::vector<Saveable> walk(const ModelImpl& model) {
    visit_layer(model, "");
    return std::move(out_);
  }

 private:
  void visit_layer(const Layer& layer, const std::string& path) {
    if (!visited_.insert(&layer).second) return;
    Saveable s;
    s.path = path;
    s.name = layer.name();
    s.repr = layer_repr(layer);
    s.layer_name = layer.name();
    s.variables = layer.own_weights();
    out_.push_back(std::move(s));

    const auto* model = dynamic_cast<const ModelImpl*>(&layer);
    if (model != nullptr) {
      std::vector<const Layer*> layers;
      for (const LayerHandle& l : model->layers()) layers.push_back(l.get());
      visit_container(layers, join(path, "layers"));
    }

    // The other attributes, in Keras's order. A model's tracked layers are its `layers` container.
    struct Child {
      std::string attribute;
      const Layer* layer = nullptr;
      const char* stateless_class = nullptr;
    };
    std::vector<Child> children;
    const auto& tracked = layer.tracked_layers();
    const auto& attributes = layer.tracked_attributes();
    for (size_t i = 0; i < tracked.size(); ++i)
      if (model == nullptr || attributes[i] != "layers") children.push_back({attributes[i], tracked[i].get()});
    if (layer.built())
      if (auto it = stateless_children().find(layer.class_name()); it != stateless_children().end())
        for (const StatelessChild& c : it->second) children.push_back({c.attribute, nullptr, c.class_name});
    if (model != nullptr && model->compiled() && model->optimizer_ptr())
      children.push_back({"optimizer", nullptr, nullptr});
    std::stable_sort(children.begin(), children.end(),
                     [](const Child& a, const Child& b) { return sort_key(a.attribute) < sort_key(b.attribute); });
    for (size_t i = 0; i < children.size(); ++i) {
      const Child& c = children[i];
      const std::string child_path = join(path, c.attribute);
      if (c.layer != nullptr) {
        // Several sub-layers under one attribute are a list (Keras: `self.blocks = [...]`): a container.
        std::vector<const Layer*> list{c.layer};
        while (i + 1 < children.size() && children[i + 1].layer != nullptr && children[i + 1].attribute == c.attribute)
          list.push_back(children[++i].layer);
        if (list.size() == 1) visit_layer(*c.layer, child_path);
        else visit_container(list, child_path);
      } else if (c.stateless_class != nullptr) {
        Saveable s;
        s.path = child_path;
        s.name = naming::to_snake_case(c.stateless_class);
        s.repr = keel::detail::cat("<", c.stateless_class, " name=", s.name, ", built=True>");
        s.layer_name = s.name;
        out_.push_back(std::move(s));
      } else {
        visit_optimizer(*model->optimizer_ptr(), child_path);
      }
    }
  }

  void visit_container(const std::vector<const Layer*>& layers, const std::string& path) {
    std::map<std::string, int> used;
    for (const Layer* l : layers) {
      std::string name = naming::to_snake_case(l->class_name());
      auto [it, fresh] = used.emplace(name, 0);
      if (!fresh) name = keel::detail::cat(name, "_", ++it->second);
      visit_layer(*l, join(path, name));
    }
  }

  void visit_optimizer(const Optimizer& optimizer, const std::string& path) {
    if (!visited_.insert(&optimizer).second) return;
    Saveable s;
    s.kind = Saveable::Kind::optimizer;
    s.path = path;
    s.name = optimizer.name();
    s.repr = "<" + optimizer.class_name() + " name=" + optimizer.name() + ">";
    s.layer_name = optimizer.name();
    s.variables = optimizer.variables();
    out_.push_back(std::move(s));
  }

  std::set<const void*> visited_;
  std::vector<Saveable> out_;
};


using detail::host_value;
using detail::same_kind;
using detail::shape_tuple;

std::string variable_names(const std::vector<Variable>& vars) {
  std::string out = "[";
  for (size_t i = 0; i < vars.size(); ++i) out += (i ? ", '" : "'") + vars[i].name() + "'";
  return out + "]";
}



void check_built(const ModelImpl& model, const char* doing) {
  KEEL_CHECK(model.built(), ValueError, "You are ", doing,
             " a model that has not yet been built. Try building the model first by calling it on some data "
             "or by using `build()`.");
}

// What loading one object produced: the values to assign, or why it failed.
struct Loaded {
  std::vector<Tensor> values;
  std::string error;            // empty: loaded
  bool count_mismatch = false;  // the file holds another number of variables (saved_count)
  size_t saved_count = 0;
};

// Reads the saved variables of `s`; an error message for a count/shape/dtype mismatch or a bad layout
// (Keras's per-object failures), an exception for a file HDF5 cannot read.
Loaded read_saveable(const h5::Group& root, const Saveable& s, const std::string& file) {
  Loaded result;
  std::vector<std::string> keys;
  std::optional<h5::Group> vars;
  switch (root.kind_of(s.group_path())) {
    case h5::ObjectKind::missing: break;  // no variables saved for this object
    case h5::ObjectKind::group:
      vars.emplace(root.open_group(s.group_path()));
      keys = vars->member_names();
      break;
    default:
      result.error = "Invalid weights file '" + file + "': '/" + s.group_path() +
                     "' should be a group of variables but is not a group";
      return result;
  }
  const std::string who = s.kind == Saveable::Kind::optimizer ? "Optimizer '" + s.layer_name + "'"
                                                               : "Layer '" + s.layer_name + "'";
  result.saved_count = keys.size();
  if (keys.size() != s.variables.size()) {
    result.count_mismatch = true;
    result.error = who + " expected " + std::to_string(s.variables.size()) + " variables, but received " +
                   std::to_string(keys.size()) + " variables during loading. Expected: " + variable_names(s.variables);
    return result;
  }
  for (size_t i = 0; i < s.variables.size(); ++i) {
    const Variable& var = s.variables[i];
    const std::string key = std::to_string(i);
    const std::string where = keel::detail::cat("/", s.group_path(), "/", key);
    if (std::find(keys.begin(), keys.end(), key) == keys.end() || vars->kind_of(key) != h5::ObjectKind::dataset) {
      std::string held;
      for (const auto& k : keys) held += (held.empty() ? "" : ", ") + k;
      result.error = "Invalid weights file '" + file + "': " + who + " needs a dataset '" + where +
                     "' for variable '" + var.name() + "', but '/" + s.group_path() + "' holds [" + held + "]";
      return result;
    }
    h5::Dataset d = vars->open_dataset(key);
    const h5::DatasetInfo info = d.info();
    if (!info.dtype || !same_kind(*info.dtype, var.dtype())) {
      result.error = "Invalid weights file '" + file + "': " + who + ", variable '" + var.name() + "' (" + var.path() +
                     ") is " + std::string(dtype_name(var.dtype())) + ", but dataset '" + where + "' holds " +
                     info.type_description + " values";
      return result;
    }
    if (info.shape != var.shape()) {
      result.error = who + ": variable '" + var.name() + "' (" + var.path() + ") has shape " +
                     shape_tuple(var.shape()) + ", but the weights file holds shape " + shape_tuple(info.shape) +
                     " for it at '" + where + "'";
      return result;
    }
    Tensor value = empty(info.shape, *info.dtype, Device::cpu());
    d.read(*info.dtype, value.data_ptr());
    result.values.push_back(std::move(value));
  }
  return result;
}

}  // namespace

namespace detail {

std::string shape_tuple(const Shape& shape) {
  std::ostringstream os;
  os << '(';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << (shape.size() == 1 ? ",)" : ")");
  return os.str();
}

bool same_kind(DType a, DType b) {
  if (is_floating(a) || is_floating(b)) return is_floating(a) && is_floating(b);
  if (is_integral(a) || is_integral(b)) return is_integral(a) && is_integral(b);
  return a == b;  // bool
}

Tensor host_value(const Variable& v) {
  Tensor t = v.value().detach();
  if (!t.device().is_cpu()) t = keel::detail::copy_to_device(t, Device::cpu());
  return keel::detail::contiguous_cpu(t);
}

std::string weights_image(const ModelImpl& impl, const std::string& display_path) {
  check_built(impl, "saving");
  const std::vector<Saveable> saveables = Walker().walk(impl);
  // Copy the values out first: nothing below runs Keel code while HDF5 is held.
  std::vector<std::vector<Tensor>> values;
  for (const Saveable& s : saveables) {
    std::vector<Tensor> v;
    for (const Variable& var : s.variables) v.push_back(host_value(var));
    values.push_back(std::move(v));
  }
  // The HDF5 file is built in memory (see h5::File::create_in_memory); the caller writes the bytes out.
  h5::Hdf5Session session;
  h5::File file = h5::File::create_in_memory(display_path);
  {
    const h5::Group root = file.root();
    for (size_t k = 0; k < saveables.size(); ++k) {
      const h5::Group vars = root.create_group(saveables[k].group_path());
      vars.write_string_attribute("name", saveables[k].name);
      for (size_t i = 0; i < values[k].size(); ++i) {
        const Tensor& t = values[k][i];
        vars.write_dataset(std::to_string(i), t.dtype(), t.shape(), t.data_ptr());
      }
    }
  }
  return file.close_to_image();
}

void load_weights_from(const ModelImpl& impl, const std::function<h5::File()>& open, const std::string& path,
                       LoadWeightsOptions options) {
  check_built(impl, "loading weights into");
  const std::vector<Saveable> saveables = Walker().walk(impl);

  // Read and check everything before assigning anything.
  std::vector<Loaded> loaded;
  {
    h5::Hdf5Session session;
    h5::File file = open();
    const h5::Group root = file.root();
    for (const Saveable& s : saveables) loaded.push_back(read_saveable(root, s, path));
  }
  std::vector<std::string> warnings;
  std::vector<size_t> failed;
  for (size_t k = 0; k < saveables.size(); ++k) {
    if (loaded[k].error.empty()) continue;
    const Saveable& s = saveables[k];
    if (s.kind == Saveable::Kind::optimizer && loaded[k].count_mismatch) {
      // Keras loads an optimizer only when it has as many variables as the file, else warns and goes on.
      const size_t saved = loaded[k].saved_count;
      std::string w = "Skipping variable loading for optimizer '" + s.layer_name + "', because it has " +
                      std::to_string(s.variables.size()) + " variables whereas the saved optimizer has " +
                      std::to_string(saved) + " variables.";
      if (!impl.optimizer().built())
        w += " This is likely because the optimizer has not been built yet: build it first with "
             "model.optimizer().build(model.trainable_weights()).";
      warnings.push_back(std::move(w));
      loaded[k].values.clear();
      continue;
    }
    failed.push_back(k);
  }
  std::string failure;
  if (!failed.empty()) {
    const Saveable& first = saveables[failed.front()];
    failure = "A total of " + std::to_string(failed.size()) + " objects could not be loaded from '" + path +
              "'. Example error message for object " + first.repr + ":\n\n" + loaded[failed.front()].error +
              "\n\nList of objects that could not be loaded:\n[";
    for (size_t i = 0; i < failed.size(); ++i) failure += (i ? ", " : "") + saveables[failed[i]].repr;
    failure += "]";
  }
  for (const std::string& w : warnings) std::cerr << "UserWarning: " << w << "\n";
  if (!failed.empty() && !options.skip_mismatch) throw ValueError(failure);
  if (!failed.empty()) std::cerr << "UserWarning: " << failure << "\n";

  for (size_t k = 0; k < saveables.size(); ++k) {
    if (!loaded[k].error.empty()) continue;
    for (size_t i = 0; i < saveables[k].variables.size(); ++i) saveables[k].variables[i].assign(loaded[k].values[i]);
  }
}

}  // namespace detail

void save_weights(const Model& model, const std::string& path) {
  KEEL_CHECK(model, ValueError, "save_weights: the model handle is empty");
  KEEL_CHECK(ends_with(path, kExtension), ValueError, "The filename must end in `.weights.h5`. Received: filepath=",
             path);
  const std::string image = detail::weights_image(*model.get(), path);
  detail::write_atomically(path, [&](const std::string& temp_path) { detail::write_file(temp_path, image, path); });
}

void load_weights(const Model& model, const std::string& path, LoadWeightsOptions options) {
  KEEL_CHECK(model, ValueError, "load_weights: the model handle is empty");
  check_built(*model.get(), "loading weights into");
  if (detail::is_legacy_h5_path(path)) return detail::load_legacy_weights(*model.get(), path, options);
  KEEL_CHECK(!options.by_name, ValueError, "Invalid keyword arguments: by_name applies to legacy `.h5`/`.hdf5` "
             "files only. Received: filepath=", path);
  if (!ends_with(path, kExtension)) {
    if (ends_with(path, ".keras")) {  // the archive's model.weights.h5
      const std::string where = path + "/model.weights.h5";
      const std::string image = detail::archive_weights(path);
      detail::load_weights_from(*model.get(), [&] { return h5::File::open_image(image, where); }, where, options);
      return;
    }
    if (ends_with(path, ".weights.json"))
      throw UnimplementedError("load_weights: '" + path +
                               "': Keel does not read sharded `.weights.json` weights yet");
    throw ValueError("File format not supported: filepath=" + path +
                     ". Keras 3 only supports V3 `.keras` and `.weights.h5` files, or legacy V1/V2 `.h5` files.");
  }
  detail::load_weights_from(*model.get(), [&] { return h5::File::open_read(path); }, path, options);
}

}  // namespace saving

void Model::save_weights(const std::string& path) const { saving::save_weights(*this, path); }

void Model::load_weights(const std::string& path, LoadWeightsOptions options) const {
  saving::load_weights(*this, path, options);
}

}  // namespace keel
