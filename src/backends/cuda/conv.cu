// Conv, ConvBackwardInput and ConvBackwardKernel on cuDNN (cudnnConvolutionForward / BackwardData /
// BackwardFilter), data channels-last (CUDNN_TENSOR_NHWC). Keras's HWIO kernel (R, S, C/G, K) is
// transposed to cuDNN's NHWC filter layout KRSC (and the filter gradient back) by a small transpose kernel.
// cuDNN pads symmetrically, while TensorFlow's "same" padding (and conv2d_transpose's geometry) may put
// more on one side: cuDNN gets min(before, after) per axis and the rest is explicit, a zero-padded copy
// of the input (forward, filter gradient) or a larger input gradient that is cropped (data gradient).
// Algorithms come from the cudnnGet*_v7 heuristics, cached per geometry; float32 runs with
// CUDNN_FMA_MATH (exact float32) unless TF32 is enabled; float16/bfloat16 use tensor cores with float
// accumulation. Output tensors are fresh and contiguous (the glue allocates them), as on the CPU.
#include <mutex>
#include <string>
#include <unordered_map>

#include "backends/cuda/cudnn_util.h"
#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/conv_attrs.h"
#include "ops/dispatch.h"

namespace keel::cuda {
namespace {

using namespace dnnutil;

// ---- small device kernels (raw element copies: E is an unsigned integer of the element's size) ----

// out (N, H + pb0 + pa0, W + pb1 + pa1, C) = x (N, H, W, C) surrounded by zeros.
template <class E>
__global__ void pad_nhwc_kernel(const E* x, E* out, int64_t n_out, int64_t H, int64_t W, int64_t C, int64_t Hp,
                                int64_t Wp, int64_t pb0, int64_t pb1) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n_out; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t c = i % C;
    int64_t rest = i / C;
    const int64_t w = rest % Wp - pb1;
    rest /= Wp;
    const int64_t h = rest % Hp - pb0;
    const int64_t n = rest / Hp;
    out[i] = (h >= 0 && h < H && w >= 0 && w < W) ? x[((n * H + h) * W + w) * C + c] : E(0);
  }
}

// out (cols, rows) = in (rows, cols)ᵀ, both dense.
template <class E>
__global__ void transpose_kernel(const E* in, E* out, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i % rows, c = i / rows;  // i indexes out: out[c][r]
    out[i] = in[r * cols + c];
  }
}

void transpose(const Tensor& in, const Tensor& out, int64_t rows, int64_t cols, int device) {
  cudaStream_t stream = current_stream(device);
  const int blocks = blocks_for(rows * cols);
  detail::visit_bits(in.dtype(), "conv", [&]<class E>(detail::TypeTag<E>) {
    transpose_kernel<E>
        <<<blocks, 256, 0, stream>>>(static_cast<const E*>(in.data_ptr()), static_cast<E*>(out.data_ptr()), rows, cols);
  });
  check_launch("conv filter transpose kernel");
}

// ---- geometry ----

struct Geometry {
  int64_t N, H, W, C;                       // unpadded input
  int64_t R, S, Cg, K;                      // HWIO kernel
  int64_t OH, OW;                           // output
  int64_t extra_before[2], extra_after[2];  // explicit padding
  int pad[2], stride[2], dil[2], groups;    // cuDNN's symmetric padding and the rest
  int64_t Hp() const { return H + extra_before[0] + extra_after[0]; }
  int64_t Wp() const { return W + extra_before[1] + extra_after[1]; }
  bool explicit_pad() const { return extra_before[0] || extra_before[1] || extra_after[0] || extra_after[1]; }
};

Geometry geometry(const Shape& xs, const Shape& ks, const Shape& ys, const ConvAttrs& a, const char* op) {
  Geometry g{};
  g.N = xs[0], g.H = xs[1], g.W = xs[2], g.C = xs[3];
  g.R = ks[0], g.S = ks[1], g.Cg = ks[2], g.K = ks[3];
  g.OH = ys[1], g.OW = ys[2];
  for (int i = 0; i < 2; ++i) {
    KEEL_CHECK(a.pad_before[i] >= 0 && a.pad_after[i] >= 0, ValueError, op, ": negative padding (", a.pad_before[i],
               ", ", a.pad_after[i], ") is not supported by the CUDA backend");
    const int64_t sym = std::min(a.pad_before[i], a.pad_after[i]);
    g.pad[i] = to_int(sym, op, "padding");
    g.extra_before[i] = a.pad_before[i] - sym;
    g.extra_after[i] = a.pad_after[i] - sym;
    g.stride[i] = to_int(a.strides[i], op, "stride");
    g.dil[i] = to_int(a.dilation[i], op, "dilation");
  }
  g.groups = to_int(a.groups, op, "groups");
  return g;
}

