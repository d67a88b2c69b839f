// MaxPool, MaxPoolBackward, AvgPool and AvgPoolBackward for channels-last data (1-D pooling arrives as
// 2-D with height 1). Direct kernels rather than cuDNN's pooling: cuDNN pads symmetrically, and with
// TensorFlow's asymmetric "same" padding an average must still exclude exactly the padded cells, and the
// max gradient must go to the first maximum of each window in row-major order (the CPU backend's rule,
// which cuDNN does not document). One thread per output element (forward) or per input element
// (backward, a gather over the windows that contain it: deterministic, no atomics). Consecutive threads
// handle consecutive channels, so loads are coalesced. 16-bit types accumulate in float.
#include <cmath>

#include "backends/cuda/cudnn_util.h"
#include "ops/dispatch.h"
#include "ops/pooling_attrs.h"

namespace keel::cuda {
namespace {

using namespace dnnutil;

struct PoolGeom {
  int64_t N, H, W, C, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw;  // window, strides, padding before
};

PoolGeom pool_geom(const Shape& xs, const Shape& ys, const PoolAttrs& a) {
  return {xs[0],       xs[1],       xs[2],        xs[3],        ys[1],           ys[2],
          a.window[0], a.window[1], a.strides[0], a.strides[1], a.pad_before[0], a.pad_before[1]};
}

// The range of output positions [lo, hi] whose windows (start o·s - p, extent k) contain input position i.
__device__ inline void covering(int64_t i, int64_t k, int64_t s, int64_t p, int64_t out, int64_t& lo, int64_t& hi) {
  const int64_t t = i + p - k + 1;
  lo = t <= 0 ? 0 : (t + s - 1) / s;
  hi = min((i + p) / s, out - 1);
}

// The first maximum (row-major) of window (oh, ow) of channel c in image n: its (h, w), or h = -1 if the
// window holds no real element.
template <class T>
__device__ inline void window_argmax(const T* x, const PoolGeom& g, int64_t n, int64_t oh, int64_t ow, int64_t c,
                                     int64_t& bh, int64_t& bw) {
  using A = acc_t<T>;
  A best = static_cast<A>(-INFINITY);
  bh = -1;
  bw = -1;
  const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  for (int64_t h = max(h0, int64_t{0}); h < min(h0 + g.kh, g.H); ++h)
    for (int64_t w = max(w0, int64_t{0}); w < min(w0 + g.kw, g.W); ++w) {
      const A v = static_cast<A>(x[((n * g.H + h) * g.W + w) * g.C + c]);
      if (bh < 0 || v > best) {
        best = v;
        bh = h;
        bw = w;
      }
    }
}

// Number of real (unpadded) cells in window (oh, ow).
__device__ inline int64_t window_count(const PoolGeom& g, int64_t oh, int64_t ow) {
  const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
  const int64_t rows = min(h0 + g.kh, g.H) - max(h0, int64_t{0});
  const int64_t cols = min(w0 + g.kw, g.W) - max(w0, int64_t{0});
  return max(rows, int64_t{0}) * max(cols, int64_t{0});
}

template <class T, bool kMax>
__global__ void pool_forward_kernel(const T* x, T* y, PoolGeom g) {
  using A = acc_t<T>;
  const int64_t n_out = g.N * g.OH * g.OW * g.C;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n_out; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = i % g.C;
    int64_t rest = i / g.C;
    const int64_t ow = rest % g.OW;
    rest /= g.OW;
    const int64_t oh = rest % g.OH, n = rest / g.OH;
    const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    A acc = kMax ? static_cast<A>(-INFINITY) : A(0);
    int64_t count = 0;
    for (int64_t h = max(h0, int64_t{0}); h < min(h0 + g.kh, g.H); ++h)
      for (int64_t w = max(w0, int64_t{0}); w < min(w0 + g.kw, g.W); ++w) {
        const A v = static_cast<A>(x[((n * g.H + h) * g.W + w) * g.C + c]);
        if constexpr (kMax) {
          if (count == 0 || v > acc) acc = v;
        } else {
          acc += v;
        }
        ++count;
      }
    if constexpr (!kMax) acc = acc / static_cast<A>(count);  // 0/0 = NaN for a window of padding only
    y[i] = T(acc);
  }
}

template <class T>
__global__ void max_pool_backward_kernel(const T* x, const T* gy, T* gx, PoolGeom g) {
  using A = acc_t<T>;
  const int64_t n_in = g.N * g.H * g.W * g.C;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n_in; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = i % g.C;
    int64_t rest = i / g.C;
    const int64_t w = rest % g.W;
    rest /= g.W;
    const int64_t h = rest % g.H, n = rest / g.H;
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    covering(h, g.kh, g.sh, g.ph, g.OH, oh_lo, oh_hi);
    covering(w, g.kw, g.sw, g.pw, g.OW, ow_lo, ow_hi);
    A acc = A(0);
    for (int64_t oh = oh_lo; oh <= oh_hi; ++oh)
      for (int64_t ow = ow_lo; ow <= ow_hi; ++ow) {
        int64_t bh, bw;
        window_argmax(x, g, n, oh, ow, c, bh, bw);
        if (bh == h && bw == w) acc += static_cast<A>(gy[((n * g.OH + oh) * g.OW + ow) * g.C + c]);
      }
    gx[i] = T(acc);
  }
}

