// keras.layers.TimeDistributed (keras/src/layers/rnn/time_distributed.py): a layer applied to every time
// step, one step at a time, with shared weights.
#include <nlohmann/json.hpp>

#include "keel/layers/recurrent.h"
#include "keel/ops/manipulation.h"
#include "layers/config_util.h"

namespace keel::layers {

TimeDistributedImpl::TimeDistributedImpl(const LayerHandle& layer, TimeDistributedOptions options)
    : UnaryLayer("TimeDistributed", options.name), layer_(layer) {
  KEEL_CHECK(
      static_cast<bool>(layer_), ValueError,
      "Please initialize `TimeDistributed` layer with a `keras.layers.Layer` instance. Received an empty handle");
  set_supports_masking(true);
  track(layer_.ptr(), "layer");
}

Shape TimeDistributedImpl::step_shape(const Shape& input_shape) const {
  KEEL_CHECK(
      input_shape.size() >= 3, ShapeError, "`TimeDistributed` Layer \"", name(),
      "\" should be passed an `input_shape` with at least 3 dimensions, received: ", partial_shape_str(input_shape));
  Shape step{input_shape[0]};
  step.insert(step.end(), input_shape.begin() + 2, input_shape.end());
  return step;
}

void TimeDistributedImpl::build(const Shape& input_shape) {
  const Shape step = step_shape(input_shape);
  if (!layer_->built()) layer_->build({step});
  set_variable_paths("");
  UnaryLayer::build(input_shape);
}

Tensor TimeDistributedImpl::call(const Tensor& x, const CallContext& ctx) {
  const int64_t steps = x.shape()[1];
  const Tensor mask = ctx.mask();
  KEEL_CHECK(!mask.defined() || (mask.ndim() >= 2 && mask.shape()[1] == steps), ShapeError,
             "`TimeDistributed` Layer \"", name(),
             "\": the mask's first two dimensions must be (batch, timesteps) = ", shape_str(Shape{x.shape()[0], steps}),
             ", received ", shape_str(mask.defined() ? mask.shape() : Shape{}));
  // As Keras 3 with a known number of steps: the wrapped layer's call on each step, the results stacked.
  std::vector<Tensor> outputs;
  for (int64_t t = 0; t < steps; ++t) {
    CallContext step_ctx{.training = ctx.training};
    if (mask.defined()) step_ctx.masks = {ops::squeeze(ops::slice_axis(mask, 1, t, t + 1), {1})};
    const std::vector<Tensor> y = layer_->call({ops::squeeze(ops::slice_axis(x, 1, t, t + 1), {1})}, step_ctx);
    KEEL_CHECK(y.size() == 1, ValueError, "`TimeDistributed` Layer \"", name(), "\": the wrapped layer \"",
               layer_->name(), "\" returns ", y.size(), " outputs; it must return one");
    outputs.push_back(y[0]);
  }
  return ops::stack(outputs, 1);
}

Shape TimeDistributedImpl::compute_output_shape(const Shape& input_shape) const {
  Shape step = layer_->compute_output_shape({step_shape(input_shape)}).at(0);
  step.insert(step.begin() + 1, input_shape[1]);
  return step;
}

std::vector<DType> TimeDistributedImpl::compute_output_dtype(const std::vector<DType>& input_dtypes,
                                                             const std::vector<Shape>& input_shapes) const {
  return layer_->compute_output_dtype(input_dtypes, {step_shape(input_shapes.at(0))});
}

nlohmann::json TimeDistributedImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["layer"] = serialize(layer_);
  return c;
}

TimeDistributed::TimeDistributed(const LayerHandle& layer, TimeDistributedOptions options)
    : LayerHolder(std::make_shared<TimeDistributedImpl>(layer, std::move(options))) {}

KEEL_REGISTER_LAYER("TimeDistributed", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(TimeDistributed(deserialize(c.at("layer")), {.name = detail::name_from(c)}), c);
});

}  // namespace keel::layers
