// CPU kernels of the unary elementwise ops, activations and clip: one small functor per op, run by
// elementwise_loop (flat vectorisable loops, threads for large tensors). float32 computes in float.
#include <cmath>

#include "elementwise_loop.h"
#include "elementwise_math.h"
#include "ops/elementwise_attrs.h"

namespace keel::cpu {
namespace {

// float32 uses the vectorisable vmath versions, float64 libm.
template <class T> T exp_of(T x) {
  if constexpr (std::is_same_v<T, float>) return vmath::exp(x);
  else return std::exp(x);
}
template <class T> T tanh_of(T x) {
  if constexpr (std::is_same_v<T, float>) return vmath::tanh(x);
  else return std::tanh(x);
}

// --- functors: T is the compute type (float, double, or an integer type where noted) ---
struct Neg {
  template <class T> T operator()(T x) const { return static_cast<T>(-x); }
};
struct Abs {
  template <class T> T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return x;
    else return x < T(0) ? static_cast<T>(-x) : x;
  }
};
// 0 for 0 (keeping -0.0), NaN for NaN.
struct Sign {
  template <class T> T operator()(T x) const { return x > T(0) ? T(1) : x < T(0) ? static_cast<T>(-1) : x; }
};
struct Square {
  template <class T> T operator()(T x) const { return static_cast<T>(x * x); }
};
struct Exp {
  template <class T> T operator()(T x) const { return exp_of(x); }
};
struct Log {
  template <class T> T operator()(T x) const { return std::log(x); }
};
struct Log1p {
  template <class T> T operator()(T x) const { return std::log1p(x); }
};
struct Expm1 {
  template <class T> T operator()(T x) const { return std::expm1(x); }
};
struct Sqrt {
  template <class T> T operator()(T x) const { return std::sqrt(x); }
};
struct Rsqrt {
  template <class T> T operator()(T x) const { return T(1) / std::sqrt(x); }
};
struct Sin {
  template <class T> T operator()(T x) const { return std::sin(x); }
};
struct Cos {
  template <class T> T operator()(T x) const { return std::cos(x); }
};
struct Tanh {
  template <class T> T operator()(T x) const { return tanh_of(x); }
};
struct Erf {
  template <class T> T operator()(T x) const { return std::erf(x); }
};
// 1/(1+e^-x) never overflows to NaN: e^-x = inf gives 0, as it should.
struct Sigmoid {
  template <class T> T operator()(T x) const { return T(1) / (T(1) + exp_of(-x)); }
};
// NaN stays NaN.
struct Relu {
  template <class T> T operator()(T x) const { return x < T(0) ? T(0) : x; }
};
struct Softplus {
  template <class T> T operator()(T x) const { return std::log1p(std::exp(-std::abs(x))) + (x > T(0) ? x : T(0)); }
};
struct LeakyRelu {
  explicit LeakyRelu(const KernelArgs& a) : slope(a.get<LeakyReluAttrs>().negative_slope) {}
  double slope;
  template <class T> T operator()(T x) const { return x > T(0) ? x : static_cast<T>(slope) * x; }
};
struct Elu {
  explicit Elu(const KernelArgs& a) : alpha(a.get<EluAttrs>().alpha) {}
  double alpha;
  template <class T> T operator()(T x) const { return x > T(0) ? x : static_cast<T>(alpha) * std::expm1(x); }
};
// x/2·(1 + tanh(u)) written as x / (1 + e^(-2u)): the same value without 1 + tanh(u) cancelling for x < 0.
struct GeluTanh {
  template <class T> T operator()(T x) const {
    const T k = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
    const T u = k * (x + static_cast<T>(0.044715) * x * x * x);
    return x / (T(1) + exp_of(T(-2) * u));
  }
};
struct GeluErf {
  template <class T> T operator()(T x) const {
    return T(0.5) * x * (T(1) + std::erf(x * static_cast<T>(0.7071067811865476)));  // 1/sqrt(2)
  }
};
// x < lo ? lo : x, then > hi ? hi : that. NaN stays NaN; lo > hi gives hi (NumPy). Integer inputs clamp
// in double so fractional bounds behave as they do for floats before truncation.
struct Clip {
  explicit Clip(const KernelArgs& a) : lo(a.get<ClipAttrs>().lo), hi(a.get<ClipAttrs>().hi) {}
  double lo, hi;
  template <class T> T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) {
      const T l = static_cast<T>(lo), h = static_cast<T>(hi);
      const T t = x < l ? l : x;
      return t > h ? h : t;
    } else {
      const double v = static_cast<double>(x);
      const double t = v < lo ? lo : v;
      return static_cast<T>(t > hi ? hi : t);
    }
  }
};

