// Fused cross-entropies from logits on CUDA, float32 and float64, with the CPU kernel's formulas
// (src/backends/cpu/cross_entropy.cpp) and accumulation in the data type:
//   sigmoid: max(x,0) - x·z + log1p(exp(-|x|)), elementwise;
//   softmax over `axis`: sum(labels)·log(sum exp(x - max)) - sum(labels·(x - max));
//   sparse (class axis last): log(sum exp(x - max)) - (x[label] - max), labels checked before computing.
// Class-last rows take one warp each; a class axis with positions after it takes one thread per position,
// so neighbouring threads read neighbouring addresses.
#include <climits>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/device_tensors.h"
#include "core/dtype_dispatch.h"
#include "ops/cross_entropy_attrs.h"
#include "ops/dispatch.h"

namespace keel::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarpsPerBlock = kThreads / 32;

#define KEEL_GRID_STRIDE(i, n)                                                           \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

__device__ inline float dev_exp(float v) { return expf(v); }
__device__ inline double dev_exp(double v) { return exp(v); }
__device__ inline float dev_log(float v) { return logf(v); }
__device__ inline double dev_log(double v) { return log(v); }
__device__ inline float dev_log1p(float v) { return log1pf(v); }
__device__ inline double dev_log1p(double v) { return log1p(v); }
__device__ inline float dev_abs(float v) { return fabsf(v); }
__device__ inline double dev_abs(double v) { return fabs(v); }
// std::max's rule (the first argument unless the second is larger), so NaNs propagate as on the CPU.
template <class T>
__device__ inline T dev_max(T a, T b) {
  return a < b ? b : a;
}

template <class T>
__device__ inline T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
template <class T>
__device__ inline T warp_max(T v) {
  for (int o = 16; o > 0; o >>= 1) v = dev_max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

unsigned grid_for_rows(int64_t rows) { return static_cast<unsigned>(blocks_for(rows, kWarpsPerBlock)); }

// ---- SigmoidCrossEntropy ----

template <class T>
__global__ void sigmoid_ce_kernel(const T* z, const T* x, T* out, int64_t n) {
  KEEL_GRID_STRIDE(i, n) {
    const T xi = x[i];
    out[i] = dev_max(xi, T(0)) - xi * z[i] + dev_log1p(dev_exp(-dev_abs(xi)));
  }
}

void sigmoid_ce_cuda(const KernelArgs& a) {
  const Tensor& loss = a.out[0];
  detail::visit_float(loss.dtype(), "sigmoid_cross_entropy_with_logits", [&]<class T>(detail::TypeTag<T>) {
    const int64_t n = loss.numel();
    if (n == 0) return;
    Tensor z = contiguous_on_device(a.in[0]), x = contiguous_on_device(a.in[1]);
    sigmoid_ce_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, stream_of(loss)>>>(
        static_cast<const T*>(z.data_ptr()), static_cast<const T*>(x.data_ptr()), static_cast<T*>(loss.data_ptr()), n);
    KEEL_CUDA_CHECK(cudaGetLastError());
  });
}

// ---- SoftmaxCrossEntropy ----

// Class axis last (inner == 1): one warp per row of n classes.
template <class T>
__global__ void softmax_ce_rows_kernel(const T* lab, const T* x, T* out, int64_t rows, int64_t n) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + (threadIdx.x >> 5); r < rows; r += warps) {
    const T* xs = x + r * n;
    const T* ls = lab + r * n;
    T m = -INFINITY;
    for (int64_t c = lane; c < n; c += 32) m = dev_max(m, xs[c]);
    m = warp_max(m);
    T se = 0, sl = 0, slx = 0;
    for (int64_t c = lane; c < n; c += 32) {
      const T d = xs[c] - m;
      se += dev_exp(d);
      sl += ls[c];
      slx += ls[c] * d;
    }
    se = warp_sum(se);
    sl = warp_sum(sl);
    slx = warp_sum(slx);
    if (lane == 0) out[r] = sl * dev_log(se) - slx;
  }
}

// Class axis followed by `inner` positions: one thread per (outer, inner) position, walking the n classes.
template <class T>
__global__ void softmax_ce_strided_kernel(const T* lab, const T* x, T* out, int64_t n, int64_t inner, int64_t total) {
  KEEL_GRID_STRIDE(t, total) {
    const int64_t o = t / inner, i = t - o * inner;
    const T* xs = x + o * n * inner + i;
    const T* ls = lab + o * n * inner + i;
    T m = -INFINITY;
    for (int64_t c = 0; c < n; ++c) m = dev_max(m, xs[c * inner]);
    T se = 0, sl = 0, slx = 0;
    for (int64_t c = 0; c < n; ++c) {
      const T d = xs[c * inner] - m;
      se += dev_exp(d);
      sl += ls[c * inner];
      slx += ls[c * inner] * d;
    }
    out[t] = sl * dev_log(se) - slx;
  }
}

template <class T>
__global__ void fill_kernel(T* out, int64_t n, T value) {
  KEEL_GRID_STRIDE(i, n) out[i] = value;
}

