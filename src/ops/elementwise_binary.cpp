// Glue of the broadcasting binary ops, comparisons, logic, where, clip and cast, and the Tensor
// arithmetic operators. Operands are converted to one compute dtype here, so kernels see a single dtype.
#include <cmath>

#include "elementwise_attrs.h"
#include "elementwise_common.h"

namespace keel::ops {
namespace {

Tensor arithmetic(OpId op, const Tensor& a, const Tensor& b) {
  detail::check_defined(a, op_name(op), "the first operand");
  detail::check_defined(b, op_name(op), "the second operand");
  DType dt = promote_types(a.dtype(), b.dtype());
  return detail::run_binary(op, a, b, dt, dt);
}

// Comparisons run in the promoted dtype and give bool; nothing to differentiate.
Tensor comparison(OpId op, const Tensor& a, const Tensor& b) {
  detail::check_defined(a, op_name(op), "the first operand");
  detail::check_defined(b, op_name(op), "the second operand");
  NoGradGuard no_grad;
  return detail::run_binary(op, a, b, promote_types(a.dtype(), b.dtype()), DType::b8);
}

// Logical ops read any dtype as nonzero = true.
Tensor logical(OpId op, const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  return detail::run_binary(op, a, b, DType::b8, DType::b8);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return arithmetic(OpId::Add, a, b); }
Tensor subtract(const Tensor& a, const Tensor& b) { return arithmetic(OpId::Subtract, a, b); }
Tensor multiply(const Tensor& a, const Tensor& b) { return arithmetic(OpId::Multiply, a, b); }
Tensor maximum(const Tensor& a, const Tensor& b) { return arithmetic(OpId::Maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return arithmetic(OpId::Minimum, a, b); }
Tensor power(const Tensor& a, const Tensor& b) { return arithmetic(OpId::Power, a, b); }
Tensor pow(const Tensor& a, const Tensor& b) { return arithmetic(OpId::Power, a, b); }
Tensor pow(const Tensor& a, double b) {
  detail::check_defined(a, "pow", "the first operand");
  return arithmetic(OpId::Power, a, scalar_tensor(b, is_floating(a.dtype()) ? a.dtype() : DType::f32, a.device()));
}

// True division: integer and bool operands give float32 (keras.ops.divide).
Tensor divide(const Tensor& a, const Tensor& b) {
  detail::check_defined(a, "divide", "the first operand");
  detail::check_defined(b, "divide", "the second operand");
  DType dt = promote_types(a.dtype(), b.dtype());
  if (!is_floating(dt)) dt = DType::f32;
  return detail::run_binary(OpId::Divide, a, b, dt, dt);
}

Tensor equal(const Tensor& a, const Tensor& b) { return comparison(OpId::Equal, a, b); }
Tensor not_equal(const Tensor& a, const Tensor& b) { return comparison(OpId::NotEqual, a, b); }
Tensor less(const Tensor& a, const Tensor& b) { return comparison(OpId::Less, a, b); }
Tensor less_equal(const Tensor& a, const Tensor& b) { return comparison(OpId::LessEqual, a, b); }
Tensor greater(const Tensor& a, const Tensor& b) { return comparison(OpId::Greater, a, b); }
Tensor greater_equal(const Tensor& a, const Tensor& b) { return comparison(OpId::GreaterEqual, a, b); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return logical(OpId::LogicalAnd, a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return logical(OpId::LogicalOr, a, b); }
Tensor logical_xor(const Tensor& a, const Tensor& b) { return logical(OpId::LogicalXor, a, b); }

Tensor logical_not(const Tensor& x) {
  detail::check_defined(x, "logical_not", "the input");
  NoGradGuard no_grad;
  return detail::run_unary(OpId::LogicalNot, detail::to_dtype(x, DType::b8));
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  detail::check_defined(condition, "where", "the condition");
  detail::check_defined(a, "where", "the first operand");
  detail::check_defined(b, "where", "the second operand");
  detail::check_same_device(condition, a, "where");
  detail::check_same_device(a, b, "where");
  Shape shape = broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  DType dt = promote_types(a.dtype(), b.dtype());
  Tensor cond;
  {
    NoGradGuard no_grad;
    cond = detail::to_dtype(condition, DType::b8);
  }
  Tensor in[] = {cond, detail::to_dtype(a, dt), detail::to_dtype(b, dt)};
  Tensor out = empty(shape, dt, a.device());
  Tensor outs[] = {out};
  run_op(OpId::Where, in, outs);
  return out;
}

// Keeps x's dtype (bool becomes int32, as keras.ops.clip does). lo > hi gives hi everywhere, like NumPy.
Tensor clip(const Tensor& x, double lo, double hi) {
  detail::check_defined(x, "clip", "the input");
  KEEL_CHECK(!std::isnan(lo) && !std::isnan(hi), ValueError, "clip: bounds must not be NaN, got lo=", lo,
             " and hi=", hi);
  Tensor xt = x.dtype() == DType::b8 ? detail::to_dtype(x, DType::i32) : x;
  return detail::run_unary(OpId::Clip, xt, ClipAttrs{lo, hi});
}

Tensor cast(const Tensor& x, DType dtype) {
  detail::check_defined(x, "cast", "the input");
  if (x.dtype() == dtype) return x;
  Tensor out = empty(x.shape(), dtype, x.device());
  Tensor in[] = {x};
  Tensor outs[] = {out};
  run_op(OpId::Cast, in, outs);
  return out;
}

}  // namespace keel::ops

namespace keel {
namespace {
// The 0-d operand for `tensor op scalar`: the tensor's dtype when floating, else float32.
Tensor scalar_like(const Tensor& t, double v) {
  detail::check_defined(t, "operator", "the tensor operand");
  return scalar_tensor(v, is_floating(t.dtype()) ? t.dtype() : DType::f32, t.device());
}
}  // namespace

Tensor operator-(const Tensor& x) { return ops::neg(x); }
Tensor operator+(const Tensor& a, const Tensor& b) { return ops::add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return ops::subtract(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return ops::multiply(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return ops::divide(a, b); }
Tensor operator+(const Tensor& a, double b) { return ops::add(a, scalar_like(a, b)); }
Tensor operator-(const Tensor& a, double b) { return ops::subtract(a, scalar_like(a, b)); }
Tensor operator*(const Tensor& a, double b) { return ops::multiply(a, scalar_like(a, b)); }
Tensor operator/(const Tensor& a, double b) { return ops::divide(a, scalar_like(a, b)); }
Tensor operator+(double a, const Tensor& b) { return ops::add(scalar_like(b, a), b); }
Tensor operator-(double a, const Tensor& b) { return ops::subtract(scalar_like(b, a), b); }
Tensor operator*(double a, const Tensor& b) { return ops::multiply(scalar_like(b, a), b); }
Tensor operator/(double a, const Tensor& b) { return ops::divide(scalar_like(b, a), b); }
Tensor operator<(const Tensor& a, double b) { return ops::less(a, scalar_like(a, b)); }
Tensor operator<=(const Tensor& a, double b) { return ops::less_equal(a, scalar_like(a, b)); }
Tensor operator>(const Tensor& a, double b) { return ops::greater(a, scalar_like(a, b)); }
Tensor operator>=(const Tensor& a, double b) { return ops::greater_equal(a, scalar_like(a, b)); }

}  // namespace keel
