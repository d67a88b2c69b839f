// BatchNormTrain, BatchNormInference and BatchNormBackward as direct two-pass kernels (not cuDNN's batch
// norm: cuDNN returns an unbiased running variance and a saved inverse deviation, while Keel returns the
// biased batch variance that Keras normalises with, and a two-pass mean/variance is as accurate as the
// CPU's). x is seen as (outer, C, inner) around the channel axis; each channel's M = outer·inner elements
// are reduced by a grid of (channel, chunk) blocks into partial sums that one thread per channel then
// combines, so every channel count and batch size keeps the GPU busy. 16-bit data accumulates in float.
//   train:     mean = Σx/M, var = Σ(x-mean)²/M (biased), y = (x-mean)·gamma·rsqrt(var+eps) + beta
//   backward:  with r = rsqrt(var+eps), dgamma = r·Σ dy(x-mean), dbeta = Σ dy,
//              dx = gamma·r·(dy - Σdy/M - (x-mean)·r²·Σ dy(x-mean)/M)
#include <cmath>

#include "backends/cuda/cudnn_util.h"
#include "ops/dispatch.h"
#include "ops/normalization_attrs.h"

namespace keel::cuda {
namespace {

using namespace dnnutil;

constexpr int kThreads = 256;

// x as (outer, C, inner): M elements per channel; element r of channel c sits at address().
struct Layout {
  int64_t outer = 1, C = 1, inner = 1;
  int64_t M() const { return outer * inner; }
  __host__ __device__ int64_t address(int64_t c, int64_t r) const { return ((r / inner) * C + c) * inner + r % inner; }
  __host__ __device__ int64_t channel_of(int64_t i) const { return (i / inner) % C; }
};

Layout layout_of(const Shape& s, int64_t axis) {
  Layout l;
  for (int64_t i = 0; i < axis; ++i) l.outer *= s[i];
  l.C = s[axis];
  for (size_t i = axis + 1; i < s.size(); ++i) l.inner *= s[i];
  return l;
}

// How the M elements of a channel split into chunks, one block each.
struct Chunks {
  int parts = 1;
  int64_t size = 0;
};

Chunks chunks_for(const Layout& l) {
  const int64_t m = l.M();
  // Enough blocks to fill the GPU (≈512 in all), each with at least 1024 elements to reduce.
  int64_t parts = std::min<int64_t>((m + 1023) / 1024, std::max<int64_t>(1, 512 / std::max<int64_t>(l.C, 1)));
  parts = std::clamp<int64_t>(parts, 1, 65535);
  return {static_cast<int>(parts), (m + parts - 1) / parts};
}

// ---- per-channel partial sums: two running sums per element, from a functor f(c, r, s1, s2) ----

template <class A, class F>
__global__ void partial_sums_kernel(F f, int64_t m, int64_t chunk, A* partial) {
  const int64_t c = blockIdx.x, p = blockIdx.y;
  const int64_t begin = p * chunk, end = min(begin + chunk, m);
  A s1 = A(0), s2 = A(0);
  for (int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) f(c, r, s1, s2);
  __shared__ A sh1[kThreads], sh2[kThreads];
  sh1[threadIdx.x] = s1;
  sh2[threadIdx.x] = s2;
  __syncthreads();
  for (int step = kThreads / 2; step > 0; step /= 2) {
    if (threadIdx.x < step) {
      sh1[threadIdx.x] += sh1[threadIdx.x + step];
      sh2[threadIdx.x] += sh2[threadIdx.x + step];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    partial[(c * gridDim.y + p) * 2] = sh1[0];
    partial[(c * gridDim.y + p) * 2 + 1] = sh2[0];
  }
}

template <class T, class A>
struct SumX {
  const T* x;
  Layout l;
  __device__ void operator()(int64_t c, int64_t r, A& s1, A&) const { s1 += static_cast<A>(x[l.address(c, r)]); }
};

template <class T, class A>
struct SumSquaredDeviation {
  const T* x;
  const A* mean;
  Layout l;
  __device__ void operator()(int64_t c, int64_t r, A& s1, A&) const {
    const A d = static_cast<A>(x[l.address(c, r)]) - mean[c];
    s1 += d * d;
  }
};

// Σ dy and Σ dy·(x - mean), the mean given as the data type T.
template <class T, class A>
struct BackwardSums {
  const T* x;
  const T* dy;
  const T* mean;
  Layout l;
  __device__ void operator()(int64_t c, int64_t r, A& s1, A& s2) const {
    const int64_t i = l.address(c, r);
    const A g = static_cast<A>(dy[i]);
    s1 += g;
    s2 += g * (static_cast<A>(x[i]) - static_cast<A>(mean[c]));
  }
};

// Launches the partial sums of every channel into `partial` (C·parts·2 values of A).
template <class A, class F>
void partial_sums(const F& f, const Layout& l, const Chunks& ch, A* partial, cudaStream_t stream) {
  dim3 grid(static_cast<unsigned>(l.C), static_cast<unsigned>(ch.parts));
  partial_sums_kernel<A><<<grid, kThreads, 0, stream>>>(f, l.M(), ch.size, partial);
  check_launch("batch norm partial sums kernel");
}

// ---- per-channel finalisation (one thread per channel) ----

template <class A>
__device__ inline void combine(const A* partial, int64_t c, int parts, A& s1, A& s2) {
  s1 = A(0);
  s2 = A(0);
  for (int p = 0; p < parts; ++p) {
    s1 += partial[(c * parts + p) * 2];
    s2 += partial[(c * parts + p) * 2 + 1];
  }
}

template <class A>
__global__ void finalize_mean_kernel(const A* partial, int parts, int64_t C, int64_t m, A* mean) {
  for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < C; c += int64_t{gridDim.x} * blockDim.x) {
    A s1, s2;
    combine(partial, c, parts, s1, s2);
    mean[c] = s1 / static_cast<A>(m);
  }
}

// var = Σ(x-mean)²/M; writes the T outputs and the normalisation coefficients (see Norm).
template <class T, class A>
__global__ void finalize_var_kernel(const A* partial, int parts, int64_t C, int64_t m, const A* mean, const T* gamma,
                                    const T* beta, double eps, T* mean_out, T* var_out, A* norm) {
  for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < C; c += int64_t{gridDim.x} * blockDim.x) {
    A s1, s2;
    combine(partial, c, parts, s1, s2);
    const A var = s1 / static_cast<A>(m);
    mean_out[c] = T(mean[c]);
    var_out[c] = T(var);
    norm[c * 3] = mean[c];
    norm[c * 3 + 1] = static_cast<A>(gamma[c]) / sqrt(var + static_cast<A>(eps));
    norm[c * 3 + 2] = static_cast<A>(beta[c]);
  }
}

// Normalisation coefficients from given statistics (inference).
template <class T, class A>
__global__ void inference_coefficients_kernel(int64_t C, const T* mean, const T* var, const T* gamma, const T* beta,
                                              double eps, A* norm) {
  for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < C; c += int64_t{gridDim.x} * blockDim.x) {
    norm[c * 3] = static_cast<A>(mean[c]);
    norm[c * 3 + 1] = static_cast<A>(gamma[c]) / sqrt(static_cast<A>(var[c]) + static_cast<A>(eps));
    norm[c * 3 + 2] = static_cast<A>(beta[c]);
  }
}

