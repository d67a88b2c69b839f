// Sequential models (keras/src/models/sequential.py, keras-reference §1.1): a stack of layers that is
// traced symbolically as soon as the input shape is known, or built from the first batch.
#include <nlohmann/json.hpp>

#include "keel/models/model.h"
#include "keel/ops/elementwise.h"

namespace keel {

using layers::InputLayerImpl;
using layers::input_layer_of;

SequentialImpl::SequentialImpl(std::string name) : ModelImpl("Sequential", std::move(name)) {
  expected_inputs_ = 1;
}

void SequentialImpl::add_input(const SymbolicTensor& input) {
  auto layer = input_layer_of(input);
  KEEL_CHECK(layer != nullptr, ValueError, "Sequential \"", name(),
             "\": only layers and layers::Input() tensors can be added; got a symbolic tensor produced by layer \"",
             input.node && input.node->layer ? input.node->layer->name() : "?", "\"");
  KEEL_CHECK(!input_layer_ && layers_.empty(), ValueError, "Sequential \"", name(),
             "\": an Input can only be the first entry of a Sequential model (it already has ",
             input_layer_ ? "an input" : "layers", ")");
  input_layer_ = layer;
  trace();
}

void SequentialImpl::add(const LayerHandle& layer) {
  KEEL_CHECK(layer, ValueError, "Sequential \"", name(), "\": cannot add an empty layer handle");
  if (auto input = std::dynamic_pointer_cast<InputLayerImpl>(layer.ptr())) {
    add_input(input->output());
    return;
  }
  for (const auto& l : layers_)
    KEEL_CHECK(l->name() != layer->name(), ValueError, "All layers added to a Sequential model should have unique "
               "names. Name \"", layer->name(), "\" is already the name of a layer in this model. Update the `name` "
               "argument to pass a unique name.");
  layers_.push_back(layer);
  track_layers(layers_);
  if (input_layer_) trace();
}

void SequentialImpl::pop() {
  KEEL_CHECK(!layers_.empty(), ValueError, "There are no layers in the model to pop");
  layers_.pop_back();
  track_layers(layers_);
  if (input_layer_) trace();
}

void SequentialImpl::build_for(const Shape& input_shape) {
  KEEL_CHECK(!input_shape.empty(), ValueError, "Sequential.build: the input shape must include the batch dimension");
  if (input_layer_) return;
  input_layer_ = InputLayerImpl::create(input_shape, DType::f32, "");
  trace();
}

void SequentialImpl::build(const std::vector<Shape>& input_shapes) {
  KEEL_CHECK(input_shapes.size() == 1, ValueError, "Sequential \"", name(), "\" takes one input, got ",
             input_shapes.size());
  Shape s = input_shapes[0];
  if (!s.empty()) s[0] = kUnknownDim;
  build_for(s);
}

void SequentialImpl::build_from_data(const std::vector<Shape>& input_shapes) {
  if (!input_layer_) build(input_shapes);
}

void SequentialImpl::trace() {
  traced_.clear();
  SymbolicTensor x = input_layer_->output();
  for (const auto& l : layers_) {
    std::vector<SymbolicTensor> out = l.call_symbolic({x});
    KEEL_CHECK(out.size() == 1, ValueError, "All layers in a Sequential model should have a single output tensor; "
               "layer \"", l->name(), "\" has ", out.size(), ". For multi-output layers, use the functional API.");
    x = out[0];
    traced_.push_back(x);
  }
  input_spec_.assign(1, InputSpec());
  input_spec_[0].shape = input_layer_->batch_shape();
  track_layers(layers_);
  mark_built();
}

std::vector<Tensor> SequentialImpl::call(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  return call_and_compute_mask(inputs, ctx).outputs;
}

MaskedOutputs SequentialImpl::call_and_compute_mask(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  Tensor x = inputs.at(0);
  // Keras converts the input to its Input's dtype first (integer or boolean arrays into a float32 model).
  if (input_layer_ && x.defined() && x.dtype() != input_layer_->dtype()) x = ops::cast(x, input_layer_->dtype());
  // Each layer's output mask goes to the next layer (Embedding(mask_zero) -> LSTM).
  Tensor mask = ctx.mask(0);
  for (const auto& l : layers_) {
    MaskedOutputs r =
        l->call_with_masks({x}, mask.defined() ? std::vector<Tensor>{mask} : std::vector<Tensor>{}, ctx.training);
    KEEL_CHECK(r.outputs.size() == 1, ValueError, "Sequential model \"", name(), "\": layer \"", l->name(),
               "\" returns ", r.outputs.size(), " outputs; every layer of a Sequential model must return one");
    x = r.outputs[0];
    mask = r.masks[0];
  }
  return {{x}, {mask}};
}

std::vector<Shape> SequentialImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  std::vector<Shape> shapes = input_shapes;
  for (const auto& l : layers_) shapes = l->compute_output_shape(shapes);
  return shapes;
}

