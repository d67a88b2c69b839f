// keras.layers.Masking (keras/src/layers/core/masking.py): marks the timesteps whose features all equal
// mask_value as padding.
#include <nlohmann/json.hpp>

#include "keel/layers/core.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/reduction.h"
#include "layers/config_util.h"

namespace keel::layers {

namespace {
// any(x != mask_value) over the last axis, as a boolean tensor of x's other axes.
Tensor timestep_kept(const Tensor& x, double mask_value, bool keepdims) {
  const Tensor differs = ops::cast(ops::not_equal(x, full({}, mask_value, x.dtype(), x.device())), DType::f32);
  return ops::greater(ops::max(differs, {-1}, keepdims), zeros({}, DType::f32, x.device()));
}
}  // namespace

MaskingImpl::MaskingImpl(MaskingOptions options) : UnaryLayer("Masking", options.name), options_(std::move(options)) {
  set_supports_masking(true);
}

Tensor MaskingImpl::call(const Tensor& x, const CallContext&) {
  KEEL_CHECK(x.ndim() >= 1, ShapeError, "Layer \"", name(), "\" (Masking) needs an input of rank 1 or more, received ",
             shape_str(x.shape()));
  // Masked timesteps become 0, so layers that ignore masks see no padding values.
  return x * ops::cast(timestep_kept(x, options_.mask_value, /*keepdims=*/true), x.dtype());
}

Tensor MaskingImpl::compute_mask(const Tensor& x, const Tensor&) const {
  return timestep_kept(x, options_.mask_value, /*keepdims=*/false);
}

nlohmann::json MaskingImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["mask_value"] = options_.mask_value;
  return c;
}

Masking::Masking(MaskingOptions options) : LayerHolder(std::make_shared<MaskingImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("Masking", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(Masking({.mask_value = c.value("mask_value", 0.0), .name = detail::name_from(c)}), c);
});

}  // namespace keel::layers
