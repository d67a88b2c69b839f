// DropoutMask on the CPU: one Philox block per 4 elements, threaded; the values equal the reference
// kernel's bit for bit whatever the thread count (see dropout_attrs.h).
#include <cmath>

#include "core/dtype_dispatch.h"
#include "keel/core/config.h"
#include "ops/dispatch.h"
#include "ops/dropout_attrs.h"

namespace keel::cpu {
namespace {

constexpr int kGroup = 16;  // Philox blocks computed side by side

// Philox-4x32-10 (counter_hi = 0) for the kGroup consecutive counters starting at `counter`: the same
// rounds as keel::Philox::generate (src/core/random.cpp), written lane-parallel with the 32-bit words held
// in 64-bit lanes so the rounds vectorise across blocks (omp simd, 32x32->64-bit multiplies); calling the
// exported function once per block is ~8x slower. out[k][j] is lane k of block j. The CPU-vs-reference
// dropout tests compare the two bit for bit.
inline void philox_group(uint64_t key, uint64_t counter, uint32_t out[4][kGroup]) {
  constexpr uint64_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  constexpr uint64_t kLo = 0xFFFFFFFFu;
  uint64_t c0[kGroup], c1[kGroup], c2[kGroup], c3[kGroup];
  for (int j = 0; j < kGroup; ++j) {
    c0[j] = (counter + j) & kLo;
    c1[j] = (counter + j) >> 32;
    c2[j] = 0;
    c3[j] = 0;
  }
  uint64_t k0 = key & kLo, k1 = key >> 32;
  for (int round = 0; round < 10; ++round) {
#pragma omp simd
    for (int j = 0; j < kGroup; ++j) {
      uint64_t p0 = kM0 * c0[j], p1 = kM1 * c2[j];
      uint64_t n0 = (p1 >> 32) ^ c1[j] ^ k0;
      uint64_t n2 = (p0 >> 32) ^ c3[j] ^ k1;
      c1[j] = p1 & kLo;
      c3[j] = p0 & kLo;
      c0[j] = n0;
      c2[j] = n2;
    }
    k0 = (k0 + kW0) & kLo;
    k1 = (k1 + kW1) & kLo;
  }
  for (int j = 0; j < kGroup; ++j) {
    out[0][j] = static_cast<uint32_t>(c0[j]);
    out[1][j] = static_cast<uint32_t>(c1[j]);
    out[2][j] = static_cast<uint32_t>(c2[j]);
    out[3][j] = static_cast<uint32_t>(c3[j]);
  }
}

void dropout_mask_cpu(const KernelArgs& a) {
  const Tensor& mask = a.out[0];
  const auto& attrs = a.get<DropoutMaskAttrs>();
  const int64_t n = mask.numel();
  // uint_to_unit_float(r) = (r >> 8)·2⁻²⁴ exactly, so "u >= rate" is the integer test
  // (r >> 8) >= ceil(rate·2²⁴).
  const uint32_t threshold = static_cast<uint32_t>(std::ceil(attrs.rate * 16777216.0));
  detail::visit_float(mask.dtype(), "dropout", [&]<class T>(detail::TypeTag<T>) {
    T* out = static_cast<T*>(mask.data_ptr());
    const T keep = static_cast<T>(1.0 / (1.0 - attrs.rate));
    const int64_t groups = (n + 4 * kGroup - 1) / (4 * kGroup);
    parallel_for(groups, 64, [&](int64_t g0, int64_t g1) {
      uint32_t r[4][kGroup];
      for (int64_t g = g0; g < g1; ++g) {
        const int64_t base = g * 4 * kGroup;  // first element of this group
        philox_group(attrs.key, attrs.counter + static_cast<uint64_t>(g * kGroup), r);
        // Branch-free select: the keep/drop pattern is random, a branch would mispredict half the time.
        if (base + 4 * kGroup <= n) {
          for (int j = 0; j < kGroup; ++j)
            for (int k = 0; k < 4; ++k) out[base + 4 * j + k] = static_cast<T>((r[k][j] >> 8) >= threshold) * keep;
        } else {  // the last, partial group
          for (int64_t e = base; e < n; ++e) {
            const int64_t j = (e - base) / 4, k = (e - base) % 4;
            out[e] = static_cast<T>((r[k][j] >> 8) >= threshold) * keep;
          }
        }
      }
    });
  });
}

KEEL_REGISTER_KERNEL(DropoutMask, kCpu, dropout_mask_cpu);

}  // namespace
}  // namespace keel::cpu