template <class T>
__global__ void avg_pool_backward_kernel(const T* gy, T* gx, PoolGeom g) {
  using A = acc_t<T>;
  const int64_t n_in = g.N * g.H * g.W * g.C;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n_in; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = i % g.C;
    int64_t rest = i / g.C;
    const int64_t w = rest % g.W;
    rest /= g.W;
    const int64_t h = rest % g.H, n = rest / g.H;
    int64_t oh_lo, oh_hi, ow_lo, ow_hi;
    covering(h, g.kh, g.sh, g.ph, g.OH, oh_lo, oh_hi);
    covering(w, g.kw, g.sw, g.pw, g.OW, ow_lo, ow_hi);
    A acc = A(0);
    for (int64_t oh = oh_lo; oh <= oh_hi; ++oh)
      for (int64_t ow = ow_lo; ow <= ow_hi; ++ow)
        acc += static_cast<A>(gy[((n * g.OH + oh) * g.OW + ow) * g.C + c]) / static_cast<A>(window_count(g, oh, ow));
    gx[i] = T(acc);
  }
}

template <bool kMax>
void pool_forward_cuda(const KernelArgs& args) {
  const char* op = kMax ? "max_pool" : "avg_pool";
  const Tensor& y = args.out[0];
  if (y.numel() == 0) return;
  const int device = device_of(y);
  set_device(device);
  const Tensor x = contiguous_on_device(args.in[0]);
  const PoolGeom g = pool_geom(x.shape(), y.shape(), args.get<PoolAttrs>());
  visit_float(y.dtype(), op, [&]<class T>(TypeTag<T>) {
    pool_forward_kernel<T, kMax><<<blocks_for(y.numel()), 256, 0, current_stream(device)>>>(
        static_cast<const T*>(x.data_ptr()), static_cast<T*>(y.data_ptr()), g);
  });
  check_launch(op);
}

void max_pool_backward_cuda(const KernelArgs& args) {
  const Tensor& gx = args.out[0];
  if (gx.numel() == 0) return;
  const int device = device_of(gx);
  set_device(device);
  const Tensor x = contiguous_on_device(args.in[0]), gy = contiguous_on_device(args.in[1]);
  if (gy.numel() == 0) return zero_fill(gx);
  const PoolGeom g = pool_geom(x.shape(), gy.shape(), args.get<PoolAttrs>());
  visit_float(gx.dtype(), "max_pool_backward", [&]<class T>(TypeTag<T>) {
    max_pool_backward_kernel<T><<<blocks_for(gx.numel()), 256, 0, current_stream(device)>>>(
        static_cast<const T*>(x.data_ptr()), static_cast<const T*>(gy.data_ptr()), static_cast<T*>(gx.data_ptr()), g);
  });
  check_launch("max_pool_backward");
}

void avg_pool_backward_cuda(const KernelArgs& args) {
  const Tensor& gx = args.out[0];
  if (gx.numel() == 0) return;
  const int device = device_of(gx);
  set_device(device);
  const Tensor gy = contiguous_on_device(args.in[0]);
  if (gy.numel() == 0) return zero_fill(gx);
  const PoolGeom g = pool_geom(gx.shape(), gy.shape(), args.get<PoolAttrs>());
  visit_float(gx.dtype(), "avg_pool_backward", [&]<class T>(TypeTag<T>) {
    avg_pool_backward_kernel<T><<<blocks_for(gx.numel()), 256, 0, current_stream(device)>>>(
        static_cast<const T*>(gy.data_ptr()), static_cast<T*>(gx.data_ptr()), g);
  });
  check_launch("avg_pool_backward");
}

void max_pool_cuda(const KernelArgs& args) { pool_forward_cuda<true>(args); }
void avg_pool_cuda(const KernelArgs& args) { pool_forward_cuda<false>(args); }

KEEL_REGISTER_KERNEL(MaxPool, kCuda, max_pool_cuda);
KEEL_REGISTER_KERNEL(MaxPoolBackward, kCuda, max_pool_backward_cuda);
KEEL_REGISTER_KERNEL(AvgPool, kCuda, avg_pool_cuda);
KEEL_REGISTER_KERNEL(AvgPoolBackward, kCuda, avg_pool_backward_cuda);

}  // namespace
}  // namespace keel::cuda
