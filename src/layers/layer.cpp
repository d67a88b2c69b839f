#include "keel/layers/layer.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "keel/core/naming.h"
#include "keel/ops/elementwise.h"

namespace keel {

std::string partial_shape_str(const Shape& shape) {
  std::ostringstream os;
  os << '(';
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) os << ", ";
    if (shape[i] == kUnknownDim) os << "None";
    else os << shape[i];
  }
  if (shape.size() == 1) os << ',';
  os << ')';
  return os.str();
}

Layer::Layer(std::string class_name, std::string name, bool trainable)
    : class_name_(std::move(class_name)),
      name_(name.empty() ? naming::unique_name(naming::to_snake_case(class_name_)) : std::move(name)),
      trainable_(trainable) {}

Layer::~Layer() = default;

namespace {
thread_local int t_replicas_in_sync = 1;
// Eager layer calls in progress on this thread: the outermost one (Keras's entry layer) starts the losses
// afresh.
thread_local int t_layer_call_depth = 0;
}  // namespace

int replicas_in_sync() { return t_replicas_in_sync; }
ReplicaContext::ReplicaContext(int replicas) : outer_(t_replicas_in_sync) { t_replicas_in_sync = replicas; }
ReplicaContext::~ReplicaContext() { t_replicas_in_sync = outer_; }

void Layer::set_trainable(bool trainable) {
  trainable_ = trainable;
  for (auto& sub : tracked_) sub->set_trainable(trainable);
}

void Layer::build(const std::vector<Shape>&) { built_ = true; }

std::vector<DType> Layer::compute_output_dtype(const std::vector<DType>&, const std::vector<Shape>& input_shapes) const {
  return std::vector<DType>(compute_output_shape(input_shapes).size(), DType::f32);
}

nlohmann::json Layer::get_config() const {
  // Keras 3 writes the dtype as a serialized DTypePolicy object, and an activity regularizer only when set.
  nlohmann::json c = {
      {"name", name_},
      {"trainable", trainable_},
      {"dtype",
       {{"module", "keras"}, {"class_name", "DTypePolicy"}, {"config", {{"name", "float32"}}}, {"registered_name", nullptr}}}};
  if (activity_regularizer_) c["activity_regularizer"] = activity_regularizer_.get_config();
  return c;
}

namespace {
std::vector<Shape> with_unknown_batch(std::vector<Shape> shapes) {
  for (auto& s : shapes)
    if (!s.empty()) s[0] = kUnknownDim;
  return shapes;
}
}  // namespace

void Layer::check_inputs(const std::vector<Shape>& shapes) const {
  KEEL_CHECK(!expected_inputs_ || shapes.size() == *expected_inputs_, ValueError, "Layer \"", name_, "\" expects ",
             *expected_inputs_, " input(s), but it received ", shapes.size(), " input tensors");
  KEEL_CHECK(!shapes.empty(), ValueError, "Layer \"", name_, "\" was called without inputs");
  for (size_t i = 0; i < input_spec_.size() && i < shapes.size(); ++i) {
    const InputSpec& spec = input_spec_[i];
    const Shape& s = shapes[i];
    const int64_t rank = static_cast<int64_t>(s.size());
    if (spec.shape) {
      bool compatible = spec.shape->size() == s.size();
      for (size_t a = 0; compatible && a < s.size(); ++a)
        compatible = (*spec.shape)[a] == kUnknownDim || s[a] == kUnknownDim || (*spec.shape)[a] == s[a];
      KEEL_CHECK(compatible, ShapeError, "Input ", i, " of layer \"", name_,
                 "\" is incompatible with the layer: expected shape=", partial_shape_str(*spec.shape),
                 ", found shape=", partial_shape_str(s));
    }
    KEEL_CHECK(!spec.ndim || rank == *spec.ndim, ShapeError, "Input ", i, " of layer \"", name_,
               "\" is incompatible with the layer: expected ndim=", *spec.ndim, ", found ndim=", rank,
               ". Full shape received: ", partial_shape_str(s));
    KEEL_CHECK(!spec.min_ndim || rank >= *spec.min_ndim, ShapeError, "Input ", i, " of layer \"", name_,
               "\" is incompatible with the layer: expected min_ndim=", *spec.min_ndim, ", found ndim=", rank,
               ". Full shape received: ", partial_shape_str(s));
    for (const auto& [axis, size] : spec.axes) {
      const int64_t a = axis < 0 ? axis + rank : axis;
      KEEL_CHECK(a >= 0 && a < rank && (s[a] == size || s[a] == kUnknownDim), ShapeError, "Input ", i,
                 " of layer \"", name_, "\" is incompatible with the layer: expected axis ", axis,
                 " of input shape to have value ", size, ", but received input with shape ", partial_shape_str(s));
    }
  }
}

