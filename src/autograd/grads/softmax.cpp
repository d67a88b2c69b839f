// Gradients of Softmax and LogSoftmax from the saved output y:
//   softmax: dx = y·(g - sum(g·y, axis)),  log_softmax: dx = g - exp(y)·sum(g, axis).
#include "autograd/grad_rules.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/reduction.h"
#include "ops/softmax_attrs.h"

namespace keel {
namespace {

std::vector<Tensor> softmax_grad(const GradCtx& ctx) {
  const int64_t axis = ctx.attrs<SoftmaxAttrs>().axis;
  const Tensor& y = ctx.output(0);
  const Tensor g = ctx.grad();
  return {ops::multiply(y, ops::subtract(g, ops::sum(ops::multiply(g, y), {axis}, /*keepdims=*/true)))};
}

std::vector<Tensor> log_softmax_grad(const GradCtx& ctx) {
  const int64_t axis = ctx.attrs<SoftmaxAttrs>().axis;
  const Tensor g = ctx.grad();
  return {ops::subtract(g, ops::multiply(ops::exp(ctx.output(0)), ops::sum(g, {axis}, /*keepdims=*/true)))};
}

KEEL_REGISTER_GRAD(Softmax, softmax_grad);
KEEL_REGISTER_GRAD(LogSoftmax, log_softmax_grad);

}  // namespace
}  // namespace keel