// dgamma, dbeta, and the coefficients of dx = a·dy + b·(x - mean) + d per channel: a = gamma·r,
// b = -gamma·r³·Σdy(x-mean)/M, d = -a·Σdy/M; coef holds (a, b, d, mean).
template <class T, class A>
__global__ void backward_coefficients_kernel(const A* partial, int parts, int64_t C, int64_t m, const T* gamma,
                                             const T* mean, const T* var, double eps, T* dgamma, T* dbeta, A* coef) {
  for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < C; c += int64_t{gridDim.x} * blockDim.x) {
    A sdy, sdyx;
    combine(partial, c, parts, sdy, sdyx);
    const A r = A(1) / sqrt(static_cast<A>(var[c]) + static_cast<A>(eps));
    dgamma[c] = T(sdyx * r);
    dbeta[c] = T(sdy);
    const A a = static_cast<A>(gamma[c]) * r;
    const A b = -a * r * r * sdyx / static_cast<A>(m);
    coef[c * 4] = a;
    coef[c * 4 + 1] = b;
    coef[c * 4 + 2] = -a * sdy / static_cast<A>(m);
    coef[c * 4 + 3] = static_cast<A>(mean[c]);
  }
}

// ---- elementwise passes ----

// y = (x - mean)·k + beta with norm = (mean, k = gamma·rsqrt(var + eps), beta) per channel.
template <class T, class A>
__global__ void normalize_kernel(const T* x, T* y, int64_t n, Layout l, const A* norm) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = l.channel_of(i);
    y[i] = T((static_cast<A>(x[i]) - norm[c * 3]) * norm[c * 3 + 1] + norm[c * 3 + 2]);
  }
}

