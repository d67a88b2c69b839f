// Gradients of the fused cross-entropies (g is the upstream gradient, one value per sample):
//   sigmoid:  dlogits = (sigmoid(x) - z)·g,  dlabels = -x·g
//   softmax:  dlogits = (softmax(x)·sum(labels) - labels)·g,  dlabels = -log_softmax(x)·g
//   sparse:   dlogits = (softmax(x) - one_hot(labels))·g
#include "autograd/grad_rules.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "keel/ops/reduction.h"
#include "ops/cross_entropy_attrs.h"

namespace keel {
namespace {

std::vector<Tensor> sigmoid_ce_grad(const GradCtx& ctx) {
  const Tensor &z = ctx.input(0), &x = ctx.input(1);
  const Tensor g = ctx.grad();
  Tensor dz, dx;
  if (ctx.needs_grad(0)) dz = ops::neg(ops::multiply(x, g));
  if (ctx.needs_grad(1)) dx = ops::multiply(ops::subtract(ops::sigmoid(x), z), g);
  return {dz, dx};
}

std::vector<Tensor> softmax_ce_grad(const GradCtx& ctx) {
  const int64_t axis = ctx.attrs<SoftmaxCrossEntropyAttrs>().axis;
  const Tensor &labels = ctx.input(0), &x = ctx.input(1);
  const Tensor g = ops::expand_dims(ctx.grad(), axis);
  Tensor dlabels, dx;
  if (ctx.needs_grad(0)) dlabels = ops::neg(ops::multiply(ops::log_softmax(x, axis), g));
  if (ctx.needs_grad(1)) {
    Tensor total = ops::sum(labels, {axis}, /*keepdims=*/true);
    dx = ops::multiply(ops::subtract(ops::multiply(ops::softmax(x, axis), total), labels), g);
  }
  return {dlabels, dx};
}

std::vector<Tensor> sparse_softmax_ce_grad(const GradCtx& ctx) {
  const Tensor &labels = ctx.input(0), &x = ctx.input(1);
  if (!ctx.needs_grad(1)) return {Tensor(), Tensor()};
  Tensor onehot = ops::one_hot(labels, x.shape().back(), -1, x.dtype());
  Tensor g = ops::expand_dims(ctx.grad(), -1);
  return {Tensor(), ops::multiply(ops::subtract(ops::softmax(x, -1), onehot), g)};
}

KEEL_REGISTER_GRAD(SigmoidCrossEntropy, sigmoid_ce_grad);
KEEL_REGISTER_GRAD(SoftmaxCrossEntropy, softmax_ce_grad);
KEEL_REGISTER_GRAD(SparseSoftmaxCrossEntropy, sparse_softmax_ce_grad);

}  // namespace
}  // namespace keel
