// Helpers shared by the elementwise glue files (elementwise.cpp, elementwise_binary.cpp): operand checks,
// dtype conversion of operands, and the run_op calls of unary and binary elementwise ops.
#pragma once
#include "broadcast.h"
#include "keel/ops/elementwise.h"
#include "record.h"

namespace keel::detail {

/// t itself when it already has dtype dt, else a (recorded) cast.
inline Tensor to_dtype(const Tensor& t, DType dt) { return t.dtype() == dt ? t : ops::cast(t, dt); }

inline void check_defined(const Tensor& t, std::string_view op, std::string_view what) {
  KEEL_CHECK(t.defined(), ValueError, op, ": ", what, " is an undefined tensor");
}

inline void check_same_device(const Tensor& a, const Tensor& b, std::string_view op) {
  KEEL_CHECK(a.device() == b.device(), ValueError, op, ": operands are on different devices (", a.device().str(),
             " and ", b.device().str(), ")");
}

/// Runs unary `op` on x (already in the compute dtype) into a fresh tensor of the same shape and dtype.
template <class Attrs> Tensor run_unary(OpId op, const Tensor& x, const Attrs& attrs) {
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  Tensor in[] = {x};
  Tensor outs[] = {out};
  run_op(op, in, outs, attrs);
  return out;
}
inline Tensor run_unary(OpId op, const Tensor& x) {
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  Tensor in[] = {x};
  Tensor outs[] = {out};
  run_op(op, in, outs);
  return out;
}

/// Broadcasts a and b, converts both to `compute`, and runs binary `op` into a tensor of `out_dtype`.
inline Tensor run_binary(OpId op, const Tensor& a, const Tensor& b, DType compute, DType out_dtype) {
  const std::string_view name = op_name(op);
  check_defined(a, name, "the first operand");
  check_defined(b, name, "the second operand");
  check_same_device(a, b, name);
  Shape shape = a.shape() == b.shape() ? a.shape() : broadcast_shapes(a.shape(), b.shape(), name);
  Tensor in[] = {to_dtype(a, compute), to_dtype(b, compute)};
  Tensor out = empty(shape, out_dtype, a.device());
  Tensor outs[] = {out};
  run_op(op, in, outs);
  return out;
}

}  // namespace keel::detail