std::vector<Tensor> Layer::operator()(const std::vector<Tensor>& inputs, bool training) {
  return call_with_masks(inputs, {}, training).outputs;
}

std::vector<Tensor> Layer::operator()(const std::vector<Tensor>& inputs, const CallOptions& options) {
  return call_with_masks(inputs, options.mask.tensors(), options.training).outputs;
}

Tensor Layer::operator()(const Tensor& x, const CallOptions& options) {
  std::vector<Tensor> out = (*this)(std::vector<Tensor>{x}, options);
  KEEL_CHECK(out.size() == 1, ValueError, "Layer \"", name_, "\" returns ", out.size(),
             " outputs; call it with a list of inputs to get them all");
  return out[0];
}

MaskedOutputs Layer::call_with_masks(const std::vector<Tensor>& inputs, const std::vector<Tensor>& masks,
                                     bool training) {
  std::vector<Shape> shapes;
  for (const auto& t : inputs) {
    KEEL_CHECK(t.defined(), ValueError, "Layer \"", name_, "\" received an undefined tensor");
    shapes.push_back(t.shape());
  }
  KEEL_CHECK(masks.size() <= inputs.size(), ValueError, "Layer \"", name_, "\" received ", masks.size(), " masks for ",
             inputs.size(), " input(s)");
  bool any_mask = false;
  for (size_t i = 0; i < masks.size(); ++i) {
    if (!masks[i].defined()) continue;
    any_mask = true;
    const Shape& ms = masks[i].shape();
    const Shape& xs = shapes[i];
    KEEL_CHECK(!ms.empty() && ms.size() <= xs.size() && ms[0] == xs[0], ShapeError, "Layer \"", name_,
               "\": the mask of input ", i, " has shape ", shape_str(ms), ", which does not fit the input's shape ",
               shape_str(xs), " (a mask has the batch axis first and at most the input's rank)");
  }
  if (!built_) {
    check_inputs(shapes);
    build(with_unknown_batch(shapes));
  }
  check_inputs(shapes);
  if (t_layer_call_depth == 0) clear_losses();
  struct Depth {
    Depth() { ++t_layer_call_depth; }
    ~Depth() { --t_layer_call_depth; }
  };
  MaskedOutputs result;
  {
    Depth depth;
    CallContext ctx{.training = training};
    if (any_mask) {
      ctx.masks = masks;
      // Masks are boolean, whatever the caller passed (Keras casts them where it reads them).
      for (Tensor& m : ctx.masks)
        if (m.defined() && m.dtype() != DType::b8) m = ops::not_equal(m, zeros({}, m.dtype(), m.device()));
    }
    result = call_and_compute_mask(inputs, ctx);
  }
  if (any_mask && !supports_masking_ && !warned_mask_dropped_) {
    warned_mask_dropped_ = true;
    std::cerr << "UserWarning: Layer '" << name_ << "' (of type " << class_name_
              << ") was passed an input with a mask attached to it. However, this layer does not support masking and "
                 "will therefore destroy the mask information. Downstream layers will not see the mask.\n";
  }
  result.masks.resize(result.outputs.size());
  if (activity_regularizer_) {
    // Keras divides by the batch size (divide_no_nan: an empty batch adds 0) so the strength does not
    // depend on it.
    for (const Tensor& y : result.outputs) {
      Tensor penalty = activity_regularizer_(y);
      if (y.ndim() > 0) penalty = y.shape()[0] > 0 ? penalty / static_cast<double>(y.shape()[0]) : penalty * 0.0;
      add_loss(penalty);
    }
  }
  return result;
}

