// DropoutMask on CUDA: one thread per Philox block (4 mask elements), on the same stream layout as the CPU
// (dropout_attrs.h): element i uses counter (counter + i/4), lane i%4, counter_hi = 0, and is kept iff
// (draw >> 8) >= ceil(rate·2²⁴), i.e. random::uint_to_unit_float(draw) >= rate. Same seed, same mask.
#include <cmath>
#include <cstdint>

#include "backends/cuda/cuda_context.h"
#include "core/dtype_dispatch.h"
#include "ops/dispatch.h"
#include "ops/dropout_attrs.h"

namespace keel::cuda {
namespace {

// Philox-4x32-10 with counter_hi = 0: the rounds of keel::Philox::generate (src/core/random.cpp), callable
// from host and device so the host build can be checked against the CPU generator.
__host__ __device__ inline void philox4x32_10(uint64_t key, uint64_t counter, uint32_t out[4]) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u, kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kM0) * c0, p1 = static_cast<uint64_t>(kM1) * c2;
    const uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
    const uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
    c1 = static_cast<uint32_t>(p1);
    c3 = static_cast<uint32_t>(p0);
    c0 = n0;
    c2 = n2;
    k0 += kW0;
    k1 += kW1;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

// The mask values of Philox block `block` (elements 4·block .. 4·block+3), computed as the CPU kernel does:
// static_cast<T>(kept) * keep.
template <class T>
__host__ __device__ inline void mask_block(uint64_t key, uint64_t counter, uint64_t block, uint32_t threshold, T keep,
                                           T out[4]) {
  uint32_t r[4];
  philox4x32_10(key, counter + block, r);
  for (int k = 0; k < 4; ++k) out[k] = static_cast<T>((r[k] >> 8) >= threshold) * keep;
}

template <class T>
__global__ void dropout_mask_kernel(T* out, int64_t n, uint64_t key, uint64_t counter, uint32_t threshold, T keep) {
  const int64_t blocks = (n + 3) / 4;
  for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < blocks;
       b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    T v[4];
    mask_block<T>(key, counter, static_cast<uint64_t>(b), threshold, keep, v);
    const int64_t base = 4 * b;
#pragma unroll
    for (int k = 0; k < 4; ++k)
      if (base + k < n) out[base + k] = v[k];
  }
}

void dropout_mask_cuda(const KernelArgs& a) {
  const Tensor& mask = a.out[0];
  const auto& attrs = a.get<DropoutMaskAttrs>();
  const int64_t n = mask.numel();
  // Same threshold as the CPU kernel (uint_to_unit_float(r) = (r >> 8)·2⁻²⁴ exactly).
  const uint32_t threshold = static_cast<uint32_t>(std::ceil(attrs.rate * 16777216.0));
  detail::visit_float(mask.dtype(), "dropout", [&]<class T>(detail::TypeTag<T>) {
    if (n == 0) return;
    const T keep = static_cast<T>(1.0 / (1.0 - attrs.rate));
    cudaStream_t stream = current_stream(mask.device().index);
    dropout_mask_kernel<T><<<blocks_for((n + 3) / 4), 256, 0, stream>>>(static_cast<T*>(mask.data_ptr()), n, attrs.key,
                                                                        attrs.counter, threshold, keep);
    KEEL_CUDA_CHECK(cudaGetLastError());
  });
}

KEEL_REGISTER_KERNEL(DropoutMask, kCuda, dropout_mask_cuda);

}  // namespace
}  // namespace keel::cuda
