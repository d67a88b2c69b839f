// Reference elementwise kernels (test oracle): every input is viewed at the output's shape with
// broadcast strides, read element by element as double, and the formula is applied in double.
#include <cmath>
#include <limits>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/broadcast.h"
#include "ops/dispatch.h"
#include "ops/elementwise_attrs.h"

namespace keel::cpu_ref {
namespace {

// out[i] = f(x0[i], x1[i], x2[i]) with inputs broadcast to the output's shape.
template <class F> void map(const KernelArgs& a, F f) {
  const Tensor& out = a.out[0];
  std::vector<Tensor> in;
  for (const Tensor& t : a.in)
    in.push_back(detail::make_view(t, out.shape(), broadcast_strides(t, out.shape()), t.offset()));
  detail::visit_dtype(out.dtype(), [&]<class D>(detail::TypeTag<D>) {
    D* o = static_cast<D*>(out.data_ptr());
    for (int64_t i = 0; i < out.numel(); ++i) {
      double v[3] = {0, 0, 0};
      for (size_t k = 0; k < in.size(); ++k)
        v[k] = detail::read_as_double(in[k], i);
      o[i] = detail::from_double<D>(f(v[0], v[1], v[2]));
    }
  });
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// --- unary ---
void neg(const KernelArgs& a) {
  map(a, [](double x, double, double) { return -x; });
}
void abs(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::fabs(x); });
}
void sign(const KernelArgs& a) {
  map(a, [](double x, double, double) { return x > 0 ? 1.0 : x < 0 ? -1.0 : x; });
}
void exp(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::exp(x); });
}
void log(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::log(x); });
}
void log1p(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::log1p(x); });
}
void expm1(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::expm1(x); });
}
void reciprocal(const KernelArgs& a) {
  map(a, [](double x, double, double) { return 1.0 / x; });
}
void sqrt(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::sqrt(x); });
}
void rsqrt(const KernelArgs& a) {
  map(a, [](double x, double, double) { return 1.0 / std::sqrt(x); });
}
void square(const KernelArgs& a) {
  map(a, [](double x, double, double) { return x * x; });
}
void sin(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::sin(x); });
}
void cos(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::cos(x); });
}
void tanh(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::tanh(x); });
}
void erf(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::erf(x); });
}
void sigmoid(const KernelArgs& a) {
  map(a, [](double x, double, double) { return 1.0 / (1.0 + std::exp(-x)); });
}
void relu(const KernelArgs& a) {
  map(a, [](double x, double, double) { return x < 0 ? 0.0 : x; });
}
void softplus(const KernelArgs& a) {
  map(a, [](double x, double, double) { return std::log1p(std::exp(-std::fabs(x))) + std::max(x, 0.0); });
}
void leaky_relu(const KernelArgs& a) {
  const double s = a.get<LeakyReluAttrs>().negative_slope;
  map(a, [s](double x, double, double) { return x > 0 ? x : s * x; });
}
void elu(const KernelArgs& a) {
  const double alpha = a.get<EluAttrs>().alpha;
  map(a, [alpha](double x, double, double) { return x > 0 ? x : alpha * std::expm1(x); });
}
void gelu(const KernelArgs& a) {
  if (a.get<GeluAttrs>().approximate) {
    map(a, [](double x, double, double) {
      return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    });
  } else {
    map(a, [](double x, double, double) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); });
  }
}
void clip(const KernelArgs& a) {
  const double lo = a.get<ClipAttrs>().lo, hi = a.get<ClipAttrs>().hi;
  map(a, [lo, hi](double x, double, double) {
    if (std::isnan(x)) return x;
    return std::min(std::max(x, lo), hi);
  });
}