// x padded explicitly with zeros where cuDNN's symmetric padding does not cover TensorFlow's.
Tensor pad_input(const Tensor& x, const Geometry& g, int device) {
  if (!g.explicit_pad()) return x;
  Tensor out = empty({g.N, g.Hp(), g.Wp(), g.C}, x.dtype(), x.device());
  if (out.numel() == 0) return out;
  cudaStream_t stream = current_stream(device);
  const int blocks = blocks_for(out.numel());
  detail::visit_bits(x.dtype(), "conv", [&]<class E>(detail::TypeTag<E>) {
    pad_nhwc_kernel<E><<<blocks, 256, 0, stream>>>(static_cast<const E*>(x.data_ptr()), static_cast<E*>(out.data_ptr()),
                                                   out.numel(), g.H, g.W, g.C, g.Hp(), g.Wp(), g.extra_before[0],
                                                   g.extra_before[1]);
  });
  check_launch("conv explicit padding kernel");
  return out;
}

// HWIO (R·S·Cg rows, K cols) -> KRSC.
Tensor to_krsc(const Tensor& k, const Geometry& g, int device) {
  Tensor out = empty({g.K, g.R, g.S, g.Cg}, k.dtype(), k.device());
  transpose(k, out, g.R * g.S * g.Cg, g.K, device);
  return out;
}

// ---- descriptors ----

struct Descs {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  bool fma_only = false;  // float32 without TF32: FMA kernels only
  std::string key;        // geometry, dtype, math: the algorithm cache key
};

void set_descs(Descs& d, const Geometry& g, DType dtype, int device, const char* op) {
  const cudnnDataType_t dt = cudnn_dtype(dtype, op);
  d.x.set(CUDNN_TENSOR_NHWC, dt, to_int(g.N, op, "batch"), to_int(g.C, op, "input channels"),
          to_int(g.Hp(), op, "input height"), to_int(g.Wp(), op, "input width"));
  d.y.set(CUDNN_TENSOR_NHWC, dt, to_int(g.N, op, "batch"), to_int(g.K, op, "output channels"),
          to_int(g.OH, op, "output height"), to_int(g.OW, op, "output width"));
  d.w.set(CUDNN_TENSOR_NHWC, dt, to_int(g.K, op, "output channels"), to_int(g.Cg, op, "input channels per group"),
          to_int(g.R, op, "kernel height"), to_int(g.S, op, "kernel width"));
  const cudnnDataType_t compute = dtype == DType::f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  KEEL_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d.conv.get(), g.pad[0], g.pad[1], g.stride[0], g.stride[1], g.dil[0],
                                                   g.dil[1], CUDNN_CROSS_CORRELATION, compute));
  KEEL_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d.conv.get(), g.groups));
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  if (dtype == DType::f32) {
    d.fma_only = !tf32_enabled();
    math = d.fma_only ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH;
  } else if (dtype == DType::f16 || dtype == DType::bf16) {
    math = CUDNN_TENSOR_OP_MATH;
  }
  KEEL_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), math));
  d.key = detail::cat(device, '|', static_cast<int>(dtype), '|', static_cast<int>(math), '|', g.N, ',', g.Hp(), ',',
                      g.Wp(), ',', g.C, '|', g.R, ',', g.S, ',', g.Cg, ',', g.K, '|', g.OH, ',', g.OW, '|', g.pad[0],
                      ',', g.pad[1], ',', g.stride[0], ',', g.stride[1], ',', g.dil[0], ',', g.dil[1], ',', g.groups);
}

// ---- algorithm choice ----

