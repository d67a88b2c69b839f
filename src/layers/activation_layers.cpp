#include "keel/layers/activation_layers.h"

#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "layers/config_util.h"

namespace keel::layers {

// --- Activation ---

ActivationImpl::ActivationImpl(ActivationFn activation, ActivationOptions options)
    : UnaryLayer("Activation", std::move(options.name)), activation_(std::move(activation)) {
  set_supports_masking(true);
}

Tensor ActivationImpl::call(const Tensor& x, const CallContext&) { return activation_(x); }

nlohmann::json ActivationImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["activation"] = activation_.name();
  return c;
}

Activation::Activation(ActivationFn activation, ActivationOptions options)
    : LayerHolder(std::make_shared<ActivationImpl>(std::move(activation), std::move(options))) {}

KEEL_REGISTER_LAYER("Activation", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(Activation(detail::activation_from(c), {.name = detail::name_from(c)}), c);
});

// --- ReLU ---

namespace {

// keras.activations.relu's general form, composed as Keras composes it (ReLU.static_call) so the
// gradients at the kinks match: x for x > threshold, clipped at max_value, minus
// negative_slope·relu(threshold − x).
Tensor relu_general(const Tensor& x, double negative_slope, std::optional<double> max_value, double threshold) {
  if (negative_slope != 0.0 && !max_value && threshold == 0.0) return ops::leaky_relu(x, negative_slope);
  Tensor y = threshold != 0.0 ? x * ops::cast(x > threshold, x.dtype()) : ops::relu(x);
  if (max_value) y = ops::clip(y, 0.0, *max_value);
  if (negative_slope != 0.0) y = y - ops::relu(threshold - x) * negative_slope;
  return y;
}

}  // namespace

ReLUImpl::ReLUImpl(ReLUOptions options) : UnaryLayer("ReLU", options.name), options_(std::move(options)) {
  set_supports_masking(true);
  KEEL_CHECK(!options_.max_value || *options_.max_value >= 0.0, ValueError,
             "max_value of a ReLU layer cannot be a negative value. Received: max_value=", *options_.max_value);
  KEEL_CHECK(
      options_.negative_slope >= 0.0, ValueError,
      "negative_slope of a ReLU layer cannot be a negative value. Received: negative_slope=", options_.negative_slope);
  KEEL_CHECK(options_.threshold >= 0.0, ValueError,
             "threshold of a ReLU layer cannot be a negative value. Received: threshold=", options_.threshold);
}

Tensor ReLUImpl::call(const Tensor& x, const CallContext&) {
  return relu_general(x, options_.negative_slope, options_.max_value, options_.threshold);
}

nlohmann::json ReLUImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["max_value"] = detail::optional_json(options_.max_value);
  c["negative_slope"] = options_.negative_slope;
  c["threshold"] = options_.threshold;
  return c;
}

ReLU::ReLU(ReLUOptions options) : LayerHolder(std::make_shared<ReLUImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("ReLU", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(ReLU({.max_value = detail::optional_from_json<double>(c, "max_value"),
                                        .negative_slope = c.value("negative_slope", 0.0),
                                        .threshold = c.value("threshold", 0.0),
                                        .name = detail::name_from(c)}),
                                  c);
});

// --- LeakyReLU ---

LeakyReLUImpl::LeakyReLUImpl(LeakyReLUOptions options)
    : UnaryLayer("LeakyReLU", options.name), options_(std::move(options)) {
  set_supports_masking(true);
  KEEL_CHECK(options_.negative_slope >= 0.0, ValueError,
             "The negative_slope value of a Leaky ReLU layer cannot be None or negative value. Expected a float. "
             "Received: negative_slope=",
             options_.negative_slope);
}

Tensor LeakyReLUImpl::call(const Tensor& x, const CallContext&) { return ops::leaky_relu(x, options_.negative_slope); }

nlohmann::json LeakyReLUImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["negative_slope"] = options_.negative_slope;
  return c;
}

LeakyReLU::LeakyReLU(LeakyReLUOptions options) : LayerHolder(std::make_shared<LeakyReLUImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("LeakyReLU", [](const nlohmann::json& c) -> LayerHandle {
  // Keras 2 configs call the slope "alpha".
  const double slope = c.contains("negative_slope") ? c.at("negative_slope").get<double>() : c.value("alpha", 0.3);
  return detail::with_base_config(LeakyReLU({.negative_slope = slope, .name = detail::name_from(c)}), c);
});

// --- Softmax ---

SoftmaxImpl::SoftmaxImpl(SoftmaxOptions options) : UnaryLayer("Softmax", options.name), options_(std::move(options)) {
  set_supports_masking(true);
}

void SoftmaxImpl::build(const Shape& input_shape) {
  const auto rank = static_cast<int64_t>(input_shape.size());
  KEEL_CHECK(options_.axis >= -rank && options_.axis < rank, ShapeError, "Layer \"", name(), "\": axis ", options_.axis,
             " is out of range for an input of shape ", partial_shape_str(input_shape), " (rank ", rank, ")");
  UnaryLayer::build(input_shape);
}

Tensor SoftmaxImpl::call(const Tensor& x, const CallContext& ctx) {
  const Tensor mask = ctx.mask();
  if (!mask.defined()) return ops::softmax(x, options_.axis);
  // Keras's Softmax(x, mask): masked positions get a large negative logit (-1e9) and probability 0. A mask
  // of the input's leading axes covers every position under it.
  Tensor keep = ops::cast(mask, x.dtype());
  if (keep.ndim() < x.ndim()) {
    Shape s = keep.shape();
    s.resize(x.shape().size(), 1);
    keep = ops::reshape(keep, s);
  }
  const Tensor y = ops::softmax(x + (1.0 - keep) * -1e9, options_.axis);
  return y * keep;
}

nlohmann::json SoftmaxImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = options_.axis;
  return c;
}

Softmax::Softmax(SoftmaxOptions options) : LayerHolder(std::make_shared<SoftmaxImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("Softmax", [](const nlohmann::json& c) -> LayerHandle {
  // Keras also accepts a one-element list of axes.
  const nlohmann::json& axis = c.contains("axis") ? c.at("axis") : nlohmann::json(-1);
  KEEL_CHECK(axis.is_number_integer() || (axis.is_array() && axis.size() == 1), ValueError,
             "Softmax: Keel supports a single softmax axis; the config has axis=", axis.dump());
  const int64_t a = axis.is_array() ? axis.at(0).get<int64_t>() : axis.get<int64_t>();
  return detail::with_base_config(Softmax({.axis = a, .name = detail::name_from(c)}), c);
});

}  // namespace keel::layers
