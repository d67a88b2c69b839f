// Softmax and log-softmax along one axis: validation and dispatch (kernels in backends/*/softmax.cpp).
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
