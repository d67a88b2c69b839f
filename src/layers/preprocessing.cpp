#include "keel/layers/preprocessing.h"

#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "layers/config_util.h"

namespace keel::layers {
namespace {

void check_value(const RescalingValue& v, const char* what) {
  KEEL_CHECK(!v.values.empty(), ValueError, "Rescaling: `", what, "` must be a number or a non-empty list of numbers");
}

nlohmann::json value_json(const RescalingValue& v) {
  return v.per_channel ? nlohmann::json(v.values) : nlohmann::json(v.values[0]);
}

// A number, a list, or Keras's serialised numpy array {"class_name": "__numpy__", "config": {"value": ...}}.
RescalingValue value_from(const nlohmann::json& config, const char* key, double fallback) {
  if (!config.contains(key) || config.at(key).is_null()) return fallback;
  nlohmann::json j = config.at(key);
  if (j.is_object() && j.value("class_name", std::string()) == "__numpy__") j = j.at("config").at("value");
  if (j.is_number()) return j.get<double>();
  KEEL_CHECK(j.is_array(), ValueError, "Rescaling: cannot read `", key, "` from ", j.dump());
  return j.get<std::vector<double>>();
}

// The value as a tensor of x's dtype: a scalar, or (C) to broadcast against the last axis.
Tensor value_tensor(const RescalingValue& v, const Tensor& like) {
  if (!v.per_channel) return full({}, v.values[0], like.dtype(), like.device());
  const std::vector<float> values(v.values.begin(), v.values.end());
  return from_vector(values, {static_cast<int64_t>(values.size())}).to(like.device()).astype(like.dtype());
}

}  // namespace

RescalingImpl::RescalingImpl(RescalingValue scale, RescalingOptions options)
    : UnaryLayer("Rescaling", options.name), scale_(std::move(scale)), options_(std::move(options)) {
  check_value(scale_, "scale");
  check_value(options_.offset, "offset");
}

void RescalingImpl::build(const Shape& input_shape) {
  // Per-channel values must match the channel axis (a single-element list broadcasts anywhere).
  InputSpec spec;
  for (const RescalingValue* v : {&scale_, &options_.offset}) {
    const auto n = static_cast<int64_t>(v->values.size());
    if (!v->per_channel || n == 1) continue;
    KEEL_CHECK(!input_shape.empty() && (input_shape.back() == n || input_shape.back() == kUnknownDim), ShapeError,
               "Layer \"", name(), "\": ", n, " per-channel ", v == &scale_ ? "scale" : "offset",
               " values do not match the last axis of the input shape ", partial_shape_str(input_shape));
    spec.axes[-1] = n;
  }
  if (!spec.axes.empty()) input_spec_ = {spec};
  UnaryLayer::build(input_shape);
}

Tensor RescalingImpl::call(const Tensor& x, const CallContext&) {
  const Tensor xf = ops::cast(x, DType::f32);  // the layer computes in float32, whatever the input dtype
  return xf * value_tensor(scale_, xf) + value_tensor(options_.offset, xf);
}

nlohmann::json RescalingImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["scale"] = value_json(scale_);
  c["offset"] = value_json(options_.offset);
  return c;
}

Rescaling::Rescaling(RescalingValue scale, RescalingOptions options)
    : LayerHolder(std::make_shared<RescalingImpl>(std::move(scale), std::move(options))) {}

KEEL_REGISTER_LAYER("Rescaling", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      Rescaling(value_from(c, "scale", 1.0), {.offset = value_from(c, "offset", 0.0), .name = detail::name_from(c)}),
      c);
});

}  // namespace keel::layers
