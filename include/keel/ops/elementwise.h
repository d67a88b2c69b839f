// Elementwise ops (keras.ops names). Binary ops broadcast like NumPy and promote dtypes with
// promote_types(); unary math ops keep a floating dtype and turn integer and bool inputs into float32
// (neg, abs, sign and square keep int32/int64/uint8, as in NumPy and Keras).
//   Tensor y = ops::relu(ops::add(x, b));   // same as relu(x + b)
#pragma once
#include "keel/core/tensor.h"

namespace keel::ops {

// --- unary math ---
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
/// exp(x) - 1, accurate for small x (keras.ops.expm1).
Tensor expm1(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
/// 1 / x (keras.ops.reciprocal); integer inputs give float32.
Tensor reciprocal(const Tensor& x);
Tensor square(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor erf(const Tensor& x);

// --- activations (formulas as keras.activations; see keras-reference §3) ---
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor relu6(const Tensor& x);
/// x > 0 ? x : negative_slope·x (= max(x, negative_slope·x) for slopes <= 1); keras.ops default slope 0.2.
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.2);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor selu(const Tensor& x);
Tensor softplus(const Tensor& x);
Tensor softsign(const Tensor& x);
/// keras.ops.gelu: tanh approximation by default; approximate=false is the exact erf form.
Tensor gelu(const Tensor& x, bool approximate = true);
Tensor silu(const Tensor& x);
/// clip(x/6 + 0.5, 0, 1) (Keras 3).
Tensor hard_sigmoid(const Tensor& x);

// --- binary, broadcasting (divide is true division: integer operands give float32) ---
Tensor add(const Tensor& a, const Tensor& b);
Tensor subtract(const Tensor& a, const Tensor& b);
Tensor multiply(const Tensor& a, const Tensor& b);
Tensor divide(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
/// a ** b (keras.ops.power); `pow` is the same op. Integer operands give exact integer powers.
Tensor power(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double b);

// --- comparisons and logic: bool results, broadcasting; logical ops read nonzero as true ---
Tensor equal(const Tensor& a, const Tensor& b);
Tensor not_equal(const Tensor& a, const Tensor& b);
Tensor less(const Tensor& a, const Tensor& b);
Tensor less_equal(const Tensor& a, const Tensor& b);
Tensor greater(const Tensor& a, const Tensor& b);
Tensor greater_equal(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& x);

// --- selection and conversion ---
/// condition ? a : b, elementwise with broadcasting of all three; condition may have any dtype
/// (nonzero = true); the result has dtype promote_types(a, b).
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);
/// min(max(x, lo), hi); gradient 1 inside [lo, hi], 0 outside. Keeps x's dtype (bool becomes int32);
/// lo > hi gives hi everywhere (NumPy); NaN bounds are a ValueError.
Tensor clip(const Tensor& x, double lo, double hi);
/// Converts to `dtype` (x itself when it already has it); the gradient is cast back to x's dtype.
Tensor cast(const Tensor& x, DType dtype);

}  // namespace keel::ops

namespace keel {
// Arithmetic operators; a scalar takes the tensor's dtype (float32 when the tensor is integral).
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator<(const Tensor& a, double b);
Tensor operator<=(const Tensor& a, double b);
Tensor operator>(const Tensor& a, double b);
Tensor operator>=(const Tensor& a, double b);
}  // namespace keel
