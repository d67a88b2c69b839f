// Gradients of the normalisation ops.
//   BatchNormTrain: the BatchNormBackward op for y, plus the contributions of the returned statistics
//     when they are used: d mean/dx = 1/M, d var/dx = 2(x - mean)/M (M elements per channel).
//   BatchNormInference: composite, with inv = 1/sqrt(var + eps) and x_c = x - mean:
//     dx = g·gamma·inv, dgamma = sum(g·x_c)·inv, dbeta = sum(g), dmean = -sum(g)·gamma·inv,
//     dvar = -sum(g·x_c)·gamma·inv³/2 (sums over every axis but the channel axis).
//   LayerNorm: the LayerNormBackward op with the per-row statistics saved by the forward op.
#include "autograd/grad_rules.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/reduction.h"
#include "ops/normalization_attrs.h"

namespace keel {
namespace {

// Shape that broadcasts a per-channel vector of length x.shape[axis] against x.
Shape channel_shape(const Tensor& x, int64_t axis) {
  Shape s(x.ndim(), 1);
  s[axis] = x.shape()[axis];
  return s;
}

// Sum over every axis but `axis` (an empty axis list would mean all axes, so rank 1 is the identity).
Tensor sum_but(const Tensor& t, int64_t axis) {
  std::vector<int64_t> axes;
  for (int64_t d = 0; d < t.ndim(); ++d)
    if (d != axis) axes.push_back(d);
  return axes.empty() ? t : ops::sum(t, axes);
}

Tensor add_or_set(const Tensor& acc, const Tensor& term) { return acc.defined() ? ops::add(acc, term) : term; }

std::vector<Tensor> batch_norm_train_grad(const GradCtx& ctx) {
  const auto& attrs = ctx.attrs<BatchNormAttrs>();
  const Tensor &x = ctx.input(0), &gamma = ctx.input(1);
  const Tensor &mean = ctx.output(1), &var = ctx.output(2);
  const Tensor &gy = ctx.grad_outputs[0], &gmean = ctx.grad_outputs[1], &gvar = ctx.grad_outputs[2];
  std::vector<Tensor> r(3);
  if (gy.defined()) {
    auto [dx, dgamma, dbeta] = detail::batch_norm_backward(x, gamma, mean, var, gy, attrs);
    r = {dx, dgamma, dbeta};
  }
  if ((gmean.defined() || gvar.defined()) && ctx.needs_grad(0)) {
    const Shape cs = channel_shape(x, attrs.axis);
    const double m = x.shape()[attrs.axis] == 0 ? 1.0 : static_cast<double>(x.numel() / x.shape()[attrs.axis]);
    Tensor extra;
    if (gmean.defined()) extra = ops::broadcast_to(ops::reshape(gmean, cs) / m, x.shape()).contiguous();
    if (gvar.defined())
      extra = add_or_set(extra, ops::multiply(ops::reshape(gvar, cs), ops::subtract(x, ops::reshape(mean, cs))) *
                                    (2.0 / m));
    r[0] = add_or_set(r[0], extra);
  }
  return r;
}

std::vector<Tensor> batch_norm_inference_grad(const GradCtx& ctx) {
  const auto& attrs = ctx.attrs<BatchNormAttrs>();
  const Tensor &x = ctx.input(0), &mean = ctx.input(1), &var = ctx.input(2), &gamma = ctx.input(3);
  const Tensor g = ctx.grad();
  const Shape cs = channel_shape(x, attrs.axis);
  Tensor inv = ops::rsqrt(var + attrs.epsilon);  // (C)
  std::vector<Tensor> r(5);
  if (ctx.needs_grad(0)) r[0] = ops::multiply(g, ops::reshape(ops::multiply(gamma, inv), cs));
  Tensor gsum;
  if (ctx.needs_grad(1) || ctx.needs_grad(4)) gsum = sum_but(g, attrs.axis);
  if (ctx.needs_grad(1)) r[1] = ops::neg(ops::multiply(gsum, ops::multiply(gamma, inv)));
  if (ctx.needs_grad(2) || ctx.needs_grad(3)) {
    Tensor gxc = sum_but(ops::multiply(g, ops::subtract(x, ops::reshape(mean, cs))), attrs.axis);
    if (ctx.needs_grad(2)) r[2] = ops::multiply(ops::multiply(gxc, gamma), ops::pow(inv, 3.0)) * -0.5;
    if (ctx.needs_grad(3)) r[3] = ops::multiply(gxc, inv);
  }
  if (ctx.needs_grad(4)) r[4] = gsum;
  return r;
}

std::vector<Tensor> layer_norm_grad(const GradCtx& ctx) {
  const Tensor& gy = ctx.grad_outputs[0];
  if (!gy.defined()) return {};  // only the hidden statistics were reached: nothing flows back
  auto [dx, dgamma, dbeta] = detail::layer_norm_backward(ctx.input(0), ctx.input(1), ctx.output(1), ctx.output(2),
                                                         gy, ctx.attrs<LayerNormAttrs>());
  return {dx, dgamma, dbeta};
}

KEEL_REGISTER_GRAD(BatchNormTrain, batch_norm_train_grad);
KEEL_REGISTER_GRAD(BatchNormInference, batch_norm_inference_grad);
KEEL_REGISTER_GRAD(LayerNorm, layer_norm_grad);

}  // namespace
}  // namespace keel
