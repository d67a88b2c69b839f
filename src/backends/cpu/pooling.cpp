// Max and average pooling on oneDNN's pooling primitives, NHWC described with real strides (dense inputs;
// others are copied first). MaxPoolBackward recomputes the forward pass with a workspace (the argmax of
// each window, first maximum on ties), which oneDNN's backward primitive needs; AvgPool excludes padding
// from the divisor, as TensorFlow. Primitives are cached by geometry and dtype (Note [Primitive cache]).
#include <cstring>

#include "backends/cpu/onednn_common.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"
#include "ops/pooling_attrs.h"

namespace keel::cpu {
namespace {

using dims = dnnl::memory::dims;

struct Geometry {
  dnnl::memory::desc src, dst;
  dims strides, kernel, pad_l, pad_r;
  std::string key;
};

dnnl::memory::desc nhwc_desc(const Shape& s, dnnl::memory::data_type dt) {
  const int64_t H = s[1], W = s[2], C = s[3];
  return dnnl::memory::desc({s[0], C, H, W}, dt, dims{H * W * C, 1, W * C, C});
}

Geometry geometry(const Shape& xs, const Shape& ys, const PoolAttrs& a, DType dtype, const char* op) {
  const auto dt = onednn_dtype(dtype, op);
  Geometry g{nhwc_desc(xs, dt),
             nhwc_desc(ys, dt),
             {a.strides[0], a.strides[1]},
             {a.window[0], a.window[1]},
             {a.pad_before[0], a.pad_before[1]},
             {a.pad_after[0], a.pad_after[1]},
             op};
  g.key += std::to_string(static_cast<int>(dt));
  for (const auto* v : {&xs, &ys}) {
    g.key += '|';
    for (int64_t d : *v) g.key += std::to_string(d) + ',';
  }
  for (const dims* v : {&g.strides, &g.kernel, &g.pad_l, &g.pad_r}) {
    g.key += '|';
    for (int64_t d : *v) g.key += std::to_string(d) + ',';
  }
  return g;
}

dnnl::pooling_forward::primitive_desc forward_pd(const Geometry& g, dnnl::prop_kind prop, dnnl::algorithm alg) {
  return {{prop, alg, g.src, g.dst, g.strides, g.kernel, g.pad_l, g.pad_r}, onednn_engine()};
}

constexpr auto kMax = dnnl::algorithm::pooling_max;
constexpr auto kAvg = dnnl::algorithm::pooling_avg_exclude_padding;

void pool_forward(const KernelArgs& args, dnnl::algorithm alg, const char* op) {
  const Tensor& y = args.out[0];
  if (y.numel() == 0) return;
  const Tensor x = detail::contiguous_cpu(args.in[0]);
  Geometry g = geometry(x.shape(), y.shape(), args.get<PoolAttrs>(), y.dtype(), op);
  auto prim = cached_primitive<dnnl::pooling_forward>(g.key, op, [&] {
    return std::make_shared<dnnl::pooling_forward>(forward_pd(g, dnnl::prop_kind::forward_inference, alg));
  });
  auto& eng = onednn_engine();
  prim->execute(onednn_stream(), {{DNNL_ARG_SRC, dnnl::memory(g.src, eng, x.data_ptr())},
                                  {DNNL_ARG_DST, dnnl::memory(g.dst, eng, y.data_ptr())}});
  onednn_stream().wait();
}

void max_pool_cpu(const KernelArgs& args) { pool_forward(args, kMax, "max_pool"); }
void avg_pool_cpu(const KernelArgs& args) { pool_forward(args, kAvg, "avg_pool"); }

struct MaxPoolBackwardPrims {
  dnnl::pooling_forward forward;  // forward_training: also writes the workspace
  dnnl::pooling_backward backward;
  dnnl::memory::desc workspace;
};

void max_pool_backward_cpu(const KernelArgs& args) {
  const Tensor& gx = args.out[0];
  if (gx.numel() == 0) return;
  const Tensor x = detail::contiguous_cpu(args.in[0]), gy = detail::contiguous_cpu(args.in[1]);
  if (gy.numel() == 0) {
    std::memset(gx.data_ptr(), 0, gx.numel() * dtype_size(gx.dtype()));
    return;
  }
  Geometry g = geometry(x.shape(), gy.shape(), args.get<PoolAttrs>(), gx.dtype(), "max_pool_backward");
  auto p = cached_primitive<MaxPoolBackwardPrims>(g.key, "max_pool_backward", [&] {
    auto fwd = forward_pd(g, dnnl::prop_kind::forward_training, kMax);
    dnnl::pooling_backward::primitive_desc bwd({kMax, g.src, g.dst, g.strides, g.kernel, g.pad_l, g.pad_r},
                                               onednn_engine(), fwd);
    return std::make_shared<MaxPoolBackwardPrims>(
        MaxPoolBackwardPrims{dnnl::pooling_forward(fwd), dnnl::pooling_backward(bwd), fwd.workspace_desc()});
  });
  auto& eng = onednn_engine();
  Tensor y = empty(gy.shape(), gy.dtype(), Device::cpu());
  Tensor ws = empty({static_cast<int64_t>(p->workspace.get_size())}, DType::u8, Device::cpu());
  dnnl::memory ws_mem(p->workspace, eng, ws.data_ptr());
  p->forward.execute(onednn_stream(), {{DNNL_ARG_SRC, dnnl::memory(g.src, eng, x.data_ptr())},
                                       {DNNL_ARG_DST, dnnl::memory(g.dst, eng, y.data_ptr())},
                                       {DNNL_ARG_WORKSPACE, ws_mem}});
  p->backward.execute(onednn_stream(), {{DNNL_ARG_DIFF_DST, dnnl::memory(g.dst, eng, gy.data_ptr())},
                                        {DNNL_ARG_WORKSPACE, ws_mem},
                                        {DNNL_ARG_DIFF_SRC, dnnl::memory(g.src, eng, gx.data_ptr())}});
  onednn_stream().wait();
}

void avg_pool_backward_cpu(const KernelArgs& args) {
  const Tensor& gx = args.out[0];
  if (gx.numel() == 0) return;
  const Tensor gy = detail::contiguous_cpu(args.in[0]);
  Geometry g = geometry(gx.shape(), gy.shape(), args.get<PoolAttrs>(), gx.dtype(), "avg_pool_backward");
  auto prim = cached_primitive<dnnl::pooling_backward>(g.key, "avg_pool_backward", [&] {
    auto fwd = forward_pd(g, dnnl::prop_kind::forward_training, kAvg);
    dnnl::pooling_backward::primitive_desc bwd({kAvg, g.src, g.dst, g.strides, g.kernel, g.pad_l, g.pad_r},
                                               onednn_engine(), fwd);
    return std::make_shared<dnnl::pooling_backward>(bwd);
  });
  auto& eng = onednn_engine();
  prim->execute(onednn_stream(), {{DNNL_ARG_DIFF_DST, dnnl::memory(g.dst, eng, gy.data_ptr())},
                                  {DNNL_ARG_DIFF_SRC, dnnl::memory(g.src, eng, gx.data_ptr())}});
  onednn_stream().wait();
}

KEEL_REGISTER_KERNEL(MaxPool, kCpu, max_pool_cpu);
KEEL_REGISTER_KERNEL(MaxPoolBackward, kCpu, max_pool_backward_cpu);
KEEL_REGISTER_KERNEL(AvgPool, kCpu, avg_pool_cpu);
KEEL_REGISTER_KERNEL(AvgPoolBackward, kCpu, avg_pool_backward_cpu);

}  // namespace
}  // namespace keel::cpu
