// NumPy broadcasting: the result shape of several operands, and each operand's strides stretched to it.
#pragma once
#include <string_view>

#include "keel/core/tensor.h"

namespace keel {

/// Broadcast shape of a and b; throws ShapeError naming `op` and both shapes when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);
/// Strides of `t` viewed at `shape` (0 on broadcast axes); `shape` must be a broadcast of t's shape.
Strides broadcast_strides(const Tensor& t, const Shape& shape);

}  // namespace keel
