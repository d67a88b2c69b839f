// Shape ops that return views sharing storage (no kernel): Reshape, Transpose, BroadcastTo and Slice are
// recorded for autograd; squeeze, expand_dims, slice, slice_axis and split are composites of them.
// SliceBackward (the gradient of Slice, a real kernel) is dispatched from here too.
#include <algorithm>
#include <optional>

#include "broadcast.h"
#include "core/tensor_internals.h"
#include "keel/ops/manipulation.h"
#include "manipulation_attrs.h"
#include "record.h"

namespace keel {
namespace {

// Strides that let a tensor of (shape, strides) be viewed as new_shape without copying, or nullopt.
// Groups of input axes that are contiguous with each other may be split or merged freely (the rule
// PyTorch's view uses).
std::optional<Strides> view_strides(const Shape& shape, const Strides& strides, const Shape& new_shape) {
  if (shape_numel(shape) == 0 || shape.empty()) return contiguous_strides(new_shape);
  Strides out(new_shape.size());
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_stride = strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    bool chunk_ends = d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
      out[view_d] = view_numel * chunk_stride;
      view_numel *= new_shape[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_stride = strides[d - 1];
      tensor_numel = view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

// Resolves one -1 entry and checks the element count.
Shape infer_shape(const Shape& from, const Shape& to) {
  Shape out = to;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < to.size(); ++i) {
    if (to[i] == -1) {
      KEEL_CHECK(infer_at < 0, ValueError, "reshape: only one dimension can be -1, got shape ", shape_str(to));
      infer_at = static_cast<int64_t>(i);
    } else {
      KEEL_CHECK(to[i] >= 0, ValueError, "reshape: invalid dimension ", to[i], " in shape ", shape_str(to));
      known *= to[i];
    }
  }
  const int64_t n = shape_numel(from);
  if (infer_at >= 0) {
    KEEL_CHECK(known != 0 && n % known == 0, ShapeError, "reshape: cannot reshape a tensor of shape ",
               shape_str(from), " (", n, " elements) into shape ", shape_str(to));
    out[infer_at] = n / known;
  }
  KEEL_CHECK(shape_numel(out) == n, ShapeError, "reshape: cannot reshape a tensor of shape ", shape_str(from), " (",
             n, " elements) into shape ", shape_str(to), " (", shape_numel(out), " elements)");
  return out;
}

}  // namespace

namespace detail {

Tensor slice_view(const Tensor& x, const SliceAttrs& a) {
  Shape shape(x.ndim());
  Strides strides(x.ndim());
  int64_t offset = x.offset();
  bool identity = true, empty_result = false;
  for (int64_t i = 0; i < x.ndim(); ++i) {
    shape[i] = a.size[i];
    strides[i] = x.strides()[i] * a.step[i];
    offset += a.start[i] * x.strides()[i];
    identity = identity && a.start[i] == 0 && a.step[i] == 1 && a.size[i] == x.shape()[i];
    empty_result = empty_result || a.size[i] == 0;
  }
  if (identity) return x;
  if (empty_result) offset = x.offset();  // keep the view's first element inside the storage
  Tensor out = make_view(x, std::move(shape), std::move(strides), offset);
  Tensor in[] = {x};
  Tensor outs[] = {out};
  record(OpId::Slice, in, outs, a);
  return out;
}

Tensor slice_backward(const Tensor& g, const Shape& input_shape, const SliceAttrs& a) {
  Tensor out[] = {empty(input_shape, g.dtype(), g.device())};
  Tensor in[] = {g};
  run_op(OpId::SliceBackward, in, out, a);
  return out[0];
}

}  // namespace detail

namespace ops {

Tensor reshape(const Tensor& x, const Shape& shape) {
  KEEL_CHECK(x.defined(), ValueError, "reshape: x is an undefined tensor");
  Shape target = infer_shape(x.shape(), shape);
  if (target == x.shape()) return x;
  std::optional<Strides> st = view_strides(x.shape(), x.strides(), target);
  // Not expressible as a view (e.g. merging transposed axes): reshape a contiguous copy instead.
  Tensor base = st ? x : x.contiguous();
  if (!st) st = contiguous_strides(target);
  Tensor out = detail::make_view(base, target, *st, base.offset());
  Tensor in[] = {base};
  Tensor outs[] = {out};
  record(OpId::Reshape, in, outs);
  return out;
}

Tensor transpose(const Tensor& x, const std::vector<int64_t>& axes) {
  KEEL_CHECK(x.defined(), ValueError, "transpose: x is an undefined tensor");
  const int64_t nd = x.ndim();
  TransposeAttrs attrs;
  if (axes.empty()) {
    for (int64_t i = nd - 1; i >= 0; --i) attrs.perm.push_back(i);
  } else {
    KEEL_CHECK(static_cast<int64_t>(axes.size()) == nd, ValueError, "transpose: axes ", shape_str(axes),
               " do not match a tensor of rank ", nd, " (shape ", shape_str(x.shape()), ")");
    std::vector<bool> seen(nd, false);
    for (int64_t a : axes) {
      int64_t n = normalize_axis(a, nd, "transpose");
      KEEL_CHECK(!seen[n], ValueError, "transpose: repeated axis ", a, " in axes ", shape_str(axes));
      seen[n] = true;
      attrs.perm.push_back(n);
    }
  }
  bool identity = true;
  Shape shape(nd);
  Strides strides(nd);
  for (int64_t i = 0; i < nd; ++i) {
    shape[i] = x.shape()[attrs.perm[i]];
    strides[i] = x.strides()[attrs.perm[i]];
    identity = identity && attrs.perm[i] == i;
  }
  if (identity) return x;
  Tensor out = detail::make_view(x, std::move(shape), std::move(strides), x.offset());
  Tensor in[] = {x};
  Tensor outs[] = {out};
  record(OpId::Transpose, in, outs, attrs);
  return out;
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  KEEL_CHECK(x.defined(), ValueError, "broadcast_to: x is an undefined tensor");
  bool ok = shape.size() >= x.shape().size();
  const size_t lead = ok ? shape.size() - x.shape().size() : 0;
  for (size_t i = 0; ok && i < x.shape().size(); ++i)
    ok = shape[lead + i] >= 0 && (x.shape()[i] == 1 || x.shape()[i] == shape[lead + i]);
  KEEL_CHECK(ok, ShapeError, "broadcast_to: cannot broadcast a tensor of shape ", shape_str(x.shape()),
             " to shape ", shape_str(shape));
  if (shape == x.shape()) return x;
  Tensor out = detail::make_view(x, shape, broadcast_strides(x, shape), x.offset());
  Tensor in[] = {x};
  Tensor outs[] = {out};
  record(OpId::BroadcastTo, in, outs);
  return out;
}

Tensor squeeze(const Tensor& x, const std::vector<int64_t>& axes) {
  KEEL_CHECK(x.defined(), ValueError, "squeeze: x is an undefined tensor");
  std::vector<int64_t> ax = normalize_axes(axes, x.ndim(), "squeeze", /*empty_means_all=*/false);
  for (int64_t a : ax)
    KEEL_CHECK(x.shape()[a] == 1, ValueError, "squeeze: cannot squeeze axis ", a, " of shape ", shape_str(x.shape()),
               ": its size is ", x.shape()[a], ", not 1");
  Shape out;
  for (int64_t i = 0; i < x.ndim(); ++i) {
    bool drop = axes.empty() ? x.shape()[i] == 1 : std::binary_search(ax.begin(), ax.end(), i);
    if (!drop) out.push_back(x.shape()[i]);
  }
  return reshape(x, out);
}

Tensor expand_dims(const Tensor& x, int64_t axis) {
  KEEL_CHECK(x.defined(), ValueError, "expand_dims: x is an undefined tensor");
  int64_t a = normalize_axis(axis, x.ndim() + 1, "expand_dims");
  Shape out = x.shape();
  out.insert(out.begin() + a, 1);
  return reshape(x, out);
}

Tensor slice(const Tensor& x, const std::vector<int64_t>& start_indices, const Shape& shape) {
  KEEL_CHECK(x.defined(), ValueError, "slice: x is an undefined tensor");
  const int64_t nd = x.ndim();
  KEEL_CHECK(static_cast<int64_t>(start_indices.size()) == nd && static_cast<int64_t>(shape.size()) == nd,
             ValueError, "slice: start_indices ", shape_str(start_indices), " and shape ", shape_str(shape),
             " must each have one entry per axis of the input of shape ", shape_str(x.shape()));
  SliceAttrs a;
  for (int64_t i = 0; i < nd; ++i) {
    const int64_t n = x.shape()[i], s = start_indices[i];
    const int64_t size = shape[i] == -1 ? n - s : shape[i];  // -1: to the end (tf.slice)
    KEEL_CHECK(s >= 0 && size >= 0 && s + size <= n, IndexError, "slice: block starting at ",
               shape_str(start_indices), " with shape ", shape_str(shape), " does not fit in a tensor of shape ",
               shape_str(x.shape()), " (axis ", i, ")");
    a.start.push_back(s);
    a.size.push_back(size);
    a.step.push_back(1);
  }
  return detail::slice_view(x, a);
}

Tensor slice_axis(const Tensor& x, int64_t axis, int64_t start, int64_t stop, int64_t step) {
  KEEL_CHECK(x.defined(), ValueError, "slice_axis: x is an undefined tensor");
  KEEL_CHECK(step != 0, ValueError, "slice_axis: step cannot be zero");
  const int64_t ax = normalize_axis(axis, x.ndim(), "slice_axis");
  const int64_t n = x.shape()[ax];
  // Python's slice.indices(n): wrap negative bounds once, then clamp to the valid range for the step's sign.
  auto fix = [&](int64_t v) {
    if (v < 0) v += n;
    return step > 0 ? std::clamp<int64_t>(v, 0, n) : std::clamp<int64_t>(v, -1, n - 1);
  };
  const int64_t b = fix(start), e = fix(stop);
  const int64_t count = step > 0 ? (e > b ? (e - b + step - 1) / step : 0) : (b > e ? (b - e - step - 1) / -step : 0);
  SliceAttrs a;
  for (int64_t i = 0; i < x.ndim(); ++i) {
    a.start.push_back(i == ax ? (count ? b : 0) : 0);
    a.size.push_back(i == ax ? count : x.shape()[i]);
    a.step.push_back(i == ax ? step : 1);
  }
  Tensor v = detail::slice_view(x, a);
  // Negative strides stay inside this family: a reversed slice is returned as a contiguous copy.
  return step < 0 ? v.contiguous() : v;
}

std::vector<Tensor> split(const Tensor& x, int64_t sections, int64_t axis) {
  KEEL_CHECK(x.defined(), ValueError, "split: x is an undefined tensor");
  const int64_t ax = normalize_axis(axis, x.ndim(), "split");
  const int64_t n = x.shape()[ax];
  KEEL_CHECK(sections > 0 && n % sections == 0, ValueError, "split: axis ", ax, " of shape ", shape_str(x.shape()),
             " (size ", n, ") cannot be split into ", sections, " equal sections");
  std::vector<Tensor> out;
  const int64_t part = n / sections;
  for (int64_t i = 0; i < sections; ++i) out.push_back(slice_axis(x, ax, i * part, (i + 1) * part));
  return out;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& indices, int64_t axis) {
  KEEL_CHECK(x.defined(), ValueError, "split: x is an undefined tensor");
  const int64_t ax = normalize_axis(axis, x.ndim(), "split");
  std::vector<Tensor> out;
  int64_t prev = 0;
  for (int64_t idx : indices) {
    out.push_back(slice_axis(x, ax, prev, idx));
    prev = idx;
  }
  out.push_back(slice_axis(x, ax, prev, x.shape()[ax]));
  return out;
}

}  // namespace ops
}  // namespace keel