template <class T, class A>
__global__ void backward_dx_kernel(const T* x, const T* dy, T* dx, int64_t n, Layout l, const A* coef) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = l.channel_of(i);
    const A* k = coef + c * 4;
    dx[i] = T(k[0] * static_cast<A>(dy[i]) + k[1] * (static_cast<A>(x[i]) - k[3]) + k[2]);
  }
}

template <class T>
__global__ void fill_nan_kernel(T* p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    p[i] = T(static_cast<float>(NAN));
}

template <class A>
DType dtype_of_acc() {
  return sizeof(A) == 8 ? DType::f64 : DType::f32;
}

template <class T>
const T* ptr(const Tensor& t) {
  return static_cast<const T*>(t.data_ptr());
}
template <class T>
T* mut(const Tensor& t) {
  return static_cast<T*>(t.data_ptr());
}

// ---- kernels ----

// in: x, gamma, beta -> out: y, mean, variance.
void batch_norm_train_cuda(const KernelArgs& args) {
  constexpr const char* kOp = "batch_norm_train";
  const auto& attrs = args.get<BatchNormAttrs>();
  const Tensor &y = args.out[0], &mean_out = args.out[1], &var_out = args.out[2];
  const Layout l = layout_of(y.shape(), attrs.axis);
  if (l.C == 0) return;
  const int device = device_of(y);
  set_device(device);
  cudaStream_t stream = current_stream(device);
  visit_float(y.dtype(), kOp, [&]<class T>(TypeTag<T>) {
    using A = acc_t<T>;
    if (l.M() == 0) {  // statistics of an empty batch, as numpy's mean of nothing
      fill_nan_kernel<T><<<blocks_for(l.C), 256, 0, stream>>>(mut<T>(mean_out), l.C);
      fill_nan_kernel<T><<<blocks_for(l.C), 256, 0, stream>>>(mut<T>(var_out), l.C);
      return check_launch("batch norm NaN fill kernel");
    }
    const Tensor x = contiguous_on_device(args.in[0]), gamma = contiguous_on_device(args.in[1]),
                 beta = contiguous_on_device(args.in[2]);
    const Chunks ch = chunks_for(l);
    // Scratch: partial sums, the mean, and the normalisation coefficients, in the accumulation type.
    const Tensor scratch = empty({l.C * ch.parts * 2 + 4 * l.C}, dtype_of_acc<A>(), y.device());
    A* partial = mut<A>(scratch);
    A* mean = partial + l.C * ch.parts * 2;
    A* norm = mean + l.C;
    const int cblocks = blocks_for(l.C);
    partial_sums(SumX<T, A>{ptr<T>(x), l}, l, ch, partial, stream);
    finalize_mean_kernel<A><<<cblocks, 256, 0, stream>>>(partial, ch.parts, l.C, l.M(), mean);
    check_launch("batch norm mean kernel");
    partial_sums(SumSquaredDeviation<T, A>{ptr<T>(x), mean, l}, l, ch, partial, stream);
    finalize_var_kernel<T, A><<<cblocks, 256, 0, stream>>>(partial, ch.parts, l.C, l.M(), mean, ptr<T>(gamma),
                                                           ptr<T>(beta), attrs.epsilon, mut<T>(mean_out),
                                                           mut<T>(var_out), norm);
    check_launch("batch norm variance kernel");
    normalize_kernel<T, A><<<blocks_for(y.numel()), 256, 0, stream>>>(ptr<T>(x), mut<T>(y), y.numel(), l, norm);
    check_launch("batch norm normalise kernel");
  });
}

