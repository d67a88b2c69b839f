// Gradients of the convolution family. Conv is bilinear in (x, kernel); write BI(gy, k) for its adjoint
// in x (ConvBackwardInput) and BK(x, gy) for its adjoint in the kernel (ConvBackwardKernel), so that
// <conv(x, k), gy> = <x, BI(gy, k)> = <k, BK(x, gy)>. Differentiating these identities:
//   Conv:               dx = BI(g, k),          dk = BK(x, g)
//   ConvBackwardInput:  d gy = conv(g, k),      dk = BK(g, gy)       (g has x's shape)
//   ConvBackwardKernel: dx = BI(gy, g),         d gy = conv(x, g)    (g has the kernel's shape)
#include "autograd/grad_rules.h"
#include "ops/conv_attrs.h"

namespace keel {
namespace {

ConvAttrs with_input_shape(ConvAttrs a, const Shape& s) {
  a.input_shape = s;
  return a;
}
ConvAttrs with_kernel_shape(ConvAttrs a, const Shape& s) {
  a.kernel_shape = s;
  return a;
}

std::vector<Tensor> conv_grad(const GradCtx& ctx) {
  const auto& a = ctx.attrs<ConvAttrs>();
  const Tensor &x = ctx.input(0), &k = ctx.input(1);
  const Tensor g = ctx.grad();
  Tensor gx, gk;
  if (ctx.needs_grad(0)) gx = detail::conv_backward_input(g, k, with_input_shape(a, x.shape()));
  if (ctx.needs_grad(1)) gk = detail::conv_backward_kernel(x, g, with_kernel_shape(a, k.shape()));
  return {gx, gk};
}

std::vector<Tensor> conv_backward_input_grad(const GradCtx& ctx) {
  const auto& a = ctx.attrs<ConvAttrs>();
  const Tensor &gy = ctx.input(0), &k = ctx.input(1);
  const Tensor g = ctx.grad();
  Tensor ggy, gk;
  if (ctx.needs_grad(0)) ggy = detail::conv_forward(g, k, a);
  if (ctx.needs_grad(1)) gk = detail::conv_backward_kernel(g, gy, with_kernel_shape(a, k.shape()));
  return {ggy, gk};
}

std::vector<Tensor> conv_backward_kernel_grad(const GradCtx& ctx) {
  const auto& a = ctx.attrs<ConvAttrs>();
  const Tensor &x = ctx.input(0), &gy = ctx.input(1);
  const Tensor g = ctx.grad();
  Tensor gx, ggy;
  if (ctx.needs_grad(0)) gx = detail::conv_backward_input(gy, g, with_input_shape(a, x.shape()));
  if (ctx.needs_grad(1)) ggy = detail::conv_forward(x, g, a);
  return {gx, ggy};
}

KEEL_REGISTER_GRAD(Conv, conv_grad);
KEEL_REGISTER_GRAD(ConvBackwardInput, conv_backward_input_grad);
KEEL_REGISTER_GRAD(ConvBackwardKernel, conv_backward_kernel_grad);

}  // namespace
}  // namespace keel
