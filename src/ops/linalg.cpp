// matmul and dense: validation, NumPy-style promotion of 1-D operands and leading-dim flattening (as
// views), then the MatMul / Dense primitive ops (kernels in backends/*/matmul.cpp and ref/linalg.cpp).
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "linalg_attrs.h"
#include "record.h"

namespace keel::ops {
namespace {

DType common_float_dtype(const Tensor& a, const Tensor& b, const char* op, const char* an, const char* bn) {
  KEEL_CHECK(is_floating(a.dtype()) && is_floating(b.dtype()), DTypeError, op,
             ": expected floating-point operands, got ", an, " ", dtype_name(a.dtype()), " with shape ",
             shape_str(a.shape()), " and ", bn, " ", dtype_name(b.dtype()), " with shape ", shape_str(b.shape()));
  return promote_types(a.dtype(), b.dtype());
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  KEEL_CHECK(a.defined() && b.defined(), ValueError, "matmul: an operand is an undefined tensor");
  KEEL_CHECK(a.ndim() >= 1 && b.ndim() >= 1, ValueError, "matmul: operands must be at least 1-D, got a with shape ",
             shape_str(a.shape()), " and b with shape ", shape_str(b.shape()));
  DType dt = common_float_dtype(a, b, "matmul", "a", "b");
  const int64_t ka = a.shape().back();
  const int64_t kb = b.ndim() == 1 ? b.shape()[0] : b.shape()[b.ndim() - 2];
  KEEL_CHECK(ka == kb, ShapeError, "matmul: inner dimensions differ: a has shape ", shape_str(a.shape()),
             ", b has shape ", shape_str(b.shape()), " (", ka, " vs ", kb, ")");
  // 1-D operands become (1, k) / (k, 1) views; the added axis is removed from the result.
  Tensor a2 = a.ndim() == 1 ? reshape(a, {1, ka}) : a;
  Tensor b2 = b.ndim() == 1 ? reshape(b, {kb, 1}) : b;
  if (a2.dtype() != dt) a2 = a2.astype(dt);
  if (b2.dtype() != dt) b2 = b2.astype(dt);

  const Shape& sa = a2.shape();
  const Shape& sb = b2.shape();
  const size_t na = sa.size() - 2, nb = sb.size() - 2, nbatch = std::max(na, nb);
  Shape out_shape(nbatch);
  for (size_t i = 0; i < nbatch; ++i) {
    int64_t da = i + na >= nbatch ? sa[i + na - nbatch] : 1;
    int64_t db = i + nb >= nbatch ? sb[i + nb - nbatch] : 1;
    KEEL_CHECK(da == db || da == 1 || db == 1, ShapeError,
               "matmul: batch dimensions do not broadcast: a has shape ", shape_str(a.shape()), ", b has shape ",
               shape_str(b.shape()));
    out_shape[i] = da == 1 ? db : da;
  }
  out_shape.push_back(sa[sa.size() - 2]);
  out_shape.push_back(sb.back());
  Tensor y = empty(out_shape, dt, a.device());
  Tensor in[] = {a2, b2};
  Tensor out[] = {y};
  run_op(OpId::MatMul, in, out);

  if (a.ndim() > 1 && b.ndim() > 1) return y;
  Shape final_shape(out_shape.begin(), out_shape.end() - 2);
  if (a.ndim() > 1) final_shape.push_back(out_shape[out_shape.size() - 2]);
  if (b.ndim() > 1) final_shape.push_back(out_shape.back());
  return reshape(y, final_shape);
}

Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias) {
  KEEL_CHECK(x.defined() && kernel.defined(), ValueError, "dense: x or kernel is an undefined tensor");
  KEEL_CHECK(x.ndim() >= 1, ValueError, "dense: x must be at least 1-D, got shape ", shape_str(x.shape()));
  KEEL_CHECK(kernel.ndim() == 2, ShapeError, "dense: kernel must be 2-D (in, units), got shape ",
             shape_str(kernel.shape()));
  const int64_t in_features = kernel.shape()[0], units = kernel.shape()[1];
  KEEL_CHECK(x.shape().back() == in_features, ShapeError, "dense: x has shape ", shape_str(x.shape()),
             " but kernel has shape ", shape_str(kernel.shape()), " (last axis of x ", x.shape().back(),
             " vs kernel input size ", in_features, ")");
  KEEL_CHECK(is_floating(x.dtype()) && x.dtype() == kernel.dtype(), DTypeError,
             "dense: x and kernel must have the same floating-point dtype, got ", dtype_name(x.dtype()), " and ",
             dtype_name(kernel.dtype()));
  if (bias.defined()) {
    KEEL_CHECK(bias.ndim() == 1 && bias.shape()[0] == units, ShapeError, "dense: bias must have shape ",
               shape_str({units}), " to match kernel ", shape_str(kernel.shape()), ", got ", shape_str(bias.shape()));
    KEEL_CHECK(bias.dtype() == x.dtype(), DTypeError, "dense: bias dtype ", dtype_name(bias.dtype()),
               " differs from x dtype ", dtype_name(x.dtype()));
  }
  int64_t rows = 1;
  for (int64_t i = 0; i + 1 < x.ndim(); ++i) rows *= x.shape()[i];
  Tensor x2 = x.ndim() == 2 ? x : reshape(x, {rows, in_features});
  Tensor y = empty({rows, units}, x.dtype(), x.device());
  DenseAttrs attrs{bias.defined()};
  Tensor out[] = {y};
  if (bias.defined()) {
    Tensor in[] = {x2, kernel, bias};
    run_op(OpId::Dense, in, out, attrs);
  } else {
    Tensor in[] = {x2, kernel};
    run_op(OpId::Dense, in, out, attrs);
  }
  if (x.ndim() == 2) return y;
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(units);
  return reshape(y, out_shape);
}

}  // namespace keel::ops
