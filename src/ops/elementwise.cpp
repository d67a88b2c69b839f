// Glue of the unary elementwise ops and activations: dtype rules, then dispatch. Composite activations
// (relu6, selu, softsign, silu, hard_sigmoid) are written with other public ops.
#include "elementwise_attrs.h"
#include "elementwise_common.h"

namespace keel::ops {
namespace {

// Unary math keeps a floating dtype; integers and bool become float32.
Tensor float_operand(const Tensor& x, std::string_view op) {
  detail::check_defined(x, op, "the input");
  return is_floating(x.dtype()) ? x : detail::to_dtype(x, DType::f32);
}

Tensor unary_float(OpId op, const Tensor& x) { return detail::run_unary(op, float_operand(x, op_name(op))); }

// neg, abs, sign and square are exact on integers and keep int32/int64/uint8 (NumPy and Keras do too).
Tensor unary_keep_int(OpId op, const Tensor& x) {
  detail::check_defined(x, op_name(op), "the input");
  if (is_integral(x.dtype())) return detail::run_unary(op, x);
  return unary_float(op, x);
}

}  // namespace

Tensor neg(const Tensor& x) { return unary_keep_int(OpId::Neg, x); }
Tensor abs(const Tensor& x) { return unary_keep_int(OpId::Abs, x); }
Tensor sign(const Tensor& x) { return unary_keep_int(OpId::Sign, x); }
Tensor square(const Tensor& x) { return unary_keep_int(OpId::Square, x); }
Tensor exp(const Tensor& x) { return unary_float(OpId::Exp, x); }
Tensor log(const Tensor& x) { return unary_float(OpId::Log, x); }
Tensor log1p(const Tensor& x) { return unary_float(OpId::Log1p, x); }
Tensor expm1(const Tensor& x) { return unary_float(OpId::Expm1, x); }
Tensor sqrt(const Tensor& x) { return unary_float(OpId::Sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary_float(OpId::Rsqrt, x); }
Tensor reciprocal(const Tensor& x) { return unary_float(OpId::Reciprocal, x); }
Tensor sin(const Tensor& x) { return unary_float(OpId::Sin, x); }
Tensor cos(const Tensor& x) { return unary_float(OpId::Cos, x); }
Tensor tanh(const Tensor& x) { return unary_float(OpId::Tanh, x); }
Tensor erf(const Tensor& x) { return unary_float(OpId::Erf, x); }

Tensor sigmoid(const Tensor& x) { return unary_float(OpId::Sigmoid, x); }
Tensor relu(const Tensor& x) { return unary_float(OpId::Relu, x); }
Tensor softplus(const Tensor& x) { return unary_float(OpId::Softplus, x); }

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return detail::run_unary(OpId::LeakyRelu, float_operand(x, "leaky_relu"), LeakyReluAttrs{negative_slope});
}

Tensor elu(const Tensor& x, double alpha) {
  return detail::run_unary(OpId::Elu, float_operand(x, "elu"), EluAttrs{alpha});
}

Tensor gelu(const Tensor& x, bool approximate) {
  return detail::run_unary(OpId::Gelu, float_operand(x, "gelu"), GeluAttrs{approximate});
}

// --- composites ---
Tensor relu6(const Tensor& x) { return clip(float_operand(x, "relu6"), 0.0, 6.0); }

Tensor selu(const Tensor& x) { return 1.0507009873554805 * elu(x, 1.6732632423543772); }

Tensor softsign(const Tensor& x) {
  Tensor xf = float_operand(x, "softsign");
  return xf / (1.0 + abs(xf));
}

Tensor silu(const Tensor& x) {
  Tensor xf = float_operand(x, "silu");
  return xf * sigmoid(xf);
}

Tensor hard_sigmoid(const Tensor& x) { return clip(float_operand(x, "hard_sigmoid") / 6.0 + 0.5, 0.0, 1.0); }

}  // namespace keel::ops