// in: x, mean, variance, gamma, beta -> out: y.
void batch_norm_inference_cuda(const KernelArgs& args) {
  constexpr const char* kOp = "batch_norm_inference";
  const auto& attrs = args.get<BatchNormAttrs>();
  const Tensor& y = args.out[0];
  if (y.numel() == 0) return;
  const Layout l = layout_of(y.shape(), attrs.axis);
  const int device = device_of(y);
  set_device(device);
  cudaStream_t stream = current_stream(device);
  visit_float(y.dtype(), kOp, [&]<class T>(TypeTag<T>) {
    using A = acc_t<T>;
    const Tensor x = contiguous_on_device(args.in[0]), mean = contiguous_on_device(args.in[1]),
                 var = contiguous_on_device(args.in[2]), gamma = contiguous_on_device(args.in[3]),
                 beta = contiguous_on_device(args.in[4]);
    const Tensor scratch = empty({3 * l.C}, dtype_of_acc<A>(), y.device());
    A* norm = mut<A>(scratch);
    inference_coefficients_kernel<T, A><<<blocks_for(l.C), 256, 0, stream>>>(
        l.C, ptr<T>(mean), ptr<T>(var), ptr<T>(gamma), ptr<T>(beta), attrs.epsilon, norm);
    check_launch("batch norm inference coefficients kernel");
    normalize_kernel<T, A><<<blocks_for(y.numel()), 256, 0, stream>>>(ptr<T>(x), mut<T>(y), y.numel(), l, norm);
    check_launch("batch norm normalise kernel");
  });
}

// in: x, gamma, mean, variance, grad_y -> out: grad_x, grad_gamma, grad_beta (training-mode backward).
void batch_norm_backward_cuda(const KernelArgs& args) {
  constexpr const char* kOp = "batch_norm_backward";
  const auto& attrs = args.get<BatchNormAttrs>();
  const Tensor &dx = args.out[0], &dgamma = args.out[1], &dbeta = args.out[2];
  const Layout l = layout_of(dx.shape(), attrs.axis);
  if (l.C == 0) return;
  const int device = device_of(dx);
  set_device(device);
  cudaStream_t stream = current_stream(device);
  if (l.M() == 0) {  // no elements: the parameter gradients are empty sums
    zero_fill(dgamma);
    zero_fill(dbeta);
    return;
  }
  visit_float(dx.dtype(), kOp, [&]<class T>(TypeTag<T>) {
    using A = acc_t<T>;
    const Tensor x = contiguous_on_device(args.in[0]), gamma = contiguous_on_device(args.in[1]),
                 mean = contiguous_on_device(args.in[2]), var = contiguous_on_device(args.in[3]),
                 dy = contiguous_on_device(args.in[4]);
    const Chunks ch = chunks_for(l);
    const Tensor scratch = empty({l.C * ch.parts * 2 + 4 * l.C}, dtype_of_acc<A>(), dx.device());
    A* partial = mut<A>(scratch);
    A* coef = partial + l.C * ch.parts * 2;
    partial_sums(BackwardSums<T, A>{ptr<T>(x), ptr<T>(dy), ptr<T>(mean), l}, l, ch, partial, stream);
    backward_coefficients_kernel<T, A>
        <<<blocks_for(l.C), 256, 0, stream>>>(partial, ch.parts, l.C, l.M(), ptr<T>(gamma), ptr<T>(mean), ptr<T>(var),
                                              attrs.epsilon, mut<T>(dgamma), mut<T>(dbeta), coef);
    check_launch("batch norm backward coefficients kernel");
    backward_dx_kernel<T, A>
        <<<blocks_for(dx.numel()), 256, 0, stream>>>(ptr<T>(x), ptr<T>(dy), mut<T>(dx), dx.numel(), l, coef);
    check_launch("batch norm backward dx kernel");
  });
}

KEEL_REGISTER_KERNEL(BatchNormTrain, kCuda, batch_norm_train_cuda);
KEEL_REGISTER_KERNEL(BatchNormInference, kCuda, batch_norm_inference_cuda);
KEEL_REGISTER_KERNEL(BatchNormBackward, kCuda, batch_norm_backward_cuda);

}  // namespace
}  // namespace keel::cuda
