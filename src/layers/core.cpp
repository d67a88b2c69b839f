#include "keel/layers/core.h"

#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/ops/nn.h"
#include "layers/config_util.h"

namespace keel::layers {

// --- InputLayer ---

InputLayerImpl::InputLayerImpl(Shape batch_shape, DType dtype, std::string name)
    : Layer("InputLayer", std::move(name)), batch_shape_(std::move(batch_shape)), dtype_(dtype) {
  expected_inputs_ = 1;
  Layer::build({batch_shape_});
}

std::shared_ptr<InputLayerImpl> InputLayerImpl::create(Shape batch_shape, DType dtype, std::string name) {
  auto layer = std::make_shared<InputLayerImpl>(std::move(batch_shape), dtype, std::move(name));
  auto node = std::make_shared<Node>();
  node->layer = layer;
  node->output_shapes = {layer->batch_shape_};
  node->output_dtypes = {dtype};
  layer->output_ = SymbolicTensor{layer->batch_shape_, dtype, node, 0};
  return layer;
}

std::vector<Tensor> InputLayerImpl::call(const std::vector<Tensor>& inputs, const CallContext&) { return inputs; }

std::vector<Shape> InputLayerImpl::compute_output_shape(const std::vector<Shape>&) const { return {batch_shape_}; }

std::vector<DType> InputLayerImpl::compute_output_dtype(const std::vector<DType>&, const std::vector<Shape>&) const {
  return {dtype_};
}

nlohmann::json InputLayerImpl::get_config() const {
  return {{"name", name()},
          {"batch_shape", detail::shape_json(batch_shape_)},
          {"dtype", dtype_name(dtype_)},
          {"sparse", false},
          {"ragged", false}};
}

SymbolicTensor Input(const Shape& shape, InputOptions options) {
  for (int64_t d : shape)
    KEEL_CHECK(d > 0 || d == kUnknownDim, ShapeError, "Input: shape ", partial_shape_str(shape),
               " has a dimension that is neither positive nor kUnknownDim (None)");
  Shape batch_shape{options.batch_size.value_or(kUnknownDim)};
  batch_shape.insert(batch_shape.end(), shape.begin(), shape.end());
  return InputLayerImpl::create(std::move(batch_shape), options.dtype, std::move(options.name))->output();
}

std::shared_ptr<InputLayerImpl> input_layer_of(const SymbolicTensor& x) {
  if (!x.node) return nullptr;
  return std::dynamic_pointer_cast<InputLayerImpl>(x.node->layer);
}

KEEL_REGISTER_LAYER("InputLayer", [](const nlohmann::json& c) -> LayerHandle {
  // Keras writes the input dtype as a string; a DTypePolicy object names it in its config.
  std::string dtype = "float32";
  if (c.contains("dtype") && c.at("dtype").is_string()) dtype = c.at("dtype").get<std::string>();
  if (c.contains("dtype") && c.at("dtype").is_object()) dtype = c.at("dtype").at("config").at("name").get<std::string>();
  const DType dt = dtype_from_name(dtype);
  return InputLayerImpl::create(detail::shape_from_json(c.at("batch_shape")), dt, detail::name_from(c));
});

// --- Dense ---

DenseImpl::DenseImpl(int64_t units, DenseOptions options)
    : UnaryLayer("Dense", options.name), units_(units), options_(std::move(options)) {
  set_supports_masking(true);
  KEEL_CHECK(units > 0, ValueError, "Received an invalid value for `units`, expected a positive integer. Received: units=",
             units);
  set_activity_regularizer(options_.activity_regularizer);
}

void DenseImpl::build(const Shape& input_shape) {
  const int64_t in = input_shape.back();
  KEEL_CHECK(in != kUnknownDim, ShapeError, "Layer \"", name(), "\": the last dimension of the input shape ",
             partial_shape_str(input_shape), " must be known to build a Dense layer");
  kernel_ = add_weight("kernel", {in, units_}, options_.kernel_initializer, true, DType::f32,
                       options_.kernel_regularizer, options_.kernel_constraint);
  if (options_.use_bias)
    bias_ = add_weight("bias", {units_}, options_.bias_initializer, true, DType::f32, options_.bias_regularizer,
                       options_.bias_constraint);
  InputSpec spec;
  spec.min_ndim = 2;
  spec.axes[-1] = in;
  input_spec_ = {spec};
  UnaryLayer::build(input_shape);
}

Tensor DenseImpl::call(const Tensor& x, const CallContext&) {
  // Integer and boolean inputs compute in the kernel's dtype, as Keras's matmul promotes them.
  const Tensor in = is_floating(x.dtype()) ? x : ops::cast(x, kernel_.dtype());
  Tensor y = ops::dense(in, kernel_.value(), options_.use_bias ? bias_.value() : Tensor());
  return options_.activation(y);
}

Shape DenseImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out = input_shape;
  out.back() = units_;
  return out;
}

nlohmann::json DenseImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["units"] = units_;
  c["activation"] = options_.activation.name();
  c["use_bias"] = options_.use_bias;
  c["kernel_initializer"] = options_.kernel_initializer.get_config();
  c["bias_initializer"] = options_.bias_initializer.get_config();
  c["kernel_regularizer"] = options_.kernel_regularizer.get_config();
  c["bias_regularizer"] = options_.bias_regularizer.get_config();
  c["kernel_constraint"] = options_.kernel_constraint.get_config();
  c["bias_constraint"] = options_.bias_constraint.get_config();
  return c;
}

Dense::Dense(int64_t units, DenseOptions options)
    : LayerHolder(std::make_shared<DenseImpl>(units, std::move(options))) {}
Dense::Dense(int64_t units, ActivationFn activation)
    : LayerHolder(std::make_shared<DenseImpl>(units, DenseOptions{.activation = std::move(activation)})) {}

KEEL_REGISTER_LAYER("Dense", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      Dense(c.at("units").get<int64_t>(), DenseOptions{.activation = detail::activation_from(c),
                                                       .use_bias = c.value("use_bias", true),
                                                       .kernel_initializer = detail::initializer_from(
                                                           c, "kernel_initializer", "glorot_uniform"),
                                                       .bias_initializer = detail::initializer_from(
                                                           c, "bias_initializer", "zeros"),
                                                       .kernel_regularizer = detail::regularizer_from(
                                                           c, "kernel_regularizer"),
                                                       .bias_regularizer = detail::regularizer_from(
                                                           c, "bias_regularizer"),
                                                       .kernel_constraint = detail::constraint_from(
                                                           c, "kernel_constraint"),
                                                       .bias_constraint = detail::constraint_from(c, "bias_constraint"),
                                                       .name = detail::name_from(c)}),
      c);
});

// --- Identity ---

IdentityImpl::IdentityImpl(IdentityOptions options) : UnaryLayer("Identity", options.name) {
  set_supports_masking(true);
}

Identity::Identity(IdentityOptions options) : LayerHolder(std::make_shared<IdentityImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("Identity", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(Identity({.name = detail::name_from(c)}), c);
});

}  // namespace keel::layers
