// Lambda: a layer from a C++ function (keras.layers.Lambda's C++ form).
#include <nlohmann/json.hpp>

#include "keel/core/grad_mode.h"
#include "keel/layers/core.h"

namespace keel::layers {

LambdaImpl::LambdaImpl(Fn fn, LambdaOptions options)
    : UnaryLayer("Lambda", options.name), fn_(std::move(fn)), options_(std::move(options)) {
  KEEL_CHECK(static_cast<bool>(fn_), ValueError, "Layer \"", name(), "\" (Lambda): the function is empty");
  KEEL_CHECK(!(options_.output_shape && options_.compute_output_shape), ValueError, "Layer \"", name(),
             "\" (Lambda): give output_shape or compute_output_shape, not both");
}

Tensor LambdaImpl::call(const Tensor& x, const CallContext&) {
  Tensor y = fn_(x);
  KEEL_CHECK(y.defined(), ValueError, "Layer \"", name(), "\" (Lambda): the function returned an undefined tensor");
  return y;
}

Shape LambdaImpl::compute_output_shape(const Shape& input_shape) const {
  if (options_.compute_output_shape) return options_.compute_output_shape(input_shape);
  if (options_.output_shape) {
    Shape out{input_shape.empty() ? kUnknownDim : input_shape[0]};
    out.insert(out.end(), options_.output_shape->begin(), options_.output_shape->end());
    return out;
  }
  // Trace: run the function once on zeros, unknown extents as 1; an output whose first extent follows the
  // input's batch keeps it unknown.
  Shape probe = input_shape;
  for (int64_t& d : probe)
    if (d == kUnknownDim) d = 1;
  Shape out;
  {
    NoGradGuard no_grad;
    out = fn_(zeros(probe)).shape();
  }
  if (!input_shape.empty() && input_shape[0] == kUnknownDim && !out.empty() && out[0] == 1) out[0] = kUnknownDim;
  return out;
}

nlohmann::json LambdaImpl::get_config() const {
  throw ValueError("Layer '" + name() +
                   "' (Lambda) wraps a C++ function, which cannot be written to a model config; rebuild the model in "
                   "code and use save_weights/load_weights, or write a Layer subclass registered with "
                   "KEEL_REGISTER_LAYER");
}

Lambda::Lambda(LambdaImpl::Fn fn, LambdaOptions options)
    : LayerHolder(std::make_shared<LambdaImpl>(std::move(fn), std::move(options))) {}

}  // namespace keel::layers