// --- binary ---
void add(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return x + y; });
}
void subtract(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return x - y; });
}
void multiply(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return x * y; });
}
void divide(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return x / y; });
}
void maximum(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return std::isnan(x) || std::isnan(y) ? kNaN : std::max(x, y); });
}
void minimum(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return std::isnan(x) || std::isnan(y) ? kNaN : std::min(x, y); });
}
void power(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return std::pow(x, y); });
}
void equal(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return double(x == y); });
}
void not_equal(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return double(x != y); });
}
void less(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return double(x < y); });
}
void less_equal(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return double(x <= y); });
}
void greater(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return double(x > y); });
}
void greater_equal(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return double(x >= y); });
}
void logical_and(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return double(x != 0 && y != 0); });
}
void logical_or(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return double(x != 0 || y != 0); });
}
void logical_xor(const KernelArgs& a) {
  map(a, [](double x, double y, double) { return double((x != 0) != (y != 0)); });
}
void logical_not(const KernelArgs& a) {
  map(a, [](double x, double, double) { return double(x == 0); });
}
void where(const KernelArgs& a) {
  map(a, [](double c, double x, double y) { return c != 0 ? x : y; });
}

KEEL_REGISTER_KERNEL(Neg, kCpuRef, neg);
KEEL_REGISTER_KERNEL(Abs, kCpuRef, abs);
KEEL_REGISTER_KERNEL(Sign, kCpuRef, sign);
KEEL_REGISTER_KERNEL(Exp, kCpuRef, exp);
KEEL_REGISTER_KERNEL(Log, kCpuRef, log);
KEEL_REGISTER_KERNEL(Log1p, kCpuRef, log1p);
KEEL_REGISTER_KERNEL(Expm1, kCpuRef, expm1);
KEEL_REGISTER_KERNEL(Sqrt, kCpuRef, sqrt);
KEEL_REGISTER_KERNEL(Rsqrt, kCpuRef, rsqrt);
KEEL_REGISTER_KERNEL(Reciprocal, kCpuRef, reciprocal);
KEEL_REGISTER_KERNEL(Square, kCpuRef, square);
KEEL_REGISTER_KERNEL(Sin, kCpuRef, sin);
KEEL_REGISTER_KERNEL(Cos, kCpuRef, cos);
KEEL_REGISTER_KERNEL(Tanh, kCpuRef, tanh);
KEEL_REGISTER_KERNEL(Sigmoid, kCpuRef, sigmoid);
KEEL_REGISTER_KERNEL(Relu, kCpuRef, relu);
KEEL_REGISTER_KERNEL(Erf, kCpuRef, erf);
KEEL_REGISTER_KERNEL(LeakyRelu, kCpuRef, leaky_relu);
KEEL_REGISTER_KERNEL(Elu, kCpuRef, elu);
KEEL_REGISTER_KERNEL(Softplus, kCpuRef, softplus);
KEEL_REGISTER_KERNEL(Gelu, kCpuRef, gelu);
KEEL_REGISTER_KERNEL(Clip, kCpuRef, clip);
KEEL_REGISTER_KERNEL(Add, kCpuRef, add);
KEEL_REGISTER_KERNEL(Subtract, kCpuRef, subtract);
KEEL_REGISTER_KERNEL(Multiply, kCpuRef, multiply);
KEEL_REGISTER_KERNEL(Divide, kCpuRef, divide);
KEEL_REGISTER_KERNEL(Maximum, kCpuRef, maximum);
KEEL_REGISTER_KERNEL(Minimum, kCpuRef, minimum);
KEEL_REGISTER_KERNEL(Power, kCpuRef, power);
KEEL_REGISTER_KERNEL(Equal, kCpuRef, equal);
KEEL_REGISTER_KERNEL(NotEqual, kCpuRef, not_equal);
KEEL_REGISTER_KERNEL(Less, kCpuRef, less);
KEEL_REGISTER_KERNEL(LessEqual, kCpuRef, less_equal);
KEEL_REGISTER_KERNEL(Greater, kCpuRef, greater);
KEEL_REGISTER_KERNEL(GreaterEqual, kCpuRef, greater_equal);
KEEL_REGISTER_KERNEL(LogicalAnd, kCpuRef, logical_and);
KEEL_REGISTER_KERNEL(LogicalOr, kCpuRef, logical_or);
KEEL_REGISTER_KERNEL(LogicalXor, kCpuRef, logical_xor);
KEEL_REGISTER_KERNEL(LogicalNot, kCpuRef, logical_not);
KEEL_REGISTER_KERNEL(Where, kCpuRef, where);

}  // namespace
}  // namespace keel::cpu_ref
