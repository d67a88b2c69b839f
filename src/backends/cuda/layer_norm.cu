// LayerNorm and LayerNormBackward on CUDA, x seen as (rows, cols) (normalization_attrs.h). Custom kernels,
// float32 (as the CPU's oneDNN kernel) and float64 (as the reference kernel), accumulating in the data type:
//   forward, one block per row: mean, then the biased variance from a second pass over (x - mean),
//     y = (x - mean)·rsqrt(var + eps)·gamma + beta; mean and variance are saved per row;
//   backward, one block per row for dx = inv·(dŷ - mean(dŷ) - x̂·mean(dŷ·x̂)) with dŷ = dy·gamma, and a
//     two-stage column reduction for dgamma = Σ dy·x̂ and dbeta = Σ dy (partials per row chunk, then one sum
//     per column in a fixed order: deterministic, no atomics).
#include <algorithm>
#include <cmath>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/device_tensors.h"
#include "core/dtype_dispatch.h"
#include "ops/dispatch.h"
#include "ops/normalization_attrs.h"

namespace keel::cuda {
namespace {

constexpr int kMaxThreads = 256;

__device__ inline float dev_rsqrt(float v) { return rsqrtf(v); }
__device__ inline double dev_rsqrt(double v) { return rsqrt(v); }

template <class T>
__device__ inline T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Sum of v over the block (blockDim.x a multiple of 32, at most 1024), returned to every thread.
template <class T>
__device__ T block_sum(T v) {
  __shared__ T partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < warps ? partial[lane] : T(0);
    v = warp_sum(v);
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  const T total = partial[0];
  __syncthreads();  // partial is reused by the next call
  return total;
}

// Threads per row block: enough warps for the row, at most kMaxThreads.
int row_threads(int64_t cols) {
  const int64_t warps = std::min<int64_t>((cols + 31) / 32, kMaxThreads / 32);
  return static_cast<int>(std::max<int64_t>(warps, 1) * 32);
}
unsigned row_grid(int64_t rows) { return static_cast<unsigned>(std::min<int64_t>(rows, 65535 * 32)); }

template <class T>
__global__ void fill_kernel(T* out, int64_t n, T value) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = value;
}

// ---- forward ----

template <class T>
__global__ void layer_norm_kernel(const T* x, const T* gamma, const T* beta, T* y, T* mean_out, T* var_out,
                                  int64_t rows, int64_t cols, T eps) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * cols;
    T s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += xr[j];
    const T mean = block_sum(s) / static_cast<T>(cols);
    T sq = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const T d = xr[j] - mean;
      sq += d * d;
    }
    const T var = block_sum(sq) / static_cast<T>(cols);
    const T inv = dev_rsqrt(var + eps);
    T* yr = y + r * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = (xr[j] - mean) * inv * gamma[j] + beta[j];
    if (threadIdx.x == 0) {
      mean_out[r] = mean;
      var_out[r] = var;
    }
  }
}

// x, gamma, beta -> y, mean (rows), variance (rows).
void layer_norm_cuda(const KernelArgs& a) {
  const auto& attrs = a.get<LayerNormAttrs>();
  const Tensor &y = a.out[0], &mean = a.out[1], &var = a.out[2];
  detail::visit_float(y.dtype(), "layer_norm", [&]<class T>(detail::TypeTag<T>) {
    const LayerNormRows l = layer_norm_rows(y, attrs.begin_axis);
    if (l.rows == 0) return;
    cudaStream_t stream = stream_of(y);
    if (l.cols == 0) {  // statistics of empty rows, as the CPU kernel reports them
      for (const Tensor* t : {&mean, &var}) {
        fill_kernel<T><<<blocks_for(l.rows), 256, 0, stream>>>(static_cast<T*>(t->data_ptr()), l.rows, T(NAN));
        KEEL_CUDA_CHECK(cudaGetLastError());
      }
      return;
    }
    Tensor x = contiguous_on_device(a.in[0]), gamma = contiguous_on_device(a.in[1]),
           beta = contiguous_on_device(a.in[2]);
    layer_norm_kernel<T><<<row_grid(l.rows), row_threads(l.cols), 0, stream>>>(
        static_cast<const T*>(x.data_ptr()), static_cast<const T*>(gamma.data_ptr()),
        static_cast<const T*>(beta.data_ptr()), static_cast<T*>(y.data_ptr()), static_cast<T*>(mean.data_ptr()),
        static_cast<T*>(var.data_ptr()), l.rows, l.cols, static_cast<T>(attrs.epsilon));
    KEEL_CUDA_CHECK(cudaGetLastError());
  });
}

// ---- backward ----

template <class T>
__global__ void layer_norm_dx_kernel(const T* x, const T* gamma, const T* mean, const T* var, const T* dy, T* dx,
                                     int64_t rows, int64_t cols, T eps) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *xr = x + r * cols, *dyr = dy + r * cols;
    const T mu = mean[r], inv = dev_rsqrt(var[r] + eps);
    T s1 = 0, s2 = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const T dxhat = dyr[j] * gamma[j];
      s1 += dxhat;
      s2 += dxhat * (xr[j] - mu) * inv;
    }
    const T n = static_cast<T>(cols);
    const T m1 = block_sum(s1) / n, m2 = block_sum(s2) / n;
    T* dxr = dx + r * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dxr[j] = inv * (dyr[j] * gamma[j] - m1 - (xr[j] - mu) * inv * m2);
  }
}

