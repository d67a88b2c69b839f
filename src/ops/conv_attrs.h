// Attributes of the 2-D convolution ops (channels-last data, HWIO kernels), and the internal entry points
// of the three primitive ops (used by the gradient rules and conv2d_transpose; not public API).
//   Conv(x (N, H, W, Cin), kernel (KH, KW, Cin/G, Cout)) -> y (N, OH, OW, Cout)
//   ConvBackwardInput(grad_y (N, OH, OW, Cout), kernel) -> grad_x of shape `input_shape`
//   ConvBackwardKernel(x, grad_y) -> grad_kernel of shape `kernel_shape`
// Padding is explicit (already resolved from "valid"/"same"), so every op of the family agrees on
// geometry: OH = (H + pad_before + pad_after - ((KH-1)·dilation + 1)) / stride + 1 (floor).
// Group g uses input channels [g·Cin/G, (g+1)·Cin/G) and output channels [g·Cout/G, (g+1)·Cout/G).
#pragma once
#include <array>
#include <cstdint>

#include "keel/core/tensor.h"

namespace keel {

struct ConvAttrs {
  std::array<int64_t, 2> strides{1, 1};
  std::array<int64_t, 2> dilation{1, 1};
  std::array<int64_t, 2> pad_before{0, 0};
  std::array<int64_t, 2> pad_after{0, 0};
  int64_t groups = 1;
  Shape input_shape;   // (N, H, W, Cin): ConvBackwardInput's output
  Shape kernel_shape;  // (KH, KW, Cin/G, Cout): ConvBackwardKernel's output
};

/// Output extent of one spatial axis (may be <= 0 for impossible geometries; callers check).
inline int64_t conv_out_extent(int64_t in, int64_t k, int64_t stride, int64_t dilation, int64_t pad_before,
                               int64_t pad_after) {
  int64_t span = in + pad_before + pad_after - ((k - 1) * dilation + 1);
  return span < 0 ? 0 : span / stride + 1;
}

namespace detail {
/// Runs Conv (validated: rank, channels, groups, dtypes, geometry).
Tensor conv_forward(const Tensor& x, const Tensor& kernel, const ConvAttrs& attrs);
/// Runs ConvBackwardInput; attrs.input_shape gives the result's shape.
Tensor conv_backward_input(const Tensor& grad_y, const Tensor& kernel, const ConvAttrs& attrs);
/// Runs ConvBackwardKernel; attrs.kernel_shape gives the result's shape.
Tensor conv_backward_kernel(const Tensor& x, const Tensor& grad_y, const ConvAttrs& attrs);
}  // namespace detail

}  // namespace keel