MaskedOutputs Layer::call_and_compute_mask(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  MaskedOutputs result{call(inputs, ctx), {}};
  bool any_mask = false;
  for (const Tensor& m : ctx.masks) any_mask = any_mask || m.defined();
  // Keras computes output masks only from an input mask (compute_mask(inputs, None) is None by default);
  // layers that make masks (Embedding, Masking) do it from none.
  if (supports_masking_) result.masks = compute_mask(inputs, any_mask ? ctx.masks : std::vector<Tensor>(inputs.size()));
  result.masks.resize(result.outputs.size());
  return result;
}

std::vector<Tensor> Layer::compute_mask(const std::vector<Tensor>&, const std::vector<Tensor>& masks) const {
  return masks;
}

void Layer::add_loss(const Tensor& loss) {
  KEEL_CHECK(loss.defined(), ValueError, "Layer \"", name_, "\": add_loss() received an undefined tensor");
  added_losses_.push_back(loss);
}

void Layer::clear_losses() {
  added_losses_.clear();
  for (auto& sub : tracked_) sub->clear_losses();
}

std::vector<Tensor> Layer::losses() const {
  // This layer and every sub-layer once (a layer may be tracked twice), depth first as Keras flattens them.
  std::vector<const Layer*> layers;
  std::set<const Layer*> seen;
  auto visit = [&](auto&& self, const Layer* l) -> void {
    if (!seen.insert(l).second) return;
    layers.push_back(l);
    for (const auto& sub : l->tracked_) self(self, sub.get());
  };
  visit(visit, this);
  std::vector<Tensor> out;
  for (const Layer* l : layers) out.insert(out.end(), l->added_losses_.begin(), l->added_losses_.end());
  for (const Variable& v : trainable_weights())
    if (v.regularizer()) out.push_back(v.regularizer()(v.value()));
  return out;
}

Tensor Layer::operator()(const Tensor& x, bool training) {
  std::vector<Tensor> out = (*this)(std::vector<Tensor>{x}, training);
  KEEL_CHECK(out.size() == 1, ValueError, "Layer \"", name_, "\" returns ", out.size(),
             " outputs; call it with a list of inputs to get them all");
  return out[0];
}

std::vector<SymbolicTensor> Layer::call_symbolic(const std::vector<SymbolicTensor>& inputs) {
  std::vector<Shape> shapes;
  std::vector<DType> dtypes;
  for (const auto& t : inputs) {
    shapes.push_back(t.shape);
    dtypes.push_back(t.dtype);
  }
  if (!built_) {
    check_inputs(shapes);
    build(shapes);
  }
  check_inputs(shapes);
  auto node = std::make_shared<Node>();
  node->layer = shared_from_this();
  node->inputs = inputs;
  node->output_shapes = compute_output_shape(shapes);
  node->output_dtypes = compute_output_dtype(dtypes, shapes);
  std::vector<SymbolicTensor> outputs;
  for (size_t i = 0; i < node->output_shapes.size(); ++i)
    outputs.push_back(SymbolicTensor{node->output_shapes[i], node->output_dtypes[i], node, static_cast<int>(i)});
  return outputs;
}

Variable Layer::add_weight(const std::string& name, const Shape& shape, const Initializer& initializer,
                           bool trainable, DType dtype, const Regularizer& regularizer, const Constraint& constraint) {
  for (int64_t d : shape)
    KEEL_CHECK(d >= 0, ShapeError, "Layer \"", name_, "\": weight '", name, "' cannot have shape ",
               partial_shape_str(shape), " (every dimension must be known when the layer is built)");
  Variable v(name, initializer(shape, dtype), trainable);
  v.set_path(name_ + "/" + name);
  if (regularizer) v.set_regularizer(regularizer);
  if (constraint) v.set_constraint(constraint);
  own_weights_.push_back(v);
  return v;
}

