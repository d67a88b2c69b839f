// The math functions of the elementwise functors, for both compilers. On the device they are CUDA's
// (expf for float, exp for double); on the host libm's, except vexp/vtanh, whose float32 versions are
// vmath's vectorisable ones (the others stay libm's on the CPU so that their results keep libm's accuracy).
#pragma once
#include <cmath>

#include "backends/elementwise/host_device.h"
#include "backends/elementwise/vmath.h"

namespace keel::elementwise::math {

// name(float), name(double): host_float and std::libm_name on the host; CUDA's libm_name##f and libm_name on
// the device.
#if defined(__CUDA_ARCH__)
#define KEEL_MATH_UNARY(name, host_float, libm_name)                                  \
  KEEL_HOST_DEVICE inline float name(float x) { return ::libm_name##f(x); }          \
  KEEL_HOST_DEVICE inline double name(double x) { return ::libm_name(x); }
#else
#define KEEL_MATH_UNARY(name, host_float, libm_name)                      \
  KEEL_HOST_DEVICE inline float name(float x) { return host_float(x); }  \
  KEEL_HOST_DEVICE inline double name(double x) { return std::libm_name(x); }
#endif

KEEL_MATH_UNARY(exp, std::exp, exp)
KEEL_MATH_UNARY(vexp, vmath::exp, exp)
KEEL_MATH_UNARY(expm1, std::expm1, expm1)
KEEL_MATH_UNARY(log, std::log, log)
KEEL_MATH_UNARY(log1p, std::log1p, log1p)
KEEL_MATH_UNARY(sqrt, std::sqrt, sqrt)
KEEL_MATH_UNARY(sin, std::sin, sin)
KEEL_MATH_UNARY(cos, std::cos, cos)
KEEL_MATH_UNARY(vtanh, vmath::tanh, tanh)
KEEL_MATH_UNARY(erf, std::erf, erf)
KEEL_MATH_UNARY(abs, std::fabs, fabs)
#undef KEEL_MATH_UNARY

#if defined(__CUDA_ARCH__)
KEEL_HOST_DEVICE inline float pow(float a, float b) { return ::powf(a, b); }
KEEL_HOST_DEVICE inline double pow(double a, double b) { return ::pow(a, b); }
#else
KEEL_HOST_DEVICE inline float pow(float a, float b) { return std::pow(a, b); }
KEEL_HOST_DEVICE inline double pow(double a, double b) { return std::pow(a, b); }
#endif

}  // namespace keel::elementwise::math
