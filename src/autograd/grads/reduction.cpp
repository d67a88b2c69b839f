// Gradient rules of Sum, Max, Min and Prod (ArgMax/ArgMin are not differentiable).
#include "autograd/grad_rules.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/reduction.h"
#include "ops/reduction_attrs.h"

namespace keel {
namespace {

// A reduction's output (or its gradient) with the reduced axes put back as size 1, so it broadcasts
// against the input.
Tensor with_kept_dims(const Tensor& t, const Shape& in_shape, const ReduceAttrs& a) {
  if (a.keepdims) return t;
  Shape s = in_shape;
  for (int64_t ax : a.axes) s[ax] = 1;
  return ops::reshape(t, s);
}

std::vector<Tensor> sum_grad(const GradCtx& c) {
  const Tensor& x = c.input(0);
  Tensor g = with_kept_dims(c.grad(), x.shape(), c.attrs<ReduceAttrs>());
  // Materialised: a broadcast (0-stride) view would alias one value across a leaf's .grad().
  return {ops::broadcast_to(g, x.shape()).contiguous()};
}

// max/min: the gradient is shared equally among the tied extreme elements (like torch.amax).
std::vector<Tensor> extreme_grad(const GradCtx& c) {
  const Tensor& x = c.input(0);
  const auto& a = c.attrs<ReduceAttrs>();
  Tensor y = with_kept_dims(c.output(0), x.shape(), a);
  Tensor g = with_kept_dims(c.grad(), x.shape(), a);
  Tensor mask = ops::cast(ops::equal(x, y), x.dtype());
  Tensor count = ops::sum(mask, a.axes, /*keepdims=*/true);
  return {ops::multiply(mask, ops::divide(g, count))};
}

// d prod / d x_i is the product of the other elements. With no zero in the group that is prod / x_i;
// with one zero it is the product of the nonzero elements at the zero and 0 elsewhere; with two or more
// zeros it is 0 everywhere. Computed so that no 0/0 appears.
std::vector<Tensor> prod_grad(const GradCtx& c) {
  const Tensor& x = c.input(0);
  const auto& a = c.attrs<ReduceAttrs>();
  Tensor g = with_kept_dims(c.grad(), x.shape(), a);
  const DType dt = x.dtype();
  Tensor zero = scalar_tensor(0.0, dt, x.device()), one = scalar_tensor(1.0, dt, x.device());
  Tensor is_zero = ops::equal(x, zero);
  Tensor zeros_in_group = ops::sum(ops::cast(is_zero, dt), a.axes, /*keepdims=*/true);
  Tensor x_safe = ops::where(is_zero, one, x);
  Tensor nonzero_prod = ops::prod(x_safe, a.axes, /*keepdims=*/true);
  Tensor no_zero = ops::divide(nonzero_prod, x_safe);
  Tensor one_zero = ops::where(ops::logical_and(is_zero, ops::equal(zeros_in_group, one)), nonzero_prod, zero);
  Tensor d = ops::where(ops::equal(zeros_in_group, zero), no_zero, one_zero);
  return {ops::multiply(d, g)};
}

KEEL_REGISTER_GRAD(Sum, sum_grad);
KEEL_REGISTER_GRAD(Max, extreme_grad);
KEEL_REGISTER_GRAD(Min, extreme_grad);
KEEL_REGISTER_GRAD(Prod, prod_grad);

}  // namespace
}  // namespace keel
