// Softmax and log-softmax along one axis, and their backward ops: validation and dispatch (kernels in
// backends/*/softmax.cpp).
#include "keel/ops/nn.h"
#include "record.h"
#include "softmax_attrs.h"

namespace keel::ops {
namespace {

Tensor softmax_like(OpId op, const char* name, const Tensor& x, int64_t axis) {
  KEEL_CHECK(x.defined(), ValueError, name, ": x is an undefined tensor");
  KEEL_CHECK(is_floating(x.dtype()), DTypeError, name, ": expected a floating-point tensor, got ",
             dtype_name(x.dtype()), " with shape ", shape_str(x.shape()));
  KEEL_CHECK(x.ndim() >= 1, ValueError, name, ": expected a tensor of rank >= 1, got shape ", shape_str(x.shape()));
  SoftmaxAttrs attrs{normalize_axis(axis, x.ndim(), name)};
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  Tensor in[] = {x};
  Tensor out[] = {y};
  run_op(op, in, out, attrs);
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) { return softmax_like(OpId::Softmax, "softmax", x, axis); }

Tensor log_softmax(const Tensor& x, int64_t axis) { return softmax_like(OpId::LogSoftmax, "log_softmax", x, axis); }

}  // namespace keel::ops

namespace keel::detail {
namespace {

Tensor softmax_backward_like(OpId op, const char* name, const Tensor& y, const Tensor& grad_y, int64_t axis) {
  KEEL_CHECK(y.defined() && grad_y.defined(), ValueError, name, ": y or grad_y is an undefined tensor");
  KEEL_CHECK(is_floating(y.dtype()), DTypeError, name, ": expected a floating-point y, got ", dtype_name(y.dtype()),
             " with shape ", shape_str(y.shape()));
  KEEL_CHECK(y.ndim() >= 1, ValueError, name, ": expected y of rank >= 1, got shape ", shape_str(y.shape()));
  KEEL_CHECK(grad_y.shape() == y.shape() && grad_y.dtype() == y.dtype(), ShapeError, name, ": grad_y has shape ",
             shape_str(grad_y.shape()), " and dtype ", dtype_name(grad_y.dtype()), ", expected ", shape_str(y.shape()),
             " and ", dtype_name(y.dtype()), " (those of y)");
  SoftmaxAttrs attrs{normalize_axis(axis, y.ndim(), name)};
  Tensor dx = empty(y.shape(), y.dtype(), y.device());
  Tensor in[] = {y, grad_y};
  Tensor out[] = {dx};
  run_op(op, in, out, attrs);  // not differentiable: records nothing
  return dx;
}

}  // namespace

Tensor softmax_backward(const Tensor& y, const Tensor& grad_y, int64_t axis) {
  return softmax_backward_like(OpId::SoftmaxBackward, "softmax_backward", y, grad_y, axis);
}

Tensor log_softmax_backward(const Tensor& y, const Tensor& grad_y, int64_t axis) {
  return softmax_backward_like(OpId::LogSoftmaxBackward, "log_softmax_backward", y, grad_y, axis);
}

}  // namespace keel::detail