std::vector<Variable> Layer::weights() const {
  std::vector<Variable> out;
  auto add = [&out](const Variable& v) {
    for (const auto& w : out)
      if (w.is_same(v)) return;
    out.push_back(v);
  };
  for (const auto& v : own_weights_)
    if (v.trainable()) add(v);
  for (const auto& v : own_weights_)
    if (!v.trainable()) add(v);
  for (const auto& sub : tracked_)
    for (const auto& v : sub->weights()) add(v);
  return out;
}

std::vector<Variable> Layer::trainable_weights() const {
  std::vector<Variable> out;
  if (!trainable_) return out;
  // Own trainable variables, then each tracked sub-layer's trainable ones (a frozen sub-layer has none).
  for (const auto& v : own_weights_)
    if (v.trainable()) out.push_back(v);
  for (const auto& sub : tracked_)
    for (const auto& v : sub->trainable_weights()) {
      bool seen = false;
      for (const auto& w : out) seen = seen || w.is_same(v);
      if (!seen) out.push_back(v);
    }
  return out;
}

std::vector<Variable> Layer::non_trainable_weights() const {
  std::vector<Variable> trainable = trainable_weights();
  std::vector<Variable> out;
  for (const auto& v : weights()) {
    bool is_trainable = false;
    for (const auto& t : trainable) is_trainable = is_trainable || t.is_same(v);
    if (!is_trainable) out.push_back(v);
  }
  return out;
}

std::vector<Tensor> Layer::get_weights() const {
  std::vector<Tensor> out;
  for (const auto& v : weights()) out.push_back(v.value().detach().clone());
  return out;
}

void Layer::set_weights(const std::vector<Tensor>& values) {
  std::vector<Variable> vars = weights();
  KEEL_CHECK(values.size() == vars.size(), ValueError, "Layer \"", name_, "\": you called set_weights with a list of ",
             values.size(), " weights, but the layer expects ", vars.size(), " weights");
  for (size_t i = 0; i < vars.size(); ++i)
    KEEL_CHECK(values[i].defined() && values[i].shape() == vars[i].shape(), ShapeError, "Layer \"", name_,
               "\": weight ", i, " ('", vars[i].path(), "') has shape ", shape_str(vars[i].shape()),
               " but set_weights received shape ", values[i].defined() ? shape_str(values[i].shape()) : "undefined");
  for (size_t i = 0; i < vars.size(); ++i) vars[i].assign(values[i]);
}

int64_t Layer::count_params() const {
  KEEL_CHECK(built_, ValueError, "You tried to call count_params on layer \"", name_,
             "\", but the layer isn't built. You can build it manually via: layer.build(input_shapes)");
  int64_t n = 0;
  for (const auto& v : weights()) n += v.numel();
  return n;
}

void Layer::track(std::shared_ptr<Layer> sublayer, std::string attribute) {
  KEEL_CHECK(sublayer != nullptr, ValueError, "Layer \"", name_, "\": cannot track an empty layer handle");
  KEEL_CHECK(!attribute.empty() && attribute.find('/') == std::string::npos, ValueError, "Layer \"", name_,
             "\": sub-layer \"", sublayer->name(), "\" needs the name of the attribute that holds it (no '/'), got \"",
             attribute, "\"");
  tracked_.push_back(std::move(sublayer));
  tracked_attributes_.push_back(std::move(attribute));
}

std::vector<Variable> Layer::own_weights() const {
  std::vector<Variable> out;
  for (const auto& v : own_weights_)
    if (v.trainable()) out.push_back(v);
  for (const auto& v : own_weights_)
    if (!v.trainable()) out.push_back(v);
  return out;
}

void Layer::set_variable_paths(const std::string& prefix) {
  const std::string base = prefix.empty() ? name_ : prefix + "/" + name_;
  for (auto& v : own_weights_) v.set_path(base + "/" + v.name());
  for (auto& sub : tracked_) sub->set_variable_paths(base);
}

// --- UnaryLayer ---

void UnaryLayer::build(const Shape& input_shape) { Layer::build(std::vector<Shape>{input_shape}); }

void UnaryLayer::build(const std::vector<Shape>& input_shapes) { build(input_shapes.at(0)); }

std::vector<Tensor> UnaryLayer::call(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  return {call(inputs.at(0), ctx)};
}

