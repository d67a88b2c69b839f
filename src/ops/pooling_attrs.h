// Attributes of the 2-D pooling ops (channels-last), and the internal entry points of their backward ops
// (used by the gradient rules; not public API).
//   MaxPool(x (N, H, W, C)) -> y (N, OH, OW, C); padding counts as -inf.
//   MaxPoolBackward(x, grad_y) -> grad_x: each window's gradient goes to its first maximum (row-major
//   order inside the window), as PyTorch and oneDNN do.
//   AvgPool(x) -> y: the mean of the real (unpadded) elements of each window, as TensorFlow.
//   AvgPoolBackward(grad_y) -> grad_x of shape `input_shape`.
// OH = (H + pad_before + pad_after - window) / stride + 1 (floor), padding already resolved.
#pragma once
#include <array>
#include <cstdint>

#include "keel/core/tensor.h"

namespace keel {

struct PoolAttrs {
  std::array<int64_t, 2> window{1, 1};
  std::array<int64_t, 2> strides{1, 1};
  std::array<int64_t, 2> pad_before{0, 0};
  std::array<int64_t, 2> pad_after{0, 0};
  Shape input_shape;  // (N, H, W, C): AvgPoolBackward's output
};

namespace detail {
Tensor max_pool_backward(const Tensor& x, const Tensor& grad_y, const PoolAttrs& attrs);
Tensor avg_pool_forward(const Tensor& x, const PoolAttrs& attrs);
Tensor avg_pool_backward(const Tensor& grad_y, const PoolAttrs& attrs);
}  // namespace detail

}  // namespace keel