struct Choice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace = 0;
};

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<std::string, Choice>& choice_cache() {
  static std::unordered_map<std::string, Choice> c;
  return c;
}

// The first heuristic result that cuDNN supports here and, for exact float32, runs on FMA kernels; the
// descriptor's math type is set to it and its workspace size asked for. `ws_size(algo, &bytes)` queries
// the workspace of one algorithm.
template <class Perf, class WsSize>
Choice pick(const Perf* perf, int returned, Descs& d, WsSize&& ws_size, const char* op) {
  for (int i = 0; i < returned; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
    if (d.fma_only && perf[i].mathType != CUDNN_FMA_MATH && perf[i].mathType != CUDNN_DEFAULT_MATH) continue;
    const cudnnMathType_t math = d.fma_only ? CUDNN_FMA_MATH : perf[i].mathType;
    KEEL_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), math));
    size_t bytes = 0;
    if (ws_size(perf[i].algo, &bytes) != CUDNN_STATUS_SUCCESS) continue;
    return Choice{static_cast<int>(perf[i].algo), math, bytes};
  }
  throw RuntimeError(detail::cat(op, ": cuDNN offers no algorithm for this convolution (", d.key, ")"));
}

// Cached choice for `kind` ("fwd", "bwd_data", "bwd_filter"), computed by `compute` on a miss; the
// descriptor's math type is set to the choice's either way.
template <class Compute>
Choice choose(const char* kind, Descs& d, Compute&& compute) {
  const std::string key = std::string(kind) + '|' + d.key;
  {
    std::lock_guard lock(cache_mutex());
    auto it = choice_cache().find(key);
    if (it != choice_cache().end()) {
      KEEL_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), it->second.math));
      return it->second;
    }
  }
  Choice c = compute();
  std::lock_guard lock(cache_mutex());
  choice_cache().emplace(key, c);
  return c;
}

Choice forward_algo(cudnnHandle_t h, Descs& d, const char* op) {
  return choose("fwd", d, [&] {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    KEEL_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                            CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
    return pick(
        perf, returned, d,
        [&](cudnnConvolutionFwdAlgo_t algo, size_t* bytes) {
          return cudnnGetConvolutionForwardWorkspaceSize(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(), algo, bytes);
        },
        op);
  });
}

Choice backward_data_algo(cudnnHandle_t h, Descs& d, const char* op) {
  return choose("bwd_data", d, [&] {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int returned = 0;
    KEEL_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
        h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(), CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &returned, perf));
    return pick(
        perf, returned, d,
        [&](cudnnConvolutionBwdDataAlgo_t algo, size_t* bytes) {
          return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(), algo,
                                                              bytes);
        },
        op);
  });
}

Choice backward_filter_algo(cudnnHandle_t h, Descs& d, const char* op) {
  return choose("bwd_filter", d, [&] {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int returned = 0;
    KEEL_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        h, d.x.get(), d.y.get(), d.conv.get(), d.w.get(), CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &returned, perf));
    return pick(
        perf, returned, d,
        [&](cudnnConvolutionBwdFilterAlgo_t algo, size_t* bytes) {
          return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x.get(), d.y.get(), d.conv.get(), d.w.get(), algo,
                                                                bytes);
        },
        op);
  });
}

// ---- kernels ----

void conv_cuda(const KernelArgs& args) {
  constexpr const char* kOp = "conv";
  const Tensor& y = args.out[0];
  if (y.numel() == 0) return;
  const int device = device_of(y);
  set_device(device);
  const Tensor x = contiguous_on_device(args.in[0]), k = contiguous_on_device(args.in[1]);
  if (x.numel() == 0 || k.numel() == 0) return zero_fill(y);
  const Geometry g = geometry(x.shape(), k.shape(), y.shape(), args.get<ConvAttrs>(), kOp);
  const Tensor xp = pad_input(x, g, device), w = to_krsc(k, g, device);
  Descs d;
  set_descs(d, g, y.dtype(), device, kOp);
  cudnnHandle_t h = cudnn_handle(device);
  const Choice c = forward_algo(h, d, kOp);
  void* ws = c.workspace ? workspace(device, c.workspace) : nullptr;
  const Scale one(1.0), zero(0.0);
  KEEL_CUDNN_CHECK(cudnnConvolutionForward(h, one.for_dtype(y.dtype()), d.x.get(), xp.data_ptr(), d.w.get(),
                                           w.data_ptr(), d.conv.get(), static_cast<cudnnConvolutionFwdAlgo_t>(c.algo),
                                           ws, c.workspace, zero.for_dtype(y.dtype()), d.y.get(), y.data_ptr()));
}

