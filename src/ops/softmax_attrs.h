// Attributes of Softmax and LogSoftmax (the axis, already normalised to [0, ndim)), and the internal entry
// points of their backward ops (used by the gradient rules; not public API):
//   SoftmaxBackward(y, grad_y) -> grad_x = y·(grad_y - sum(grad_y·y, axis)),
//   LogSoftmaxBackward(y, grad_y) -> grad_x = grad_y - exp(y)·sum(grad_y, axis), y the forward output.
#pragma once
#include <cstdint>

#include "keel/core/tensor.h"

namespace keel {

struct SoftmaxAttrs {
  int64_t axis = 0;
};

namespace detail {
/// Runs SoftmaxBackward: y = softmax(x, axis), grad_y of y's shape and dtype.
Tensor softmax_backward(const Tensor& y, const Tensor& grad_y, int64_t axis);
/// Runs LogSoftmaxBackward: y = log_softmax(x, axis), grad_y of y's shape and dtype.
Tensor log_softmax_backward(const Tensor& y, const Tensor& grad_y, int64_t axis);
}  // namespace detail

}  // namespace keel
