#include "keel/layers/regularization.h"

#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/ops/nn.h"
#include "layers/config_util.h"

namespace keel::layers {

DropoutImpl::DropoutImpl(double rate, DropoutOptions options)
    : UnaryLayer("Dropout", options.name), rate_(rate), options_(std::move(options)) {
  set_supports_masking(true);
  KEEL_CHECK(
      rate >= 0.0 && rate <= 1.0, ValueError,
      "Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate=", rate);
  if (options_.noise_shape)
    for (int64_t d : *options_.noise_shape)
      KEEL_CHECK(d > 0 || d == kUnknownDim, ValueError, "Dropout: every entry of `noise_shape` must be positive or ",
                 "kUnknownDim (None). Received: noise_shape=", partial_shape_str(*options_.noise_shape));
}

Shape DropoutImpl::concrete_noise_shape(const Shape& input_shape) const {
  if (!options_.noise_shape) return input_shape;
  const Shape& noise = *options_.noise_shape;
  KEEL_CHECK(noise.size() == input_shape.size(), ShapeError, "Layer \"", name(), "\": noise_shape ",
             partial_shape_str(noise), " must have the rank of the input, whose shape is ",
             partial_shape_str(input_shape));
  Shape out(noise.size());
  for (size_t i = 0; i < noise.size(); ++i) {
    out[i] = noise[i] == kUnknownDim ? input_shape[i] : noise[i];
    KEEL_CHECK(out[i] == 1 || out[i] == input_shape[i] || input_shape[i] == kUnknownDim, ShapeError, "Layer \"", name(),
               "\": noise_shape ", partial_shape_str(noise), " does not broadcast to the input shape ",
               partial_shape_str(input_shape), " (axis ", i, ")");
  }
  return out;
}

void DropoutImpl::build(const Shape& input_shape) {
  concrete_noise_shape(input_shape);  // rejects a noise shape that cannot broadcast, before any call
  if (options_.noise_shape) {
    InputSpec spec;
    spec.ndim = static_cast<int64_t>(input_shape.size());
    input_spec_ = {spec};
  }
  UnaryLayer::build(input_shape);
}

Tensor DropoutImpl::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training || rate_ == 0.0) return x;
  const Shape noise = concrete_noise_shape(x.shape());
  if (rate_ == 1.0) {
    // Everything dropped; `where` keeps the result connected to x (zero gradient) without 0·inf = NaN.
    return ops::where(zeros(noise, x.dtype(), x.device()), x, zeros({}, x.dtype(), x.device()));
  }
  std::optional<uint64_t> seed;
  // A seeded layer walks its own stream: each call gets a fresh key derived from (seed, call index), so
  // masks differ between steps yet the sequence repeats for the same seed. The first call uses `seed` itself.
  if (options_.seed) seed = *options_.seed + 0x9E3779B97F4A7C15ULL * seeded_calls_++;
  if (noise == x.shape()) return ops::dropout(x, rate_, seed);
  const Tensor mask = ops::dropout(ones(noise, x.dtype(), x.device()), rate_, seed);  // 0 or 1/(1 - rate)
  return x * mask;
}

nlohmann::json DropoutImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = rate_;
  c["seed"] = detail::optional_json(options_.seed);
  c["noise_shape"] = options_.noise_shape ? detail::shape_json(*options_.noise_shape) : nlohmann::json(nullptr);
  return c;
}

Dropout::Dropout(double rate, DropoutOptions options)
    : LayerHolder(std::make_shared<DropoutImpl>(rate, std::move(options))) {}

KEEL_REGISTER_LAYER("Dropout", [](const nlohmann::json& c) -> LayerHandle {
  std::optional<Shape> noise_shape;
  if (c.contains("noise_shape") && !c.at("noise_shape").is_null())
    noise_shape = detail::shape_from_json(c.at("noise_shape"));
  return detail::with_base_config(
      Dropout(c.at("rate").get<double>(), {.noise_shape = std::move(noise_shape),
                                           .seed = detail::optional_from_json<uint64_t>(c, "seed"),
                                           .name = detail::name_from(c)}),
      c);
});

// --- ActivityRegularization ---

ActivityRegularizationImpl::ActivityRegularizationImpl(ActivityRegularizationOptions options)
    : UnaryLayer("ActivityRegularization", options.name), options_(std::move(options)) {
  set_supports_masking(true);
  set_activity_regularizer(regularizers::L1L2({.l1 = options_.l1, .l2 = options_.l2}));
}

nlohmann::json ActivityRegularizationImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c.erase("activity_regularizer");
  c["l1"] = options_.l1;
  c["l2"] = options_.l2;
  return c;
}

ActivityRegularization::ActivityRegularization(ActivityRegularizationOptions options)
    : LayerHolder(std::make_shared<ActivityRegularizationImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("ActivityRegularization", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(ActivityRegularization({.l1 = c.value("l1", 0.0),
                                                          .l2 = c.value("l2", 0.0),
                                                          .name = detail::name_from(c)}),
                                  c);
});

}  // namespace keel::layers
