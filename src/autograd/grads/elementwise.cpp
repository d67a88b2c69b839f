// Gradient rules of the elementwise ops, written with public ops. Binary ops reduce the broadcast
// gradient back to each input's shape with sum_to_shape. Rules that can reuse the op's output (exp,
// sqrt, tanh, sigmoid, elu, divide, power) read the saved ctx.output(0) instead of recomputing it.
#include "keel/ops/elementwise.h"

#include <cmath>

#include "autograd/grad_rules.h"
#include "ops/elementwise_attrs.h"

namespace keel {
namespace {

using Grads = std::vector<Tensor>;

Tensor zero_scalar(const Tensor& like) { return scalar_tensor(0.0, like.dtype(), like.device()); }

// --- unary ---
Grads neg_grad(const GradCtx& c) { return {-c.grad()}; }
Grads abs_grad(const GradCtx& c) { return {c.grad() * ops::sign(c.input(0))}; }
Grads sign_grad(const GradCtx& c) { return {zeros(c.input(0).shape(), c.input(0).dtype(), c.input(0).device())}; }
Grads exp_grad(const GradCtx& c) { return {c.grad() * c.output(0)}; }
Grads log_grad(const GradCtx& c) { return {c.grad() / c.input(0)}; }
Grads log1p_grad(const GradCtx& c) { return {c.grad() / (c.input(0) + 1.0)}; }
Grads expm1_grad(const GradCtx& c) { return {c.grad() * (c.output(0) + 1.0)}; }  // e^x = y + 1
Grads sqrt_grad(const GradCtx& c) { return {c.grad() / c.output(0) * 0.5}; }
// d/dx x^(-1/2) = -x^(-3/2)/2 = -y/(2x).
Grads rsqrt_grad(const GradCtx& c) { return {c.grad() * c.output(0) / c.input(0) * -0.5}; }
// d/dx 1/x = -1/x² = -y².
Grads reciprocal_grad(const GradCtx& c) { return {-(c.grad() * ops::square(c.output(0)))}; }
Grads square_grad(const GradCtx& c) { return {c.grad() * c.input(0) * 2.0}; }
Grads sin_grad(const GradCtx& c) { return {c.grad() * ops::cos(c.input(0))}; }
Grads cos_grad(const GradCtx& c) { return {-(c.grad() * ops::sin(c.input(0)))}; }
Grads tanh_grad(const GradCtx& c) { return {c.grad() * (1.0 - ops::square(c.output(0)))}; }
Grads sigmoid_grad(const GradCtx& c) {
  const Tensor& y = c.output(0);
  return {c.grad() * y * (1.0 - y)};
}
Grads relu_grad(const GradCtx& c) { return {ops::where(c.input(0) > 0.0, c.grad(), zero_scalar(c.grad()))}; }
// erf'(x) = 2/sqrt(pi) · exp(-x²).
Grads erf_grad(const GradCtx& c) { return {c.grad() * ops::exp(-ops::square(c.input(0))) * (2.0 / std::sqrt(M_PI))}; }
Grads leaky_relu_grad(const GradCtx& c) {
  const double slope = c.attrs<LeakyReluAttrs>().negative_slope;
  const Tensor& g = c.grad();
  return {ops::where(c.input(0) > 0.0, g, g * slope)};
}
// For x <= 0, y = alpha·(e^x - 1) so y' = alpha·e^x = y + alpha.
Grads elu_grad(const GradCtx& c) {
  const double alpha = c.attrs<EluAttrs>().alpha;
  const Tensor& g = c.grad();
  return {ops::where(c.input(0) > 0.0, g, g * (c.output(0) + alpha))};
}
Grads softplus_grad(const GradCtx& c) { return {c.grad() * ops::sigmoid(c.input(0))}; }
Grads gelu_grad(const GradCtx& c) {
  const Tensor& x = c.input(0);
  if (!c.attrs<GeluAttrs>().approximate) {
    // Φ(x) + x·φ(x)
    Tensor cdf = (1.0 + ops::erf(x * M_SQRT1_2)) * 0.5;
    Tensor pdf = ops::exp(ops::square(x) * -0.5) * (1.0 / std::sqrt(2.0 * M_PI));
    return {c.grad() * (cdf + x * pdf)};
  }
  // y = x/2·(1 + tanh(u)), u = k(x + 0.044715x³): y' = (1 + t)/2 + x/2·(1 - t²)·k(1 + 3·0.044715x²).
  const double k = std::sqrt(2.0 / M_PI);
  Tensor x2 = ops::square(x);
  Tensor t = ops::tanh((x + x * x2 * 0.044715) * k);
  Tensor du = (1.0 + x2 * (3 * 0.044715)) * k;
  return {c.grad() * ((1.0 + t) * 0.5 + x * 0.5 * (1.0 - ops::square(t)) * du)};
}

// --- binary ---
Tensor reduce_to(const Tensor& g, const Tensor& input) { return sum_to_shape(g, input.shape()); }

Grads add_grad(const GradCtx& c) {
  const Tensor& g = c.grad();
  return {c.needs_grad(0) ? reduce_to(g, c.input(0)) : Tensor(), c.needs_grad(1) ? reduce_to(g, c.input(1)) : Tensor()};
}
Grads subtract_grad(const GradCtx& c) {
  const Tensor& g = c.grad();
  return {c.needs_grad(0) ? reduce_to(g, c.input(0)) : Tensor(),
          c.needs_grad(1) ? reduce_to(-g, c.input(1)) : Tensor()};
}
Grads multiply_grad(const GradCtx& c) {
  const Tensor &g = c.grad(), &a = c.input(0), &b = c.input(1);
  return {c.needs_grad(0) ? reduce_to(g * b, a) : Tensor(), c.needs_grad(1) ? reduce_to(g * a, b) : Tensor()};
}
// d(a/b)/db = -a/b² = -y/b.
Grads divide_grad(const GradCtx& c) {
  const Tensor &g = c.grad(), &a = c.input(0), &b = c.input(1);
  return {c.needs_grad(0) ? reduce_to(g / b, a) : Tensor(),
          c.needs_grad(1) ? reduce_to(-(g * c.output(0) / b), b) : Tensor()};
}
// Ties split the gradient half and half (torch's convention). `wins` is where a is picked over b.
Grads select_grad(const GradCtx& c, const Tensor& wins) {
  const Tensor &g = c.grad(), &a = c.input(0), &b = c.input(1);
  Tensor w = ops::cast(wins, g.dtype()) + ops::cast(ops::equal(a, b), g.dtype()) * 0.5;
  return {c.needs_grad(0) ? reduce_to(g * w, a) : Tensor(), c.needs_grad(1) ? reduce_to(g * (1.0 - w), b) : Tensor()};
}
Grads maximum_grad(const GradCtx& c) { return select_grad(c, ops::greater(c.input(0), c.input(1))); }
Grads minimum_grad(const GradCtx& c) { return select_grad(c, ops::less(c.input(0), c.input(1))); }
// As torch: the gradient for a is 0 where b == 0, and for b it is 0 where a == 0 and b >= 0 (log a = -inf).
Grads power_grad(const GradCtx& c) {
  const Tensor &g = c.grad(), &a = c.input(0), &b = c.input(1);
  Tensor ga, gb;
  if (c.needs_grad(0)) {
    Tensor d = b * ops::pow(a, b - 1.0);
    ga = reduce_to(ops::where(ops::equal(b, zero_scalar(b)), zero_scalar(g), g * d), a);
  }
  if (c.needs_grad(1)) {
    Tensor at_zero = ops::logical_and(ops::equal(a, zero_scalar(a)), b >= 0.0);
    gb = reduce_to(ops::where(at_zero, zero_scalar(g), g * c.output(0) * ops::log(a)), b);
  }
  return {ga, gb};
}

// --- selection and conversion ---
Grads where_grad(const GradCtx& c) {
  const Tensor &cond = c.input(0), &g = c.grad();
  Tensor zero = zero_scalar(g);
  return {Tensor(), c.needs_grad(1) ? reduce_to(ops::where(cond, g, zero), c.input(1)) : Tensor(),
          c.needs_grad(2) ? reduce_to(ops::where(cond, zero, g), c.input(2)) : Tensor()};
}
// 1 inside [lo, hi] (bounds included, like torch.clamp), 0 outside.
Grads clip_grad(const GradCtx& c) {
  const ClipAttrs& at = c.attrs<ClipAttrs>();
  const Tensor &x = c.input(0), &g = c.grad();
  return {ops::where(ops::logical_and(x >= at.lo, x <= at.hi), g, zero_scalar(g))};
}
Grads cast_grad(const GradCtx& c) {
  const Tensor& x = c.input(0);
  return {is_floating(x.dtype()) ? ops::cast(c.grad(), x.dtype()) : Tensor()};
}
Grads copy_grad(const GradCtx& c) { return {c.grad()}; }

KEEL_REGISTER_GRAD(Neg, neg_grad);
KEEL_REGISTER_GRAD(Abs, abs_grad);
KEEL_REGISTER_GRAD(Sign, sign_grad);
KEEL_REGISTER_GRAD(Exp, exp_grad);
KEEL_REGISTER_GRAD(Log, log_grad);
KEEL_REGISTER_GRAD(Log1p, log1p_grad);
KEEL_REGISTER_GRAD(Expm1, expm1_grad);
KEEL_REGISTER_GRAD(Sqrt, sqrt_grad);
KEEL_REGISTER_GRAD(Rsqrt, rsqrt_grad);
KEEL_REGISTER_GRAD(Reciprocal, reciprocal_grad);
KEEL_REGISTER_GRAD(Square, square_grad);
KEEL_REGISTER_GRAD(Sin, sin_grad);
KEEL_REGISTER_GRAD(Cos, cos_grad);
KEEL_REGISTER_GRAD(Tanh, tanh_grad);
KEEL_REGISTER_GRAD(Sigmoid, sigmoid_grad);
KEEL_REGISTER_GRAD(Relu, relu_grad);
KEEL_REGISTER_GRAD(Erf, erf_grad);
KEEL_REGISTER_GRAD(LeakyRelu, leaky_relu_grad);
KEEL_REGISTER_GRAD(Elu, elu_grad);
KEEL_REGISTER_GRAD(Softplus, softplus_grad);
KEEL_REGISTER_GRAD(Gelu, gelu_grad);
KEEL_REGISTER_GRAD(Add, add_grad);
KEEL_REGISTER_GRAD(Subtract, subtract_grad);
KEEL_REGISTER_GRAD(Multiply, multiply_grad);
KEEL_REGISTER_GRAD(Divide, divide_grad);
KEEL_REGISTER_GRAD(Maximum, maximum_grad);
KEEL_REGISTER_GRAD(Minimum, minimum_grad);
KEEL_REGISTER_GRAD(Power, power_grad);
KEEL_REGISTER_GRAD(Where, where_grad);
KEEL_REGISTER_GRAD(Clip, clip_grad);
KEEL_REGISTER_GRAD(Cast, cast_grad);
KEEL_REGISTER_GRAD(Copy, copy_grad);

}  // namespace
}  // namespace keel
