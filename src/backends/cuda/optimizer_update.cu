// The fused optimizer updates on CUDA: one grid-stride pass over the variable and its slots, float32.
// Each step uses the round-to-nearest intrinsics so nvcc cannot contract a multiply and an add into an FMA:
// the results equal the CPU kernels and the unfused op-by-op path bit for bit (optimizer_attrs.h).
// Outputs may be the inputs themselves: thread i reads element i of each input before writing it.
#include <cstdint>

#include "backends/cuda/cuda_context.h"
#include "ops/dispatch.h"
#include "ops/optimizer_attrs.h"

namespace keel::cuda {
namespace {

__global__ void adam_update_kernel(const float* w, const float* m, const float* v, const float* g, float* w_out,
                                   float* m_out, float* v_out, int64_t n, float one_minus_b1, float one_minus_b2,
                                   float alpha, float eps) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float gi = g[i], mi0 = m[i], vi0 = v[i], wi = w[i];
    const float mi = __fadd_rn(mi0, __fmul_rn(__fsub_rn(gi, mi0), one_minus_b1));
    const float vi = __fadd_rn(vi0, __fmul_rn(__fsub_rn(__fmul_rn(gi, gi), vi0), one_minus_b2));
    const float step = __fdiv_rn(__fmul_rn(mi, alpha), __fadd_rn(__fsqrt_rn(vi), eps));
    w_out[i] = __fsub_rn(wi, step);
    m_out[i] = mi;
    v_out[i] = vi;
  }
}

__global__ void sgd_momentum_update_kernel(const float* w, const float* m, const float* g, float* w_out, float* m_out,
                                           int64_t n, float mu, float lr, bool nesterov) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float scaled_grad = __fmul_rn(g[i], lr);
    const float velocity = __fsub_rn(__fmul_rn(m[i], mu), scaled_grad);
    const float delta = nesterov ? __fsub_rn(__fmul_rn(velocity, mu), scaled_grad) : velocity;
    w_out[i] = __fadd_rn(w[i], delta);
    m_out[i] = velocity;
  }
}

const float* in_ptr(const KernelArgs& a, int k) { return static_cast<const float*>(a.in[k].data_ptr()); }
float* out_ptr(const KernelArgs& a, int k) { return static_cast<float*>(a.out[k].data_ptr()); }

void adam_update_cuda(const KernelArgs& a) {
  const auto& attrs = a.get<AdamUpdateAttrs>();
  const int64_t n = a.in[0].numel();
  if (n == 0) return;
  cudaStream_t stream = current_stream(a.out[0].device().index);
  adam_update_kernel<<<blocks_for(n), 256, 0, stream>>>(
      in_ptr(a, 0), in_ptr(a, 1), in_ptr(a, 2), in_ptr(a, 3), out_ptr(a, 0), out_ptr(a, 1), out_ptr(a, 2), n,
      static_cast<float>(1.0 - attrs.beta_1), static_cast<float>(1.0 - attrs.beta_2), static_cast<float>(attrs.alpha),
      static_cast<float>(attrs.epsilon));
  KEEL_CUDA_CHECK(cudaGetLastError());
}

void sgd_momentum_update_cuda(const KernelArgs& a) {
  const auto& attrs = a.get<SgdMomentumUpdateAttrs>();
  const int64_t n = a.in[0].numel();
  if (n == 0) return;
  cudaStream_t stream = current_stream(a.out[0].device().index);
  sgd_momentum_update_kernel<<<blocks_for(n), 256, 0, stream>>>(
      in_ptr(a, 0), in_ptr(a, 1), in_ptr(a, 2), out_ptr(a, 0), out_ptr(a, 1), n, static_cast<float>(attrs.momentum),
      static_cast<float>(attrs.learning_rate), attrs.nesterov);
  KEEL_CUDA_CHECK(cudaGetLastError());
}

KEEL_REGISTER_KERNEL(AdamUpdate, kCuda, adam_update_cuda);
KEEL_REGISTER_KERNEL(SgdMomentumUpdate, kCuda, sgd_momentum_update_cuda);

}  // namespace
}  // namespace keel::cuda
