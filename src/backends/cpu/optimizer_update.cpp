// The fused optimizer updates on the CPU: one threaded, vectorised pass over the variable and its slots.
// The values equal the unfused op-by-op path bit for bit (optimizer_attrs.h): every step rounds to float32
// in the same order, and contraction into FMAs is off for this file (GCC contracts by default in C++ and
// -march=native gives it FMA instructions): here and by -ffp-contract=off in CMakeLists.txt, which also
// passes -fno-math-errno so that sqrt needs no errno branch and the Adam loop vectorises (GCC ignores
// math-errno in #pragma GCC optimize). The velocity is never negative and sqrt is correctly rounded.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <cmath>

#include "keel/core/config.h"
#include "ops/dispatch.h"
#include "ops/optimizer_attrs.h"

namespace keel::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;  // elements per task: small variables stay on one thread

// Outputs may be the inputs themselves: iteration i reads element i of each input before writing it.
void adam_update_cpu(const KernelArgs& a) {
  const auto& attrs = a.get<AdamUpdateAttrs>();
  const float* w = static_cast<const float*>(a.in[0].data_ptr());
  const float* m = static_cast<const float*>(a.in[1].data_ptr());
  const float* v = static_cast<const float*>(a.in[2].data_ptr());
  const float* g = static_cast<const float*>(a.in[3].data_ptr());
  float* w_out = static_cast<float*>(a.out[0].data_ptr());
  float* m_out = static_cast<float*>(a.out[1].data_ptr());
  float* v_out = static_cast<float*>(a.out[2].data_ptr());
  const float one_minus_b1 = static_cast<float>(1.0 - attrs.beta_1);
  const float one_minus_b2 = static_cast<float>(1.0 - attrs.beta_2);
  const float alpha = static_cast<float>(attrs.alpha);
  const float eps = static_cast<float>(attrs.epsilon);
  parallel_for(a.in[0].numel(), kGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float gi = g[i];
      const float mi = m[i] + (gi - m[i]) * one_minus_b1;
      const float vi = v[i] + (gi * gi - v[i]) * one_minus_b2;
      const float step = (mi * alpha) / (std::sqrt(vi) + eps);
      w_out[i] = w[i] - step;
      m_out[i] = mi;
      v_out[i] = vi;
    }
  });
}

void sgd_momentum_update_cpu(const KernelArgs& a) {
  const auto& attrs = a.get<SgdMomentumUpdateAttrs>();
  const float* w = static_cast<const float*>(a.in[0].data_ptr());
  const float* m = static_cast<const float*>(a.in[1].data_ptr());
  const float* g = static_cast<const float*>(a.in[2].data_ptr());
  float* w_out = static_cast<float*>(a.out[0].data_ptr());
  float* m_out = static_cast<float*>(a.out[1].data_ptr());
  const float mu = static_cast<float>(attrs.momentum);
  const float lr = static_cast<float>(attrs.learning_rate);
  const bool nesterov = attrs.nesterov;
  parallel_for(a.in[0].numel(), kGrain, [&](int64_t begin, int64_t end) {
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float scaled_grad = g[i] * lr;
      const float velocity = m[i] * mu - scaled_grad;
      w_out[i] = w[i] + (nesterov ? velocity * mu - scaled_grad : velocity);
      m_out[i] = velocity;
    }
  });
}

KEEL_REGISTER_KERNEL(AdamUpdate, kCpu, adam_update_cpu);
KEEL_REGISTER_KERNEL(SgdMomentumUpdate, kCpu, sgd_momentum_update_cpu);

}  // namespace
}  // namespace keel::cpu