template <class Op> Op make_op(const KernelArgs& a) {
  if constexpr (std::is_constructible_v<Op, const KernelArgs&>) return Op(a);
  else return Op{};
}

// Same dtype in and out. kInts: the op also runs on int32/int64/uint8 (and bool, which the glue never
// sends to these ops).
template <class Op, bool kInts> void unary_kernel(const KernelArgs& a) {
  if (run_half_as_float32(a, &unary_kernel<Op, kInts>)) return;
  const Op op = make_op<Op>(a);
  visit_compute<kInts>(a.out[0].dtype(), a.op, [&]<class T>(keel::detail::TypeTag<T>) {
    if constexpr (std::is_same_v<T, bool>) {
      throw DTypeError(keel::detail::cat(op_name(a.op), ": the CPU kernel does not support dtype bool"));
    } else {
      elementwise_loop<T, T>(a, [op](T x) { return op(x); });
    }
  });
}

// The form is chosen once per call, not per element.
void gelu_kernel(const KernelArgs& a) {
  if (a.get<GeluAttrs>().approximate) unary_kernel<GeluTanh, false>(a);
  else unary_kernel<GeluErf, false>(a);
}

KEEL_REGISTER_KERNEL(Neg, kCpu, (unary_kernel<Neg, true>));
KEEL_REGISTER_KERNEL(Abs, kCpu, (unary_kernel<Abs, true>));
KEEL_REGISTER_KERNEL(Sign, kCpu, (unary_kernel<Sign, true>));
KEEL_REGISTER_KERNEL(Square, kCpu, (unary_kernel<Square, true>));
KEEL_REGISTER_KERNEL(Exp, kCpu, (unary_kernel<Exp, false>));
KEEL_REGISTER_KERNEL(Log, kCpu, (unary_kernel<Log, false>));
KEEL_REGISTER_KERNEL(Log1p, kCpu, (unary_kernel<Log1p, false>));
KEEL_REGISTER_KERNEL(Expm1, kCpu, (unary_kernel<Expm1, false>));
KEEL_REGISTER_KERNEL(Sqrt, kCpu, (unary_kernel<Sqrt, false>));
KEEL_REGISTER_KERNEL(Rsqrt, kCpu, (unary_kernel<Rsqrt, false>));
KEEL_REGISTER_KERNEL(Sin, kCpu, (unary_kernel<Sin, false>));
KEEL_REGISTER_KERNEL(Cos, kCpu, (unary_kernel<Cos, false>));
KEEL_REGISTER_KERNEL(Tanh, kCpu, (unary_kernel<Tanh, false>));
KEEL_REGISTER_KERNEL(Erf, kCpu, (unary_kernel<Erf, false>));
KEEL_REGISTER_KERNEL(Sigmoid, kCpu, (unary_kernel<Sigmoid, false>));
KEEL_REGISTER_KERNEL(Relu, kCpu, (unary_kernel<Relu, false>));
KEEL_REGISTER_KERNEL(Softplus, kCpu, (unary_kernel<Softplus, false>));
KEEL_REGISTER_KERNEL(LeakyRelu, kCpu, (unary_kernel<LeakyRelu, false>));
KEEL_REGISTER_KERNEL(Elu, kCpu, (unary_kernel<Elu, false>));
KEEL_REGISTER_KERNEL(Gelu, kCpu, gelu_kernel);
KEEL_REGISTER_KERNEL(Clip, kCpu, (unary_kernel<Clip, true>));

}  // namespace
}  // namespace keel::cpu
