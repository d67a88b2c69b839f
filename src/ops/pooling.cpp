// Max and average pooling (channels-last): "valid"/"same" resolved with TensorFlow's rule into explicit
// padding, then MaxPool / AvgPool; the 1-D forms are height-1 views of the 2-D ops.
#include <algorithm>

#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "pooling_attrs.h"
#include "record.h"
#include "spatial_args.h"

namespace keel {
namespace {

// Output shape of 2-D pooling over xs; `shown` is the shape error messages quote (the caller's 1-D input).
Shape pool_output_shape(const Shape& xs, const PoolAttrs& a, const char* op, const Shape& shown) {
  KEEL_CHECK(xs.size() == 4, ShapeError, op, ": x must be 4-D (N, H, W, C), got shape ", shape_str(xs));
  Shape out{xs[0], 0, 0, xs[3]};
  for (int i = 0; i < 2; ++i) {
    int64_t span = xs[i + 1] + a.pad_before[i] + a.pad_after[i] - a.window[i];
    out[i + 1] = span < 0 ? 0 : span / a.strides[i] + 1;
    const bool one_d = shown.size() == 3;
    const Shape window = one_d ? Shape{a.window[1]} : Shape{a.window[0], a.window[1]};
    const Shape strides = one_d ? Shape{a.strides[1]} : Shape{a.strides[0], a.strides[1]};
    KEEL_CHECK(out[i + 1] >= 1, ValueError, op, ": the output size would be zero or negative: x has shape ",
               shape_str(shown), ", pool_size ", shape_str(window), ", strides ", shape_str(strides));
  }
  return out;
}
Shape pool_output_shape(const Shape& xs, const PoolAttrs& a, const char* op) {
  return pool_output_shape(xs, a, op, xs);
}

// Validates x (rank `rank`, floating) and resolves pool_size/strides/padding into 2-D attrs; 1-D input
// gets a height-1 window.
PoolAttrs resolve_pool(const Tensor& x, int64_t rank, const std::vector<int64_t>& pool_size,
                       const ops::PoolOptions& o, const char* op) {
  KEEL_CHECK(x.defined(), ValueError, op, ": x is an undefined tensor");
  KEEL_CHECK(x.ndim() == rank, ShapeError, op, ": x must be ", rank, "-D (", rank == 3 ? "N, W, C" : "N, H, W, C",
             "), got shape ", shape_str(x.shape()));
  KEEL_CHECK(is_floating(x.dtype()), DTypeError, op, ": expected a floating-point tensor, got ",
             dtype_name(x.dtype()));
  KEEL_CHECK(o.padding == "valid" || o.padding == "same", ValueError, op,
             ": padding must be \"valid\" or \"same\", got \"", o.padding, "\"");
  const size_t n = static_cast<size_t>(rank - 2);
  auto win = per_axis(pool_size, n, "pool_size", op);
  auto str = o.strides.empty() ? win : per_axis(o.strides, n, "strides", op);
  PoolAttrs a;
  if (n == 1) {
    a.window = {1, win[0]};
    a.strides = {1, str[0]};
  } else {
    a.window = {win[0], win[1]};
    a.strides = {str[0], str[1]};
  }
  const Shape& xs = x.shape();
  for (int i = 0; i < 2; ++i) {
    const int64_t in = n == 1 ? (i == 0 ? 1 : xs[1]) : xs[i + 1];
    if (o.padding != "same") continue;
    const int64_t out = (in + a.strides[i] - 1) / a.strides[i];
    const int64_t total = std::max((out - 1) * a.strides[i] + a.window[i] - in, int64_t{0});
    a.pad_before[i] = total / 2;
    a.pad_after[i] = total - a.pad_before[i];
  }
  return a;
}

Tensor pool2d(OpId op_id, const Tensor& x, const PoolAttrs& a, const char* op, const Shape& shown) {
  Shape out_shape = pool_output_shape(x.shape(), a, op, shown);
  Tensor y = empty(out_shape, x.dtype(), x.device());
  Tensor in[] = {x};
  Tensor out[] = {y};
  run_op(op_id, in, out, a);
  return y;
}

Tensor pool_nd(OpId op_id, const Tensor& x, int64_t rank, const std::vector<int64_t>& pool_size,
               const ops::PoolOptions& o, const char* op) {
  PoolAttrs a = resolve_pool(x, rank, pool_size, o, op);
  if (rank == 4) return pool2d(op_id, x, a, op, x.shape());
  return ops::squeeze(pool2d(op_id, ops::expand_dims(x, 1), a, op, x.shape()), {1});
}

}  // namespace

namespace detail {

Tensor max_pool_backward(const Tensor& x, const Tensor& grad_y, const PoolAttrs& attrs) {
  Shape expect = pool_output_shape(x.shape(), attrs, "max_pool_backward");
  KEEL_CHECK(grad_y.shape() == expect && grad_y.dtype() == x.dtype(), ShapeError,
             "max_pool_backward: grad_y has shape ", shape_str(grad_y.shape()), " and dtype ",
             dtype_name(grad_y.dtype()), ", expected ", shape_str(expect), " and ", dtype_name(x.dtype()));
  Tensor gx = empty(x.shape(), x.dtype(), x.device());
  Tensor in[] = {x, grad_y};
  Tensor out[] = {gx};
  run_op(OpId::MaxPoolBackward, in, out, attrs);
  return gx;
}

Tensor avg_pool_forward(const Tensor& x, const PoolAttrs& attrs) {
  KEEL_CHECK(is_floating(x.dtype()), DTypeError, "avg_pool: expected a floating-point tensor, got ",
             dtype_name(x.dtype()));
  return pool2d(OpId::AvgPool, x, attrs, "avg_pool", x.shape());
}

Tensor avg_pool_backward(const Tensor& grad_y, const PoolAttrs& attrs) {
  Shape expect = pool_output_shape(attrs.input_shape, attrs, "avg_pool_backward");
  KEEL_CHECK(grad_y.shape() == expect, ShapeError, "avg_pool_backward: grad_y has shape ", shape_str(grad_y.shape()),
             ", expected ", shape_str(expect), " for input shape ", shape_str(attrs.input_shape));
  Tensor gx = empty(attrs.input_shape, grad_y.dtype(), grad_y.device());
  Tensor in[] = {grad_y};
  Tensor out[] = {gx};
  run_op(OpId::AvgPoolBackward, in, out, attrs);
  return gx;
}

}  // namespace detail

namespace ops {

Tensor max_pool1d(const Tensor& x, std::vector<int64_t> pool_size, const PoolOptions& options) {
  return pool_nd(OpId::MaxPool, x, 3, pool_size, options, "max_pool1d");
}
Tensor max_pool2d(const Tensor& x, std::vector<int64_t> pool_size, const PoolOptions& options) {
  return pool_nd(OpId::MaxPool, x, 4, pool_size, options, "max_pool2d");
}
Tensor avg_pool1d(const Tensor& x, std::vector<int64_t> pool_size, const PoolOptions& options) {
  return pool_nd(OpId::AvgPool, x, 3, pool_size, options, "avg_pool1d");
}
Tensor avg_pool2d(const Tensor& x, std::vector<int64_t> pool_size, const PoolOptions& options) {
  return pool_nd(OpId::AvgPool, x, 4, pool_size, options, "avg_pool2d");
}

}  // namespace ops
}  // namespace keel
