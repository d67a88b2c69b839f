// Reductions: glue of the primitive ops Sum, Max, Min, Prod, ArgMax, ArgMin (validation, output shape and
// dtype, dispatch) and the composites mean, var, std and logsumexp written with public ops.
//
// Dtype rules (NumPy-like, with Keras's "sum of int32 is int32"): sum and prod keep float32/float64,
// int32 and int64; bool and uint8 sum as int32. max/min keep the input dtype. float16/bfloat16 inputs
// are reduced in float32 and cast back. mean/var/std/logsumexp of integers give float32.
#include <cmath>
#include <limits>

#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/reduction.h"
#include "record.h"
#include "reduction_attrs.h"

namespace keel::ops {
namespace {

bool is_half(DType dt) { return dt == DType::f16 || dt == DType::bf16; }

Shape reduced_shape(const Shape& s, const std::vector<int64_t>& axes, bool keepdims) {
  Shape out;
  size_t k = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i) {
    bool reduced = k < axes.size() && axes[k] == i;
    if (reduced) ++k;
    if (!reduced) out.push_back(s[i]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

// Max and min have no identity: reducing over an empty axis is an error (as in NumPy).
void check_nonempty_axes(const char* name, const Tensor& x, const std::vector<int64_t>& axes) {
  for (int64_t a : axes)
    KEEL_CHECK(x.shape()[a] > 0, ValueError, name, ": cannot reduce over axis ", a, " of size 0 (input shape ",
               shape_str(x.shape()), "); the operation has no identity");
}

Tensor reduce(OpId op, const char* name, const Tensor& x, const Axes& axes, bool keepdims) {
  KEEL_CHECK(x.defined(), ValueError, name, ": x is an undefined tensor");
  std::vector<int64_t> ax = normalize_axes(axes, x.ndim(), name);
  if (op == OpId::Max || op == OpId::Min) check_nonempty_axes(name, x, ax);
  if (is_half(x.dtype())) return reduce(op, name, cast(x, DType::f32), ax, keepdims).astype(x.dtype());
  DType out_dt = x.dtype();
  if ((op == OpId::Sum || op == OpId::Prod) && (out_dt == DType::b8 || out_dt == DType::u8)) out_dt = DType::i32;
  Tensor in[] = {x.dtype() == out_dt ? x : cast(x, out_dt)};
  Tensor out[] = {empty(reduced_shape(x.shape(), ax, keepdims), out_dt, x.device())};
  run_op(op, in, out, ReduceAttrs{ax, keepdims});
  return out[0];
}

Tensor arg_reduce(OpId op, const char* name, const Tensor& x, std::optional<int64_t> axis, bool keepdims) {
  KEEL_CHECK(x.defined(), ValueError, name, ": x is an undefined tensor");
  if (!axis) {
    // No axis: the index into the flattened tensor (keepdims keeps every axis as size 1).
    KEEL_CHECK(x.numel() > 0, ValueError, name, ": attempt to get ", name, " of an empty tensor of shape ",
               shape_str(x.shape()));
    Tensor r = arg_reduce(op, name, reshape(x.detach(), {x.numel()}), 0, false);
    return keepdims ? reshape(r, Shape(x.ndim(), 1)) : r;
  }
  int64_t a = normalize_axis(*axis, x.ndim(), name);
  KEEL_CHECK(x.shape()[a] > 0, ValueError, name, ": attempt to get ", name, " over axis ", a,
             " of size 0 (input shape ", shape_str(x.shape()), ")");
  Tensor in[] = {is_half(x.dtype()) ? cast(x.detach(), DType::f32) : x};
  Tensor out[] = {empty(reduced_shape(x.shape(), {a}, keepdims), DType::i64, x.device())};
  run_op(op, in, out, ArgReduceAttrs{a});
  return out[0];
}

// The floating tensor a composite computes with: integers become float32.
Tensor as_float(const Tensor& x) { return is_floating(x.dtype()) ? x : cast(x, DType::f32); }

int64_t reduced_count(const Tensor& x, const std::vector<int64_t>& axes) {
  int64_t n = 1;
  for (int64_t a : axes) n *= x.shape()[a];
  return n;
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) { return reduce(OpId::Sum, "sum", x, axes, keepdims); }
Tensor max(const Tensor& x, const Axes& axes, bool keepdims) { return reduce(OpId::Max, "max", x, axes, keepdims); }
Tensor min(const Tensor& x, const Axes& axes, bool keepdims) { return reduce(OpId::Min, "min", x, axes, keepdims); }
Tensor prod(const Tensor& x, const Axes& axes, bool keepdims) {
  return reduce(OpId::Prod, "prod", x, axes, keepdims);
}

Tensor argmax(const Tensor& x, std::optional<int64_t> axis, bool keepdims) {
  return arg_reduce(OpId::ArgMax, "argmax", x, axis, keepdims);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> axis, bool keepdims) {
  return arg_reduce(OpId::ArgMin, "argmin", x, axis, keepdims);
}

// --- composites ---

Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
  KEEL_CHECK(x.defined(), ValueError, "mean: x is an undefined tensor");
  std::vector<int64_t> ax = normalize_axes(axes, x.ndim(), "mean");
  if (is_half(x.dtype())) return mean(cast(x, DType::f32), ax, keepdims).astype(x.dtype());
  Tensor s = sum(as_float(x), ax, keepdims);
  // An empty reduction gives 0/0 = NaN, as NumPy does.
  return divide(s, scalar_tensor(static_cast<double>(reduced_count(x, ax)), s.dtype(), s.device()));
}

Tensor var(const Tensor& x, const Axes& axes, bool keepdims) {
  KEEL_CHECK(x.defined(), ValueError, "var: x is an undefined tensor");
  std::vector<int64_t> ax = normalize_axes(axes, x.ndim(), "var");
  if (is_half(x.dtype())) return var(cast(x, DType::f32), ax, keepdims).astype(x.dtype());
  Tensor xf = as_float(x);
  // Two passes (mean, then mean of squared deviations): no cancellation as in E[x²] - E[x]².
  Tensor d = subtract(xf, mean(xf, ax, /*keepdims=*/true));
  return mean(square(d), ax, keepdims);
}

Tensor std(const Tensor& x, const Axes& axes, bool keepdims) { return sqrt(var(x, axes, keepdims)); }

Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims) {
  KEEL_CHECK(x.defined(), ValueError, "logsumexp: x is an undefined tensor");
  std::vector<int64_t> ax = normalize_axes(axes, x.ndim(), "logsumexp");
  check_nonempty_axes("logsumexp", x, ax);
  Tensor xf = as_float(x);
  // The shift m is a constant for autograd, so the gradient is exactly softmax(x). Infinite or NaN
  // maxima (all -inf rows) shift by 0 instead, so that -inf - -inf never makes a NaN.
  Tensor m = max(xf.detach(), ax, /*keepdims=*/true);
  Tensor inf = scalar_tensor(std::numeric_limits<double>::infinity(), m.dtype(), m.device());
  m = where(less(abs(m), inf), m, scalar_tensor(0.0, m.dtype(), m.device()));
  Tensor r = add(log(sum(exp(subtract(xf, m)), ax, /*keepdims=*/true)), m);
  return keepdims ? r : reshape(r, reduced_shape(x.shape(), ax, false));
}

}  // namespace keel::ops