void softmax_ce_cuda(const KernelArgs& a) {
  const Tensor& loss = a.out[0];
  const int64_t axis = a.get<SoftmaxCrossEntropyAttrs>().axis;
  const auto [outer, n, inner] = split_at_axis(a.in[1].shape(), axis);
  detail::visit_float(loss.dtype(), "softmax_cross_entropy_with_logits", [&]<class T>(detail::TypeTag<T>) {
    const int64_t total = loss.numel();
    if (total == 0) return;
    cudaStream_t stream = stream_of(loss);
    T* out = static_cast<T*>(loss.data_ptr());
    if (n == 0) {  // an empty sum over no classes
      fill_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, stream>>>(out, total, T(0));
      KEEL_CUDA_CHECK(cudaGetLastError());
      return;
    }
    Tensor lt = contiguous_on_device(a.in[0]), xt = contiguous_on_device(a.in[1]);
    const T *lab = static_cast<const T*>(lt.data_ptr()), *x = static_cast<const T*>(xt.data_ptr());
    if (inner == 1)
      softmax_ce_rows_kernel<T><<<grid_for_rows(outer), kThreads, 0, stream>>>(lab, x, out, outer, n);
    else
      softmax_ce_strided_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, stream>>>(lab, x, out, n, inner, total);
    KEEL_CUDA_CHECK(cudaGetLastError());
  });
}

// ---- SparseSoftmaxCrossEntropy ----

constexpr unsigned long long kNoBadLabel = ULLONG_MAX;

// labels -> int64 copy; the smallest sample index whose label lies outside [0, n) goes to *first_bad.
template <class L>
__global__ void check_labels_kernel(const L* labels, int64_t rows, int64_t n, int64_t* out,
                                    unsigned long long* first_bad) {
  KEEL_GRID_STRIDE(r, rows) {
    const int64_t v = static_cast<int64_t>(labels[r]);
    out[r] = v;
    if (v < 0 || v >= n) atomicMin(first_bad, static_cast<unsigned long long>(r));
  }
}

template <class T>
__global__ void sparse_softmax_ce_kernel(const int64_t* labels, const T* x, T* out, int64_t rows, int64_t n) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t r = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + (threadIdx.x >> 5); r < rows; r += warps) {
    const T* row = x + r * n;
    T m = -INFINITY;
    for (int64_t c = lane; c < n; c += 32) m = dev_max(m, row[c]);
    m = warp_max(m);
    T s = 0;
    for (int64_t c = lane; c < n; c += 32) s += dev_exp(row[c] - m);
    s = warp_sum(s);
    if (lane == 0) out[r] = dev_log(s) - (row[labels[r]] - m);
  }
}

// The labels as int64 in device scratch memory (valid until the next workspace() call), all checked against
// [0, n) first: a bad one raises the CPU kernel's IndexError (one stream synchronisation).
const int64_t* checked_labels(const Tensor& labels, int64_t rows, int64_t n) {
  const int device = labels.device().index;
  cudaStream_t stream = stream_of(labels);
  auto* out = static_cast<int64_t*>(workspace(device, (rows + 1) * sizeof(int64_t)));
  auto* first_bad = reinterpret_cast<unsigned long long*>(out + rows);
  KEEL_CUDA_CHECK(cudaMemsetAsync(first_bad, 0xFF, sizeof(*first_bad), stream));  // kNoBadLabel
  auto launch = [&]<class L>(detail::TypeTag<L>) {
    check_labels_kernel<L><<<blocks_for(rows, kThreads), kThreads, 0, stream>>>(
        static_cast<const L*>(labels.data_ptr()), rows, n, out, first_bad);
  };
  detail::visit_index(labels.dtype(), "sparse_softmax_cross_entropy_with_logits: labels", launch);
  KEEL_CUDA_CHECK(cudaGetLastError());
  unsigned long long bad = kNoBadLabel;
  KEEL_CUDA_CHECK(cudaMemcpyAsync(&bad, first_bad, sizeof(bad), cudaMemcpyDeviceToHost, stream));
  KEEL_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (bad != kNoBadLabel) {
    int64_t v = 0;
    KEEL_CUDA_CHECK(cudaMemcpyAsync(&v, out + bad, sizeof(v), cudaMemcpyDeviceToHost, stream));
    KEEL_CUDA_CHECK(cudaStreamSynchronize(stream));
    KEEL_CHECK(false, IndexError, "sparse_softmax_cross_entropy_with_logits: label ", v, " at sample ", bad,
               " is out of range for ", n, " classes (expected 0 <= label < ", n, ")");
  }
  return out;
}

void sparse_softmax_ce_cuda(const KernelArgs& a) {
  const Tensor& loss = a.out[0];
  const int64_t n = a.in[1].shape().back();
  const int64_t rows = loss.numel();
  if (rows == 0) return;
  // Both copies come first: checked_labels' scratch memory is only valid until another workspace() user.
  Tensor lt = contiguous_on_device(a.in[0]), xt = contiguous_on_device(a.in[1]);
  const int64_t* labels = checked_labels(lt, rows, n);
  detail::visit_float(loss.dtype(), "sparse_softmax_cross_entropy_with_logits", [&]<class T>(detail::TypeTag<T>) {
    sparse_softmax_ce_kernel<T><<<grid_for_rows(rows), kThreads, 0, stream_of(loss)>>>(
        labels, static_cast<const T*>(xt.data_ptr()), static_cast<T*>(loss.data_ptr()), rows, n);
    KEEL_CUDA_CHECK(cudaGetLastError());
  });
}

KEEL_REGISTER_KERNEL(SigmoidCrossEntropy, kCuda, sigmoid_ce_cuda);
KEEL_REGISTER_KERNEL(SoftmaxCrossEntropy, kCuda, softmax_ce_cuda);
KEEL_REGISTER_KERNEL(SparseSoftmaxCrossEntropy, kCuda, sparse_softmax_ce_cuda);

}  // namespace
}  // namespace keel::cuda
