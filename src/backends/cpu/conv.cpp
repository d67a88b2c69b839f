// Conv, ConvBackwardInput and ConvBackwardKernel on oneDNN's convolution primitives. Data tensors are
// described as NHWC with their real strides (dense inputs; others are copied first); the HWIO kernel is
// described with its own strides, and oneDNN picks the weights layout it computes fastest with
// (format_tag::any) behind a cached reorder. The backward primitives are built with the forward
// primitive_desc as their hint, all cached by geometry and dtype (Note [Primitive cache]).
#include <cstring>

#include "backends/cpu/onednn_common.h"
#include "core/tensor_internals.h"
#include "ops/conv_attrs.h"
#include "ops/dispatch.h"

namespace keel::cpu {
namespace {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;

void zero_fill(const Tensor& t) { std::memset(t.data_ptr(), 0, t.numel() * dtype_size(t.dtype())); }

// oneDNN's view of one convolution: NCHW logical dims with NHWC strides, weights (O, I, KH, KW) or
// (G, O/G, I/G, KH, KW) with the strides of an HWIO buffer.
struct Geometry {
  dnnl::memory::desc src, dst, wei_user, wei_any;
  dims strides, dilates, pad_l, pad_r;
  std::string key;
};

dnnl::memory::desc nhwc_desc(const Shape& s, dnnl::memory::data_type dt) {
  const int64_t H = s[1], W = s[2], C = s[3];
  return dnnl::memory::desc({s[0], C, H, W}, dt, dims{H * W * C, 1, W * C, C});
}

Geometry geometry(const Shape& xs, const Shape& ks, const Shape& ys, const ConvAttrs& a, DType dtype, const char* op) {
  const auto dt = onednn_dtype(dtype, op);
  Geometry g;
  g.src = nhwc_desc(xs, dt);
  g.dst = nhwc_desc(ys, dt);
  const int64_t KH = ks[0], KW = ks[1], I = ks[2], O = ks[3], G = a.groups;
  dims wd, ws;
  if (G == 1) {
    wd = {O, I, KH, KW};
    ws = {1, O, KW * I * O, I * O};
  } else {
    wd = {G, O / G, I, KH, KW};
    ws = {O / G, 1, O, KW * I * O, I * O};
  }
  g.wei_user = dnnl::memory::desc(wd, dt, ws);
  g.wei_any = dnnl::memory::desc(wd, dt, tag::any);
  g.strides = {a.strides[0], a.strides[1]};
  g.dilates = {a.dilation[0] - 1, a.dilation[1] - 1};  // oneDNN counts the gaps
  g.pad_l = {a.pad_before[0], a.pad_before[1]};
  g.pad_r = {a.pad_after[0], a.pad_after[1]};
  g.key = op;
  g.key += std::to_string(static_cast<int>(dt));
  for (const auto* v : {&xs, &ks, &ys}) {
    g.key += '|';
    for (int64_t d : *v) g.key += std::to_string(d) + ',';
  }
  for (const dims* v : {&g.strides, &g.dilates, &g.pad_l, &g.pad_r}) {
    g.key += '|';
    for (int64_t d : *v) g.key += std::to_string(d) + ',';
  }
  g.key += "|g" + std::to_string(G);
  return g;
}

dnnl::convolution_forward::primitive_desc forward_pd(const Geometry& g) {
  return {{dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, g.src, g.wei_any, g.dst, g.strides,
           g.dilates, g.pad_l, g.pad_r},
          onednn_engine()};
}

// A primitive plus the reorder between the user's HWIO weights and the primitive's weights layout.
struct ConvPrim {
  dnnl::primitive prim;
  dnnl::memory::desc wei_prim;
  bool reorder_needed = false;
  dnnl::reorder reorder;  // user -> primitive (forward, backward data) or primitive -> user (backward weights)
};

std::shared_ptr<ConvPrim> make_prim(dnnl::primitive prim, const dnnl::memory::desc& wei_prim, const Geometry& g,
                                    bool to_user) {
  auto p = std::make_shared<ConvPrim>();
  p->prim = std::move(prim);
  p->wei_prim = wei_prim;
  p->reorder_needed = !(wei_prim == g.wei_user);
  if (p->reorder_needed) {
    auto& eng = onednn_engine();
    p->reorder = to_user ? dnnl::reorder(dnnl::reorder::primitive_desc(eng, wei_prim, eng, g.wei_user))
                         : dnnl::reorder(dnnl::reorder::primitive_desc(eng, g.wei_user, eng, wei_prim));
  }
  return p;
}

// Weights memory in the primitive's layout; `scratch` keeps the reordered copy alive for the call.
dnnl::memory weights_in(const ConvPrim& p, const Geometry& g, const Tensor& kernel, Tensor& scratch) {
  auto& eng = onednn_engine();
  dnnl::memory user(g.wei_user, eng, kernel.data_ptr());
  if (!p.reorder_needed) return user;
  scratch = empty({static_cast<int64_t>(p.wei_prim.get_size())}, DType::u8, Device::cpu());
  dnnl::memory mem(p.wei_prim, eng, scratch.data_ptr());
  p.reorder.execute(onednn_stream(), user, mem);
  return mem;
}

void conv_cpu(const KernelArgs& args) {
  const Tensor& y = args.out[0];
  if (y.numel() == 0) return;
  const Tensor x = detail::contiguous_cpu(args.in[0]), k = detail::contiguous_cpu(args.in[1]);
  if (x.numel() == 0 || k.numel() == 0) return zero_fill(y);
  Geometry g = geometry(x.shape(), k.shape(), y.shape(), args.get<ConvAttrs>(), y.dtype(), "conv");
  auto p = cached_primitive<ConvPrim>(g.key, "conv", [&] {
    auto pd = forward_pd(g);
    return make_prim(dnnl::convolution_forward(pd), pd.weights_desc(), g, false);
  });
  auto& eng = onednn_engine();
  Tensor scratch;
  dnnl::memory w = weights_in(*p, g, k, scratch);
  p->prim.execute(onednn_stream(), {{DNNL_ARG_SRC, dnnl::memory(g.src, eng, x.data_ptr())},
                                    {DNNL_ARG_WEIGHTS, w},
                                    {DNNL_ARG_DST, dnnl::memory(g.dst, eng, y.data_ptr())}});
  onednn_stream().wait();
}

void conv_backward_input_cpu(const KernelArgs& args) {
  const Tensor& gx = args.out[0];
  if (gx.numel() == 0) return;
  const Tensor gy = detail::contiguous_cpu(args.in[0]), k = detail::contiguous_cpu(args.in[1]);
  if (gy.numel() == 0 || k.numel() == 0) return zero_fill(gx);
  Geometry g = geometry(gx.shape(), k.shape(), gy.shape(), args.get<ConvAttrs>(), gx.dtype(), "conv_backward_input");
  auto p = cached_primitive<ConvPrim>(g.key, "conv_backward_input", [&] {
    auto hint = forward_pd(g);
    dnnl::convolution_backward_data::primitive_desc pd(
        {dnnl::algorithm::convolution_direct, g.src, g.wei_any, g.dst, g.strides, g.dilates, g.pad_l, g.pad_r},
        onednn_engine(), hint);
    return make_prim(dnnl::convolution_backward_data(pd), pd.weights_desc(), g, false);
  });
  auto& eng = onednn_engine();
  Tensor scratch;
  dnnl::memory w = weights_in(*p, g, k, scratch);
  p->prim.execute(onednn_stream(), {{DNNL_ARG_DIFF_DST, dnnl::memory(g.dst, eng, gy.data_ptr())},
                                    {DNNL_ARG_WEIGHTS, w},
                                    {DNNL_ARG_DIFF_SRC, dnnl::memory(g.src, eng, gx.data_ptr())}});
  onednn_stream().wait();
}

void conv_backward_kernel_cpu(const KernelArgs& args) {
  const Tensor& gk = args.out[0];
  if (gk.numel() == 0) return;
  const Tensor x = detail::contiguous_cpu(args.in[0]), gy = detail::contiguous_cpu(args.in[1]);
  if (x.numel() == 0 || gy.numel() == 0) return zero_fill(gk);
  Geometry g = geometry(x.shape(), gk.shape(), gy.shape(), args.get<ConvAttrs>(), gk.dtype(), "conv_backward_kernel");
  auto p = cached_primitive<ConvPrim>(g.key, "conv_backward_kernel", [&] {
    auto hint = forward_pd(g);
    dnnl::convolution_backward_weights::primitive_desc pd(
        {dnnl::algorithm::convolution_direct, g.src, g.wei_any, g.dst, g.strides, g.dilates, g.pad_l, g.pad_r},
        onednn_engine(), hint);
    return make_prim(dnnl::convolution_backward_weights(pd), pd.diff_weights_desc(), g, true);
  });
  auto& eng = onednn_engine();
  dnnl::memory user(g.wei_user, eng, gk.data_ptr());
  Tensor scratch;
  dnnl::memory w = user;
  if (p->reorder_needed) {
    scratch = empty({static_cast<int64_t>(p->wei_prim.get_size())}, DType::u8, Device::cpu());
    w = dnnl::memory(p->wei_prim, eng, scratch.data_ptr());
  }
  p->prim.execute(onednn_stream(), {{DNNL_ARG_SRC, dnnl::memory(g.src, eng, x.data_ptr())},
                                    {DNNL_ARG_DIFF_DST, dnnl::memory(g.dst, eng, gy.data_ptr())},
                                    {DNNL_ARG_DIFF_WEIGHTS, w}});
  if (p->reorder_needed) p->reorder.execute(onednn_stream(), w, user);
  onednn_stream().wait();
}

KEEL_REGISTER_KERNEL(Conv, kCpu, conv_cpu);
KEEL_REGISTER_KERNEL(ConvBackwardInput, kCpu, conv_backward_input_cpu);
KEEL_REGISTER_KERNEL(ConvBackwardKernel, kCpu, conv_backward_kernel_cpu);

}  // namespace
}  // namespace keel::cpu
