// The unary elementwise ops, activations and clip, defined once: the CPU's elementwise_loop and the CUDA
// grid-stride kernel both instantiate these functors. T is the compute type: float or double (16-bit
// floats compute in float on both backends), or an integer type for the ops a backend registers with ints.
// Functors with attributes read them in a host-side constructor and are copied to the device by value.
#pragma once
#include <type_traits>

#include "backends/elementwise/host_device.h"
#include "backends/elementwise/math.h"
#include "ops/dispatch.h"
#include "ops/elementwise_attrs.h"

namespace keel::elementwise {

struct Neg {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return static_cast<T>(-x); }
};
struct Abs {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return x;
    else return x < T(0) ? static_cast<T>(-x) : x;
  }
};
// 0 for 0 (keeping -0.0), NaN for NaN.
struct Sign {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return x > T(0) ? T(1) : T(0);
    else return x > T(0) ? T(1) : x < T(0) ? static_cast<T>(-1) : x;
  }
};
struct Square {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return static_cast<T>(x * x); }
};
struct Exp {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return math::vexp(x); }
};
struct Log {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return math::log(x); }
};
struct Log1p {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return math::log1p(x); }
};
struct Expm1 {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return math::expm1(x); }
};
struct Sqrt {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return math::sqrt(x); }
};
// 1/sqrt(x), not CUDA's rsqrtf (an approximation): the backends agree.
struct Rsqrt {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return T(1) / math::sqrt(x); }
};
struct Reciprocal {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return T(1) / x; }
};
struct Sin {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return math::sin(x); }
};
struct Cos {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return math::cos(x); }
};
struct Tanh {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return math::vtanh(x); }
};
struct Erf {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return math::erf(x); }
};
// 1/(1+e^-x) never overflows to NaN: e^-x = inf gives 0, as it should.
struct Sigmoid {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return T(1) / (T(1) + math::vexp(-x)); }
};
// NaN stays NaN.
struct Relu {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return x < T(0) ? T(0) : x; }
};
struct Softplus {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const {
    return math::log1p(math::exp(-math::abs(x))) + (x > T(0) ? x : T(0));
  }
};
struct LeakyRelu {
  explicit LeakyRelu(const KernelArgs& a) : slope(a.get<LeakyReluAttrs>().negative_slope) {}
  double slope;
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const { return x > T(0) ? x : static_cast<T>(slope) * x; }
};
struct Elu {
  explicit Elu(const KernelArgs& a) : alpha(a.get<EluAttrs>().alpha) {}
  double alpha;
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const {
    return x > T(0) ? x : static_cast<T>(alpha) * math::expm1(x);
  }
};
// x/2·(1 + tanh(u)) written as x / (1 + e^(-2u)): the same value without 1 + tanh(u) cancelling for x < 0.
struct GeluTanh {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const {
    const T k = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
    const T u = k * (x + static_cast<T>(0.044715) * x * x * x);
    return x / (T(1) + math::vexp(T(-2) * u));
  }
};
struct GeluErf {
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const {
    return T(0.5) * x * (T(1) + math::erf(x * static_cast<T>(0.7071067811865476)));  // 1/sqrt(2)
  }
};
// x < lo ? lo : x, then > hi ? hi : that. NaN stays NaN; lo > hi gives hi (NumPy). Integers clamp in
// double so fractional bounds behave as they do for floats before truncation.
struct Clip {
  explicit Clip(const KernelArgs& a) : lo(a.get<ClipAttrs>().lo), hi(a.get<ClipAttrs>().hi) {}
  double lo, hi;
  template <class T> KEEL_HOST_DEVICE T operator()(T x) const {
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

/// The ops each kernel backend registers with one of the functors above: X(OpName, kInts), kInts saying
/// whether the op also runs on int32/int64/uint8. (Gelu picks GeluTanh or GeluErf per call: registered apart.)
#define KEEL_UNARY_FUNCTOR_OPS(X) \
  X(Neg, true)                    \
  X(Abs, true)                    \
  X(Sign, true)                   \
  X(Square, true)                 \
  X(Exp, false)                   \
  X(Log, false)                   \
  X(Log1p, false)                 \
  X(Expm1, false)                 \
  X(Sqrt, false)                  \
  X(Rsqrt, false)                 \
  X(Reciprocal, false)            \
  X(Sin, false)                   \
  X(Cos, false)                   \
  X(Tanh, false)                  \
  X(Erf, false)                   \
  X(Sigmoid, false)               \
  X(Relu, false)                  \
  X(Softplus, false)              \
  X(LeakyRelu, false)             \
  X(Elu, false)                   \
  X(Clip, true)

/// The functor for one call: built from the call's attributes where it has any.
template <class Op> Op make_op(const KernelArgs& a) {
  if constexpr (std::is_constructible_v<Op, const KernelArgs&>) return Op(a);
  else return Op{};
}

}  // namespace keel::elementwise