void conv_backward_input_cuda(const KernelArgs& args) {
  constexpr const char* kOp = "conv_backward_input";
  const Tensor& gx = args.out[0];
  if (gx.numel() == 0) return;
  const int device = device_of(gx);
  set_device(device);
  const Tensor gy = contiguous_on_device(args.in[0]), k = contiguous_on_device(args.in[1]);
  if (gy.numel() == 0 || k.numel() == 0) return zero_fill(gx);
  const Geometry g = geometry(gx.shape(), k.shape(), gy.shape(), args.get<ConvAttrs>(), kOp);
  const Tensor w = to_krsc(k, g, device);
  // With explicit padding the gradient covers the padded input; its interior is gx.
  const Tensor gxp = g.explicit_pad() ? empty({g.N, g.Hp(), g.Wp(), g.C}, gx.dtype(), gx.device()) : gx;
  Descs d;
  set_descs(d, g, gx.dtype(), device, kOp);
  cudnnHandle_t h = cudnn_handle(device);
  const Choice c = backward_data_algo(h, d, kOp);
  void* ws = c.workspace ? workspace(device, c.workspace) : nullptr;
  const Scale one(1.0), zero(0.0);
  KEEL_CUDNN_CHECK(cudnnConvolutionBackwardData(h, one.for_dtype(gx.dtype()), d.w.get(), w.data_ptr(), d.y.get(),
                                                gy.data_ptr(), d.conv.get(),
                                                static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws, c.workspace,
                                                zero.for_dtype(gx.dtype()), d.x.get(), gxp.data_ptr()));
  if (g.explicit_pad()) {
    const Tensor interior = detail::make_view(gxp, gx.shape(), gxp.strides(),
                                              gxp.offset() + (g.extra_before[0] * g.Wp() + g.extra_before[1]) * g.C);
    copy_on_device(interior, gx);
  }
}

void conv_backward_kernel_cuda(const KernelArgs& args) {
  constexpr const char* kOp = "conv_backward_kernel";
  const Tensor& gk = args.out[0];
  if (gk.numel() == 0) return;
  const int device = device_of(gk);
  set_device(device);
  const Tensor x = contiguous_on_device(args.in[0]), gy = contiguous_on_device(args.in[1]);
  if (x.numel() == 0 || gy.numel() == 0) return zero_fill(gk);
  const Geometry g = geometry(x.shape(), gk.shape(), gy.shape(), args.get<ConvAttrs>(), kOp);
  const Tensor xp = pad_input(x, g, device);
  const Tensor gw = empty({g.K, g.R, g.S, g.Cg}, gk.dtype(), gk.device());  // KRSC
  Descs d;
  set_descs(d, g, gk.dtype(), device, kOp);
  cudnnHandle_t h = cudnn_handle(device);
  const Choice c = backward_filter_algo(h, d, kOp);
  void* ws = c.workspace ? workspace(device, c.workspace) : nullptr;
  const Scale one(1.0), zero(0.0);
  KEEL_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, one.for_dtype(gk.dtype()), d.x.get(), xp.data_ptr(), d.y.get(),
                                                  gy.data_ptr(), d.conv.get(),
                                                  static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), ws, c.workspace,
                                                  zero.for_dtype(gk.dtype()), d.w.get(), gw.data_ptr()));
  transpose(gw, gk, g.K, g.R * g.S * g.Cg, device);  // KRSC (K x RSC) -> HWIO (RSC x K)
}

KEEL_REGISTER_KERNEL(Conv, kCuda, conv_cuda);
KEEL_REGISTER_KERNEL(ConvBackwardInput, kCuda, conv_backward_input_cuda);
KEEL_REGISTER_KERNEL(ConvBackwardKernel, kCuda, conv_backward_kernel_cuda);

}  // namespace
}  // namespace keel::cuda
