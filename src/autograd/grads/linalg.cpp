// Gradients of MatMul and Dense: dA = g·Bᵀ, dB = Aᵀ·g (transposed views, no copies), reduced over
// broadcast batch dims; Dense adds db = sum of g over the rows.
#include "autograd/grad_rules.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "keel/ops/reduction.h"

namespace keel {
namespace {

// A view with the last two axes swapped.
Tensor swap_last(const Tensor& t) {
  std::vector<int64_t> perm(t.ndim());
  for (int64_t i = 0; i < t.ndim(); ++i) perm[i] = i;
  std::swap(perm[t.ndim() - 1], perm[t.ndim() - 2]);
  return ops::transpose(t, perm);
}

std::vector<Tensor> matmul_grad(const GradCtx& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor g = ctx.grad();
  Tensor ga, gb;
  if (ctx.needs_grad(0)) ga = sum_to_shape(ops::matmul(g, swap_last(b)), a.shape());
  if (ctx.needs_grad(1)) {
    if (b.ndim() == 2 && a.ndim() > 2) {
      // A weight shared by every batch: one (k, rows)·(rows, m) product instead of a batch and a sum.
      int64_t rows = 1;
      for (int64_t i = 0; i + 1 < a.ndim(); ++i) rows *= a.shape()[i];
      gb = ops::matmul(ops::transpose(ops::reshape(a, {rows, a.shape().back()})),
                       ops::reshape(g, {rows, g.shape().back()}));
    } else {
      gb = sum_to_shape(ops::matmul(swap_last(a), g), b.shape());
    }
  }
  return {ga, gb};
}

std::vector<Tensor> dense_grad(const GradCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor g = ctx.grad();
  std::vector<Tensor> grads(ctx.node.inputs.size());
  if (ctx.needs_grad(0)) grads[0] = ops::matmul(g, ops::transpose(w));
  if (ctx.needs_grad(1)) grads[1] = ops::matmul(ops::transpose(x), g);
  if (grads.size() > 2 && ctx.needs_grad(2)) grads[2] = ops::sum(g, {0});
  return grads;
}

KEEL_REGISTER_GRAD(MatMul, matmul_grad);
KEEL_REGISTER_GRAD(Dense, dense_grad);

}  // namespace
}  // namespace keel
