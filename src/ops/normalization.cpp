// Batch and layer normalisation: validation, shape inference and dispatch (kernels in
// backends/*/normalization.cpp). An undefined gamma or beta means no scale (ones) or no shift (zeros).
#include <algorithm>

#include "keel/ops/nn.h"
#include "normalization_attrs.h"
#include "record.h"

namespace keel {
namespace {

void check_input(const char* op, const Tensor& x) {
  KEEL_CHECK(x.defined(), ValueError, op, ": x is an undefined tensor");
  KEEL_CHECK(is_floating(x.dtype()), DTypeError, op, ": expected a floating-point x, got ", dtype_name(x.dtype()),
             " with shape ", shape_str(x.shape()));
  KEEL_CHECK(x.ndim() >= 1, ValueError, op, ": expected x of rank >= 1, got shape ", shape_str(x.shape()));
}

void check_epsilon(const char* op, double epsilon) {
  KEEL_CHECK(epsilon >= 0.0, ValueError, op, ": epsilon must be >= 0, got ", epsilon);
}

// A per-channel (or per-normalised-element) parameter: shape `expected`, x's dtype.
const Tensor& check_param(const char* op, const char* what, const Tensor& p, const Shape& expected, const Tensor& x) {
  KEEL_CHECK(p.defined(), ValueError, op, ": ", what, " is required");
  KEEL_CHECK(p.shape() == expected, ShapeError, op, ": ", what, " must have shape ", shape_str(expected),
             " to match x of shape ", shape_str(x.shape()), ", got ", shape_str(p.shape()));
  KEEL_CHECK(p.dtype() == x.dtype(), DTypeError, op, ": ", what, " has dtype ", dtype_name(p.dtype()),
             " but x has dtype ", dtype_name(x.dtype()));
  return p;
}

// gamma or beta: an undefined tensor means no scale (fill 1) or no shift (fill 0).
Tensor param_or(const char* op, const char* what, const Tensor& p, const Shape& expected, const Tensor& x,
                double fill) {
  if (!p.defined()) return full(expected, fill, x.dtype(), x.device());
  return check_param(op, what, p, expected, x);
}

}  // namespace

namespace ops {

BatchNormTrainResult batch_norm_train(const Tensor& x, const Tensor& gamma, const Tensor& beta, int64_t axis,
                                      double epsilon) {
  constexpr const char* kOp = "batch_norm_train";
  check_input(kOp, x);
  check_epsilon(kOp, epsilon);
  BatchNormAttrs attrs{normalize_axis(axis, x.ndim(), kOp), epsilon};
  Shape c{x.shape()[attrs.axis]};
  Tensor in[] = {x, param_or(kOp, "gamma", gamma, c, x, 1.0), param_or(kOp, "beta", beta, c, x, 0.0)};
  BatchNormTrainResult r{empty(x.shape(), x.dtype(), x.device()), empty(c, x.dtype(), x.device()),
                         empty(c, x.dtype(), x.device())};
  Tensor out[] = {r.y, r.mean, r.variance};
  run_op(OpId::BatchNormTrain, in, out, attrs);
  return r;
}

Tensor batch_norm_inference(const Tensor& x, const Tensor& mean, const Tensor& variance, const Tensor& gamma,
                            const Tensor& beta, int64_t axis, double epsilon) {
  constexpr const char* kOp = "batch_norm_inference";
  check_input(kOp, x);
  check_epsilon(kOp, epsilon);
  BatchNormAttrs attrs{normalize_axis(axis, x.ndim(), kOp), epsilon};
  Shape c{x.shape()[attrs.axis]};
  Tensor in[] = {x, check_param(kOp, "mean", mean, c, x), check_param(kOp, "variance", variance, c, x),
                 param_or(kOp, "gamma", gamma, c, x, 1.0), param_or(kOp, "beta", beta, c, x, 0.0)};
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  Tensor out[] = {y};
  run_op(OpId::BatchNormInference, in, out, attrs);
  return y;
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const std::vector<int64_t>& axes,
                  double epsilon) {
  constexpr const char* kOp = "layer_norm";
  check_input(kOp, x);
  check_epsilon(kOp, epsilon);
  KEEL_CHECK(!axes.empty(), ValueError, kOp, ": axes must name at least one axis");
  std::vector<int64_t> norm = normalize_axes(axes, x.ndim(), kOp, /*empty_means_all=*/false);
  // oneDNN (and the row-wise kernels) need the normalised axes to be the trailing, contiguous block.
  const int64_t begin = x.ndim() - static_cast<int64_t>(norm.size());
  for (size_t i = 0; i < norm.size(); ++i)
    KEEL_CHECK(norm[i] == begin + static_cast<int64_t>(i), ValueError, kOp, ": axes ", shape_str(axes),
               " must be the last ", norm.size(), " axes of x (rank ", x.ndim(), ", shape ", shape_str(x.shape()),
               ")");
  LayerNormAttrs attrs{begin, epsilon};
  Shape tail(x.shape().begin() + begin, x.shape().end());
  Shape rows(x.shape().begin(), x.shape().begin() + begin);
  Tensor in[] = {x, param_or(kOp, "gamma", gamma, tail, x, 1.0), param_or(kOp, "beta", beta, tail, x, 0.0)};
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  // The per-row statistics are extra outputs so the backward op can reuse them.
  Tensor out[] = {y, empty(rows, x.dtype(), x.device()), empty(rows, x.dtype(), x.device())};
  run_op(OpId::LayerNorm, in, out, attrs);
  return y;
}

}  // namespace ops

namespace detail {

namespace {
template <class Attrs>
std::array<Tensor, 3> norm_backward(OpId op, const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                    const Tensor& variance, const Tensor& grad_y, const Attrs* attrs) {
  std::array<Tensor, 3> r{empty(x.shape(), x.dtype(), x.device()), empty(gamma.shape(), x.dtype(), x.device()),
                          empty(gamma.shape(), x.dtype(), x.device())};
  Tensor in[] = {x, gamma, mean, variance, grad_y.astype(x.dtype())};
  dispatch(op, in, r, attrs);  // backward ops are not differentiable: nothing to record
  return r;
}
}  // namespace

std::array<Tensor, 3> batch_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                          const Tensor& variance, const Tensor& grad_y, const BatchNormAttrs& attrs) {
  return norm_backward(OpId::BatchNormBackward, x, gamma, mean, variance, grad_y, &attrs);
}

std::array<Tensor, 3> layer_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                          const Tensor& variance, const Tensor& grad_y, const LayerNormAttrs& attrs) {
  return norm_backward(OpId::LayerNormBackward, x, gamma, mean, variance, grad_y, &attrs);
}

}  // namespace detail
}  // namespace keel
