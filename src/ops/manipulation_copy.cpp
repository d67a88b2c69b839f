// Shape and indexing ops that produce new tensors: glue of Pad, Concatenate, Take, TakeBackward and
// OneHot (validation, output shape, dispatch), and the composites stack and tile.
#include <algorithm>

#include "keel/ops/manipulation.h"
#include "manipulation_attrs.h"
#include "record.h"

namespace keel {
namespace {

void check_index_dtype(const char* name, const Tensor& indices) {
  KEEL_CHECK(is_integral(indices.dtype()), DTypeError, name, ": indices must be an integer tensor (int32, int64 or ",
             "uint8), got ", dtype_name(indices.dtype()), " with shape ", shape_str(indices.shape()));
}

}  // namespace

namespace detail {

Tensor take_backward(const Tensor& g, const Tensor& indices, const Shape& x_shape, int64_t axis) {
  Tensor in[] = {g, indices};
  Tensor out[] = {empty(x_shape, g.dtype(), g.device())};
  run_op(OpId::TakeBackward, in, out, TakeAttrs{axis, x_shape});
  return out[0];
}

}  // namespace detail

namespace ops {

Tensor pad(const Tensor& x, const std::vector<std::pair<int64_t, int64_t>>& pad_width, double constant_value) {
  KEEL_CHECK(x.defined(), ValueError, "pad: x is an undefined tensor");
  const int64_t nd = x.ndim();
  // One (before, after) pair applies to every axis, as in numpy.pad.
  KEEL_CHECK(static_cast<int64_t>(pad_width.size()) == nd || pad_width.size() == 1, ValueError, "pad: pad_width has ",
             pad_width.size(), " entries but the input of shape ", shape_str(x.shape()), " has rank ", nd);
  PadAttrs attrs;
  attrs.value = constant_value;
  Shape out_shape = x.shape();
  for (int64_t i = 0; i < nd; ++i) {
    auto [b, e] = pad_width.size() == 1 ? pad_width[0] : pad_width[i];
    KEEL_CHECK(b >= 0 && e >= 0, ValueError, "pad: padding must be non-negative, got (", b, ", ", e, ") for axis ",
               i, " of shape ", shape_str(x.shape()));
    attrs.before.push_back(b);
    attrs.after.push_back(e);
    out_shape[i] += b + e;
  }
  Tensor in[] = {x};
  Tensor out[] = {empty(out_shape, x.dtype(), x.device())};
  run_op(OpId::Pad, in, out, attrs);
  return out[0];
}

Tensor concatenate(const std::vector<Tensor>& xs, int64_t axis) {
  KEEL_CHECK(!xs.empty(), ValueError, "concatenate: need at least one tensor");
  for (size_t i = 0; i < xs.size(); ++i)
    KEEL_CHECK(xs[i].defined(), ValueError, "concatenate: input ", i, " is an undefined tensor");
  const Tensor& first = xs[0];
  KEEL_CHECK(first.ndim() > 0, ValueError, "concatenate: zero-dimensional tensors cannot be concatenated (input 0 ",
             "has shape ())");
  const int64_t ax = normalize_axis(axis, first.ndim(), "concatenate");
  Shape out_shape = first.shape();
  for (size_t i = 1; i < xs.size(); ++i) {
    const Tensor& t = xs[i];
    KEEL_CHECK(t.dtype() == first.dtype(), DTypeError, "concatenate: input ", i, " has dtype ", dtype_name(t.dtype()),
               " but input 0 has dtype ", dtype_name(first.dtype()), "; cast them to one dtype first");
    KEEL_CHECK(t.ndim() == first.ndim(), ShapeError, "concatenate: input ", i, " has shape ", shape_str(t.shape()),
               " (rank ", t.ndim(), ") but input 0 has shape ", shape_str(first.shape()), " (rank ", first.ndim(), ")");
    for (int64_t d = 0; d < first.ndim(); ++d)
      KEEL_CHECK(d == ax || t.shape()[d] == first.shape()[d], ShapeError, "concatenate: along axis ", ax, ", input ",
                 i, " has shape ", shape_str(t.shape()), " but input 0 has shape ", shape_str(first.shape()),
                 " (they differ on axis ", d, ")");
    out_shape[ax] += t.shape()[ax];
  }
  Tensor out[] = {empty(out_shape, first.dtype(), first.device())};
  run_op(OpId::Concatenate, std::span<const Tensor>(xs), out, ConcatAttrs{ax});
  return out[0];
}

Tensor stack(const std::vector<Tensor>& xs, int64_t axis) {
  KEEL_CHECK(!xs.empty(), ValueError, "stack: need at least one tensor");
  for (size_t i = 0; i < xs.size(); ++i) {
    KEEL_CHECK(xs[i].defined(), ValueError, "stack: input ", i, " is an undefined tensor");
    KEEL_CHECK(xs[i].shape() == xs[0].shape(), ShapeError, "stack: all inputs must have the same shape; input ", i,
               " has shape ", shape_str(xs[i].shape()), " but input 0 has shape ", shape_str(xs[0].shape()));
  }
  const int64_t ax = normalize_axis(axis, xs[0].ndim() + 1, "stack");
  std::vector<Tensor> expanded;
  for (const Tensor& t : xs) expanded.push_back(expand_dims(t, ax));
  return concatenate(expanded, ax);
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& repeats) {
  KEEL_CHECK(x.defined(), ValueError, "tile: x is an undefined tensor");
  for (int64_t r : repeats)
    KEEL_CHECK(r >= 0, ValueError, "tile: repeats must be non-negative, got ", shape_str(repeats));
  // numpy.tile: the shorter of x.shape and repeats is padded with leading 1s.
  const size_t nd = std::max(static_cast<size_t>(x.ndim()), repeats.size());
  Shape xs(nd - x.shape().size(), 1), rs(nd - repeats.size(), 1);
  xs.insert(xs.end(), x.shape().begin(), x.shape().end());
  rs.insert(rs.end(), repeats.begin(), repeats.end());
  // (1, d0, 1, d1, ...) broadcast to (r0, d0, r1, d1, ...) then merged: gradient comes from the views.
  Shape interleaved, expanded, out_shape;
  for (size_t i = 0; i < nd; ++i) {
    interleaved.insert(interleaved.end(), {1, xs[i]});
    expanded.insert(expanded.end(), {rs[i], xs[i]});
    out_shape.push_back(rs[i] * xs[i]);
  }
  return reshape(broadcast_to(reshape(x, interleaved), expanded), out_shape);
}

Tensor take(const Tensor& x, const Tensor& indices, int64_t axis) {
  KEEL_CHECK(x.defined() && indices.defined(), ValueError, "take: x or indices is an undefined tensor");
  check_index_dtype("take", indices);
  KEEL_CHECK(x.ndim() > 0, ValueError, "take: cannot index a zero-dimensional tensor (shape ())");
  const int64_t ax = normalize_axis(axis, x.ndim(), "take");
  Shape out_shape(x.shape().begin(), x.shape().begin() + ax);
  out_shape.insert(out_shape.end(), indices.shape().begin(), indices.shape().end());
  out_shape.insert(out_shape.end(), x.shape().begin() + ax + 1, x.shape().end());
  // Indices are range-checked by the kernels, before they write anything (they live on the device).
  Tensor in[] = {x, indices};
  Tensor out[] = {empty(out_shape, x.dtype(), x.device())};
  run_op(OpId::Take, in, out, TakeAttrs{ax, x.shape()});
  return out[0];
}

Tensor one_hot(const Tensor& indices, int64_t num_classes, int64_t axis, DType dtype) {
  KEEL_CHECK(indices.defined(), ValueError, "one_hot: indices is an undefined tensor");
  check_index_dtype("one_hot", indices);
  KEEL_CHECK(num_classes >= 0, ValueError, "one_hot: num_classes must be non-negative, got ", num_classes);
  const int64_t ax = normalize_axis(axis, indices.ndim() + 1, "one_hot");
  Shape out_shape = indices.shape();
  out_shape.insert(out_shape.begin() + ax, num_classes);
  Tensor in[] = {indices};
  Tensor out[] = {empty(out_shape, dtype, indices.device())};
  run_op(OpId::OneHot, in, out, OneHotAttrs{ax, num_classes});
  return out[0];
}

}  // namespace ops
}  // namespace keel