// Column sums, stage 1: block (32, kRowLanes) over 32 columns and one chunk of rows; partial[chunk][col] for
// dgamma and dbeta.
constexpr int kRowLanes = 8;
template <class T>
__global__ void layer_norm_param_partial_kernel(const T* x, const T* mean, const T* var, const T* dy, T* partial_gamma,
                                                T* partial_beta, int64_t rows, int64_t cols, int64_t rows_per_chunk,
                                                T eps) {
  __shared__ T sg[kRowLanes][33], sb[kRowLanes][33];
  const int64_t j = blockIdx.x * 32 + threadIdx.x;
  const int64_t r0 = blockIdx.y * rows_per_chunk, r1 = r0 + rows_per_chunk < rows ? r0 + rows_per_chunk : rows;
  T g = 0, b = 0;
  if (j < cols) {
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowLanes) {
      const T d = dy[r * cols + j];
      g += d * (x[r * cols + j] - mean[r]) * dev_rsqrt(var[r] + eps);
      b += d;
    }
  }
  sg[threadIdx.y][threadIdx.x] = g;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && j < cols) {
    for (int k = 1; k < kRowLanes; ++k) {
      g += sg[k][threadIdx.x];
      b += sb[k][threadIdx.x];
    }
    partial_gamma[blockIdx.y * cols + j] = g;
    partial_beta[blockIdx.y * cols + j] = b;
  }
}

// Stage 2: dgamma[j] = Σ_chunk partial_gamma[chunk][j], likewise dbeta.
template <class T>
__global__ void layer_norm_param_final_kernel(const T* partial_gamma, const T* partial_beta, T* dgamma, T* dbeta,
                                              int64_t chunks, int64_t cols) {
  for (int64_t j = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; j < cols;
       j += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    T g = 0, b = 0;
    for (int64_t c = 0; c < chunks; ++c) {
      g += partial_gamma[c * cols + j];
      b += partial_beta[c * cols + j];
    }
    dgamma[j] = g;
    dbeta[j] = b;
  }
}

// x, gamma, mean, variance, grad_y -> grad_x, grad_gamma, grad_beta.
void layer_norm_backward_cuda(const KernelArgs& a) {
  const auto& attrs = a.get<LayerNormAttrs>();
  const Tensor &dx = a.out[0], &dgamma = a.out[1], &dbeta = a.out[2];
  detail::visit_float(dx.dtype(), "layer_norm_backward", [&]<class T>(detail::TypeTag<T>) {
    const LayerNormRows l = layer_norm_rows(dx, attrs.begin_axis);
    if (l.cols == 0) return;
    cudaStream_t stream = stream_of(dx);
    if (l.rows == 0) {
      KEEL_CUDA_CHECK(cudaMemsetAsync(dgamma.data_ptr(), 0, l.cols * sizeof(T), stream));
      KEEL_CUDA_CHECK(cudaMemsetAsync(dbeta.data_ptr(), 0, l.cols * sizeof(T), stream));
      return;
    }
    Tensor x = contiguous_on_device(a.in[0]), gamma = contiguous_on_device(a.in[1]),
           mean = contiguous_on_device(a.in[2]), var = contiguous_on_device(a.in[3]),
           dy = contiguous_on_device(a.in[4]);
    const T eps = static_cast<T>(attrs.epsilon);
    const T *xp = static_cast<const T*>(x.data_ptr()), *mp = static_cast<const T*>(mean.data_ptr()),
            *vp = static_cast<const T*>(var.data_ptr()), *dyp = static_cast<const T*>(dy.data_ptr());
    layer_norm_dx_kernel<T><<<row_grid(l.rows), row_threads(l.cols), 0, stream>>>(
        xp, static_cast<const T*>(gamma.data_ptr()), mp, vp, dyp, static_cast<T*>(dx.data_ptr()), l.rows, l.cols, eps);
    KEEL_CUDA_CHECK(cudaGetLastError());

    // Enough row chunks to fill the GPU when there are few columns, at least 64 rows each.
    const int64_t col_blocks = (l.cols + 31) / 32;
    const int64_t chunks = std::clamp<int64_t>(std::min<int64_t>(1024 / col_blocks, (l.rows + 63) / 64), 1, 65535);
    const int64_t rows_per_chunk = (l.rows + chunks - 1) / chunks;
    T* partial = static_cast<T*>(workspace(dx.device().index, 2 * chunks * l.cols * sizeof(T)));
    const dim3 grid(static_cast<unsigned>(col_blocks), static_cast<unsigned>(chunks));
    layer_norm_param_partial_kernel<T><<<grid, dim3(32, kRowLanes), 0, stream>>>(
        xp, mp, vp, dyp, partial, partial + chunks * l.cols, l.rows, l.cols, rows_per_chunk, eps);
    KEEL_CUDA_CHECK(cudaGetLastError());
    layer_norm_param_final_kernel<T>
        <<<blocks_for(l.cols), 256, 0, stream>>>(partial, partial + chunks * l.cols, static_cast<T*>(dgamma.data_ptr()),
                                                 static_cast<T*>(dbeta.data_ptr()), chunks, l.cols);
    KEEL_CUDA_CHECK(cudaGetLastError());
  });
}

KEEL_REGISTER_KERNEL(LayerNorm, kCuda, layer_norm_cuda);
KEEL_REGISTER_KERNEL(LayerNormBackward, kCuda, layer_norm_backward_cuda);

}  // namespace
}  // namespace keel::cuda
