// Gradients of Softmax and LogSoftmax from the saved output y, through their backward ops:
//   softmax: dx = y·(g - sum(g·y, axis)),  log_softmax: dx = g - exp(y)·sum(g, axis).
// The backward ops are not differentiable (no second order through softmax).
#include "autograd/grad_rules.h"
#include "ops/softmax_attrs.h"

namespace keel {
namespace {

std::vector<Tensor> softmax_grad(const GradCtx& ctx) {
  const Tensor& y = ctx.output(0);
  // A seed passed to backward() may have another dtype; the backward op wants y's.
  return {detail::softmax_backward(y, ctx.grad(0).astype(y.dtype()), ctx.attrs<SoftmaxAttrs>().axis)};
}

std::vector<Tensor> log_softmax_grad(const GradCtx& ctx) {
  const Tensor& y = ctx.output(0);
  return {detail::log_softmax_backward(y, ctx.grad(0).astype(y.dtype()), ctx.attrs<SoftmaxAttrs>().axis)};
}

KEEL_REGISTER_GRAD(Softmax, softmax_grad);
KEEL_REGISTER_GRAD(LogSoftmax, log_softmax_grad);

}  // namespace
}  // namespace keel
