// Branch-free float32 exp and tanh that GCC vectorises inside the CPU's elementwise_loop (libm's expf/tanhf
// are scalar calls, 5-15x slower per element). Host code only: math.h picks them for the CPU. Accuracy: exp
// within 2 ulp over its whole range, including overflow to inf and gradual underflow; tanh within 3 ulp.
// NaN in gives NaN out. float64 keeps libm.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>

namespace keel::elementwise::vmath {

/// e^x: x = n·ln2 + r with |r| <= ln2/2 (about) (Cody-Waite split of ln2), e^r by a degree-6 polynomial (Cephes
/// expf coefficients), then scaled by 2^n as two factors 2^(n/2)·2^(n-n/2) so every factor is a normal
/// float and the product overflows or underflows exactly as e^x does.
inline float exp(float x) {
  const float xc = x > -104.0f ? (x < 89.0f ? x : 89.0f) : -104.0f;  // NaN -> -104, fixed up below
  // n = round(x·log2 e) by the 1.5·2^23 trick (std::floor does not vectorise without -fno-trapping-math).
  const float kRound = 12582912.0f;
  const float n = (xc * 1.44269504088896341f + kRound) - kRound;
  float r = std::fma(n, -0.693359375f, xc);
  r = std::fma(n, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  p = std::fma(p, r * r, r) + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t h = ni >> 1;
  const float s1 = std::bit_cast<float>((h + 127) << 23);
  const float s2 = std::bit_cast<float>((ni - h + 127) << 23);
  const float y = p * s1 * s2;
  return x != x ? x : y;
}

/// tanh: an odd polynomial for |x| < 0.625 (Cephes tanhf), else 1 - 2/(e^(2|x|) + 1) with the sign of x.
inline float tanh(float x) {
  const float ax = std::fabs(x);
  const float s = x * x;
  float p = -5.70498872745e-3f;
  p = std::fma(p, s, 2.06390887954e-2f);
  p = std::fma(p, s, -5.37397155531e-2f);
  p = std::fma(p, s, 1.33314422036e-1f);
  p = std::fma(p, s, -3.33332819422e-1f);
  const float small = std::fma(p * s, x, x);
  const float big = 1.0f - 2.0f / (vmath::exp(2.0f * ax) + 1.0f);
  return ax < 0.625f ? small : std::copysign(big, x);
}

}  // namespace keel::elementwise::vmath