std::vector<SymbolicTensor> SequentialImpl::inputs() const {
  KEEL_CHECK(input_layer_ != nullptr, ValueError, "Sequential model \"", name(),
             "\" has no defined input shape yet: give it an Input() first, call build(), or fit it on data");
  return {input_layer_->output()};
}

std::vector<SymbolicTensor> SequentialImpl::outputs() const {
  KEEL_CHECK(input_layer_ != nullptr, ValueError, "Sequential model \"", name(),
             "\" has no defined output shape yet: give it an Input() first, call build(), or fit it on data");
  return {traced_.empty() ? input_layer_->output() : traced_.back()};
}

Shape SequentialImpl::layer_output_shape(const Layer& layer) const {
  for (size_t i = 0; i < layers_.size() && i < traced_.size(); ++i)
    if (layers_[i].get() == &layer) return traced_[i].shape;
  return {};
}

nlohmann::json SequentialImpl::get_config() const {
  auto shape_json = [](const Shape& s) {
    nlohmann::json j = nlohmann::json::array();
    for (int64_t d : s) j.push_back(d == kUnknownDim ? nlohmann::json(nullptr) : nlohmann::json(d));
    return j;
  };
  // Keras 3: the InputLayer first, then each layer with its build_config once built.
  nlohmann::json layers_json = nlohmann::json::array();
  if (input_layer_) layers_json.push_back(layers::serialize(LayerHandle(input_layer_)));
  for (size_t i = 0; i < layers_.size(); ++i) {
    nlohmann::json entry = layers::serialize(layers_[i]);
    if (layers_[i]->built() && input_layer_ && i <= traced_.size()) {
      const Shape in = i == 0 ? input_layer_->batch_shape() : traced_[i - 1].shape;
      entry["build_config"] = {{"input_shape", shape_json(in)}};
    }
    layers_json.push_back(entry);
  }
  nlohmann::json c = Layer::get_config();
  c["layers"] = layers_json;
  if (input_layer_) c["build_input_shape"] = shape_json(input_layer_->batch_shape());
  return c;
}

// --- handle ---

Sequential::Sequential(std::vector<SequentialEntry> entries, SequentialOptions options)
    : Model(std::make_shared<SequentialImpl>(std::move(options.name))) {
  for (const auto& e : entries) add(e);
  if (!options.trainable) get()->set_trainable(false);
}

void Sequential::add(const SequentialEntry& entry) const {
  if (entry.input()) (*this)->add_input(*entry.input());
  else (*this)->add(entry.layer());
}

void Sequential::pop() const { (*this)->pop(); }

void Sequential::build(const Shape& input_shape) const { (*this)->build_for(input_shape); }

}  // namespace keel

namespace keel {
namespace {
// Sequential and Functional rebuild from their configs like any other layer.
Shape batch_shape_from(const nlohmann::json& j) {
  Shape s;
  for (const auto& d : j) s.push_back(d.is_null() ? kUnknownDim : d.get<int64_t>());
  return s;
}
}  // namespace

KEEL_REGISTER_LAYER("Sequential", [](const nlohmann::json& c) -> LayerHandle {
  auto model = std::make_shared<SequentialImpl>(c.value("name", std::string()));
  for (const auto& l : c.at("layers")) model->add(layers::deserialize(l));
  if (c.contains("build_input_shape") && !c.at("build_input_shape").is_null())
    model->build_for(batch_shape_from(c.at("build_input_shape")));
  if (!c.value("trainable", true)) model->set_trainable(false);
  return LayerHandle(model);
});
}  // namespace keel
