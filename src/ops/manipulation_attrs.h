// Attributes of the shape and indexing ops, and the internal entry points of the two backward ops
// (SliceBackward, TakeBackward) that the gradient rules call; they have no public API.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor_internals.h"
#include "keel/core/tensor.h"

namespace keel {

/// Transpose: out axis i is input axis perm[i].
struct TransposeAttrs {
  std::vector<int64_t> perm;
};

/// Slice (a view) and SliceBackward: per input axis, element j of the result is input index
/// start + j·step, for j in [0, size). step may be negative; start and size are already clamped.
struct SliceAttrs {
  std::vector<int64_t> start, size, step;
};

/// The view of `out` (shaped like Slice's input) at the positions Slice read: where every backend's
/// SliceBackward writes the gradient.
inline Tensor sliced_view(const Tensor& out, const SliceAttrs& attrs) {
  Strides st(out.ndim());
  int64_t offset = out.offset();
  for (int64_t i = 0; i < out.ndim(); ++i) {
    st[i] = out.strides()[i] * attrs.step[i];
    if (attrs.size[i] > 0) offset += attrs.start[i] * out.strides()[i];
  }
  return detail::make_view(out, attrs.size, st, offset);
}

/// Pad: per axis (before, after) counts, both >= 0, filled with `value`.
struct PadAttrs {
  std::vector<int64_t> before, after;
  double value = 0.0;
};

struct ConcatAttrs {
  int64_t axis = 0;
};

/// Take: gathers along `axis`. TakeBackward also keeps the gathered tensor's shape (its output shape).
struct TakeAttrs {
  int64_t axis = 0;
  Shape x_shape;
};

/// OneHot: the class axis of the output (normalised) and the class count.
struct OneHotAttrs {
  int64_t axis = 0;
  int64_t num_classes = 0;
};

namespace detail {
/// The Slice view of x described by attrs (recorded for autograd).
Tensor slice_view(const Tensor& x, const SliceAttrs& attrs);
/// Zeros of `input_shape` with g written at the positions attrs selects (SliceBackward).
Tensor slice_backward(const Tensor& g, const Shape& input_shape, const SliceAttrs& attrs);
/// Zeros of `x_shape` with g's slices scatter-added at `indices` along `axis` (TakeBackward).
Tensor take_backward(const Tensor& g, const Tensor& indices, const Shape& x_shape, int64_t axis);
}  // namespace detail

}  // namespace keel