std::vector<Shape> UnaryLayer::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  return {compute_output_shape(input_shapes.at(0))};
}

std::vector<Tensor> UnaryLayer::compute_mask(const std::vector<Tensor>& inputs,
                                             const std::vector<Tensor>& masks) const {
  return {compute_mask(inputs.at(0), masks.empty() ? Tensor() : masks[0])};
}

// --- LayerHandle ---

SymbolicTensor LayerHandle::operator()(const SymbolicTensor& x) const {
  return (*this)(std::vector<SymbolicTensor>{x});
}

SymbolicTensor LayerHandle::operator()(const std::vector<SymbolicTensor>& xs) const {
  std::vector<SymbolicTensor> out = call_symbolic(xs);
  KEEL_CHECK(out.size() == 1, ValueError, "Layer \"", layer_->name(), "\" returns ", out.size(),
             " outputs; use call_symbolic() to get them all");
  return out[0];
}

Tensor LayerHandle::operator()(const Tensor& x, bool training) const { return (*layer_)(x, training); }

std::vector<Tensor> LayerHandle::operator()(const std::vector<Tensor>& xs, bool training) const {
  return (*layer_)(xs, training);
}

Tensor LayerHandle::operator()(const Tensor& x, const CallOptions& options) const { return (*layer_)(x, options); }

std::vector<Tensor> LayerHandle::operator()(const std::vector<Tensor>& xs, const CallOptions& options) const {
  return (*layer_)(xs, options);
}

std::vector<SymbolicTensor> LayerHandle::call_symbolic(const std::vector<SymbolicTensor>& xs) const {
  KEEL_CHECK(layer_ != nullptr, ValueError, "call on an empty layer handle");
  return layer_->call_symbolic(xs);
}

// --- registry ---

namespace layers {
namespace {
std::map<std::string, LayerFactory>& registry() {
  static std::map<std::string, LayerFactory> r;
  return r;
}
}  // namespace

bool register_layer(const std::string& class_name, LayerFactory factory) {
  registry()[class_name] = std::move(factory);
  return true;
}

nlohmann::json serialize(const LayerHandle& layer) {
  return {{"module", "keras.layers"},
          {"class_name", layer->class_name()},
          {"config", layer->get_config()},
          {"registered_name", nullptr}};
}

bool is_registered(const std::string& class_name) { return registry().count(class_name) != 0; }

LayerHandle deserialize(const nlohmann::json& serialized) {
  KEEL_CHECK(serialized.is_object() && serialized.contains("class_name") && serialized.contains("config"), ValueError,
             "layers::deserialize: expected an object with \"class_name\" and \"config\", got ", serialized.dump());
  const std::string cls = serialized.at("class_name").get<std::string>();
  auto it = registry().find(cls);
  if (it == registry().end()) {
    std::string known;
    for (const auto& [name, f] : registry()) known += (known.empty() ? "" : ", ") + name;
    throw ValueError("layers::deserialize: unknown layer class '" + cls + "'. Known layers: " + known);
  }
  const nlohmann::json& config = serialized.at("config");
  LayerHandle layer = it->second(config);
  if (config.is_object() && config.contains("activity_regularizer")) {
    try {
      layer->set_activity_regularizer(Regularizer::from_config(config.at("activity_regularizer")));
    } catch (const ValueError& e) {
      throw ValueError(detail::cat("Layer '", layer->name(), "' (", cls, "): `activity_regularizer`: ", e.what()));
    }
  }
  // A regularizer or constraint the layer does not rebuild would train a different model without a word.
  if (config.is_object()) {
    const nlohmann::json rebuilt = layer->get_config();
    for (const auto& [key, value] : config.items()) {
      const bool penalty = key.ends_with("_regularizer") || key.ends_with("_constraint");
      if (!penalty || value.is_null()) continue;
      KEEL_CHECK(rebuilt.contains(key) && !rebuilt.at(key).is_null(), UnimplementedError, "Layer '", layer->name(),
                 "' (", cls, "): `", key, "` = ", value.dump(),
                 " is not supported by Keel for this layer yet; refusing to load it rather than ignore it");
    }
  }
  return layer;
}

}  // namespace layers
}  // namespace keel
