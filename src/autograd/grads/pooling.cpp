// Gradients of pooling: MaxPool -> MaxPoolBackward (to each window's first maximum); AvgPool ->
// AvgPoolBackward, a linear map whose own gradient (it is differentiable) is AvgPool again.
#include "autograd/grad_rules.h"
#include "ops/pooling_attrs.h"

namespace keel {
namespace {

std::vector<Tensor> max_pool_grad(const GradCtx& ctx) {
  return {detail::max_pool_backward(ctx.input(0), ctx.grad(), ctx.attrs<PoolAttrs>())};
}

std::vector<Tensor> avg_pool_grad(const GradCtx& ctx) {
  PoolAttrs a = ctx.attrs<PoolAttrs>();
  a.input_shape = ctx.input(0).shape();
  return {detail::avg_pool_backward(ctx.grad(), a)};
}

std::vector<Tensor> avg_pool_backward_grad(const GradCtx& ctx) {
  return {detail::avg_pool_forward(ctx.grad(), ctx.attrs<PoolAttrs>())};
}

KEEL_REGISTER_GRAD(MaxPool, max_pool_grad);
KEEL_REGISTER_GRAD(AvgPool, avg_pool_grad);
KEEL_REGISTER_GRAD(AvgPoolBackward, avg_pool_backward_grad);

}  // namespace
}  // namespace keel
