// Batch and layer normalisation on the CPU with oneDNN primitives (float32), forward and backward.
// Batch norm sees x as (outer, C, inner) around the channel axis, described to oneDNN as a 4-D tensor (see
// bn_layout), so no permutation is needed; layer norm sees x as (rows, cols). Primitives are cached per
// shape, layout and epsilon (Note [Primitive cache] in onednn_common.h).
#include <algorithm>
#include <cmath>
#include <sstream>

#include "backends/cpu/onednn_common.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"
#include "ops/normalization_attrs.h"

namespace keel::cpu {
namespace {

using dnnl::memory;
using dnnl::normalization_flags;
using dnnl::prop_kind;

void fill_nan(const Tensor& t) {
  float* p = static_cast<float*>(t.data_ptr());
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = NAN;
}

// Cache key: op, epsilon (exactly), dims and strides (batch norm maps different shapes to equal dims in
// nhwc and nchw layouts).
std::string key_of(const char* op, const memory::dims& dims, double epsilon, const memory::dims& strides = {}) {
  std::ostringstream os;
  os << op << std::hexfloat << '|' << epsilon;
  for (auto d : dims) os << '|' << d;
  os << ';';
  for (auto d : strides) os << '|' << d;
  return os.str();
}

memory::desc vec_desc(const Tensor& t, int64_t n, const char* op) { return onednn_desc(t, {n}, {1}, op); }

// oneDNN normalisation wants float32 statistics and scale/shift, so only float32 data runs here.
void require_f32(const Tensor& t, const char* op) {
  KEEL_CHECK(t.dtype() == DType::f32, DTypeError, op, ": the CPU backend (oneDNN) supports float32 only, got ",
             dtype_name(t.dtype()));
}

// ---- batch normalisation ----

// oneDNN picks its JIT batch norm only for 4-D channels-last (nhwc) data; plain 2-D/3-D layouts fall back
// to much slower implementations (~30x for (M, C)). So x is described as 4-D: channels-last as
// (N, C, M/N, 1) in nhwc, any other axis as (outer, C, inner, 1) in nchw (oneDNN's ncsp kernel).
struct BnLayout {
  int64_t c = 0, m = 0;  // channels, elements per channel
  memory::dims dims, strides;
};
BnLayout bn_layout(const Shape& s, int64_t axis) {
  const auto [outer, c, inner] = split_at_axis(s, axis);
  BnLayout l{c, outer * inner, {}, {}};
  if (inner == 1) {
    // N must divide outer: the first axis when it lies before the channel axis; (M, C) is one image of M pixels.
    const int64_t n = (axis >= 2 && s[0] > 0) ? s[0] : 1;
    const int64_t hw = outer / n;
    l.dims = {n, l.c, hw, 1};
    l.strides = {hw * l.c, 1, l.c, l.c};
  } else {
    l.dims = {outer, l.c, inner, 1};
    l.strides = {l.c * inner, inner, 1, 1};
  }
  return l;
}

const normalization_flags kScaleShift = normalization_flags::use_scale | normalization_flags::use_shift;

dnnl::batch_normalization_forward::primitive_desc bn_forward_pd(const memory::desc& md, double eps, bool train) {
  normalization_flags flags = train ? kScaleShift : kScaleShift | normalization_flags::use_global_stats;
  dnnl::batch_normalization_forward::desc d(train ? prop_kind::forward_training : prop_kind::forward_inference, md,
                                            static_cast<float>(eps), flags);
  return {d, onednn_engine()};
}

// x, gamma, beta -> y, mean, variance (biased; oneDNN normalises by the element count).
void batch_norm_train_cpu(const KernelArgs& a) {
  constexpr const char* kOp = "batch_norm_train";
  const auto& attrs = a.get<BatchNormAttrs>();
  const Tensor &y = a.out[0], &mean = a.out[1], &var = a.out[2];
  require_f32(y, kOp);
  BnLayout l = bn_layout(y.shape(), attrs.axis);
  memory::desc md = onednn_desc(y, l.dims, l.strides, kOp);
  if (l.c == 0) return;
  if (l.m == 0) {  // statistics of an empty batch, as numpy's mean of nothing
    fill_nan(mean);
    fill_nan(var);
    return;
  }
  Tensor x = detail::contiguous_cpu(a.in[0]), gamma = detail::contiguous_cpu(a.in[1]),
         beta = detail::contiguous_cpu(a.in[2]);
  const std::string key = key_of("bn_train", l.dims, attrs.epsilon, l.strides);
  auto prim = primitive_cache().get_or_create<dnnl::primitive>(key, [&] {
    return std::make_shared<dnnl::primitive>(dnnl::batch_normalization_forward(bn_forward_pd(md, attrs.epsilon, true)));
  });
  memory::desc vd = vec_desc(y, l.c, kOp);
  prim->execute(onednn_stream(), {{DNNL_ARG_SRC, onednn_memory(x, md)},
                                  {DNNL_ARG_DST, onednn_memory(y, md)},
                                  {DNNL_ARG_SCALE, onednn_memory(gamma, vd)},
                                  {DNNL_ARG_SHIFT, onednn_memory(beta, vd)},
                                  {DNNL_ARG_MEAN, onednn_memory(mean, vd)},
                                  {DNNL_ARG_VARIANCE, onednn_memory(var, vd)}});
  onednn_stream().wait();
}

// x, mean, variance, gamma, beta -> y with the given statistics.
void batch_norm_inference_cpu(const KernelArgs& a) {
  constexpr const char* kOp = "batch_norm_inference";
  const auto& attrs = a.get<BatchNormAttrs>();
  const Tensor& y = a.out[0];
  require_f32(y, kOp);
  BnLayout l = bn_layout(y.shape(), attrs.axis);
  memory::desc md = onednn_desc(y, l.dims, l.strides, kOp);
  if (y.numel() == 0) return;
  Tensor x = detail::contiguous_cpu(a.in[0]), mean = detail::contiguous_cpu(a.in[1]),
         var = detail::contiguous_cpu(a.in[2]), gamma = detail::contiguous_cpu(a.in[3]),
         beta = detail::contiguous_cpu(a.in[4]);
  const std::string key = key_of("bn_infer", l.dims, attrs.epsilon, l.strides);
  auto prim = primitive_cache().get_or_create<dnnl::primitive>(key, [&] {
    return std::make_shared<dnnl::primitive>(
        dnnl::batch_normalization_forward(bn_forward_pd(md, attrs.epsilon, false)));
  });
  memory::desc vd = vec_desc(y, l.c, kOp);
  prim->execute(onednn_stream(), {{DNNL_ARG_SRC, onednn_memory(x, md)},
                                  {DNNL_ARG_DST, onednn_memory(y, md)},
                                  {DNNL_ARG_SCALE, onednn_memory(gamma, vd)},
                                  {DNNL_ARG_SHIFT, onednn_memory(beta, vd)},
                                  {DNNL_ARG_MEAN, onednn_memory(mean, vd)},
                                  {DNNL_ARG_VARIANCE, onednn_memory(var, vd)}});
  onednn_stream().wait();
}

// x, gamma, mean, variance, grad_y -> grad_x, grad_gamma, grad_beta (training-mode backward: the
// statistics are functions of x).
void batch_norm_backward_cpu(const KernelArgs& a) {
  constexpr const char* kOp = "batch_norm_backward";
  const auto& attrs = a.get<BatchNormAttrs>();
  const Tensor &dx = a.out[0], &dgamma = a.out[1], &dbeta = a.out[2];
  require_f32(dx, kOp);
  BnLayout l = bn_layout(dx.shape(), attrs.axis);
  memory::desc md = onednn_desc(dx, l.dims, l.strides, kOp);
  if (l.c == 0) return;
  if (l.m == 0) {  // no elements: the parameter gradients are empty sums
    std::fill_n(static_cast<float*>(dgamma.data_ptr()), l.c, 0.0f);
    std::fill_n(static_cast<float*>(dbeta.data_ptr()), l.c, 0.0f);
    return;
  }
  Tensor x = detail::contiguous_cpu(a.in[0]), gamma = detail::contiguous_cpu(a.in[1]),
         mean = detail::contiguous_cpu(a.in[2]), var = detail::contiguous_cpu(a.in[3]),
         dy = detail::contiguous_cpu(a.in[4]);
  const std::string key = key_of("bn_backward", l.dims, attrs.epsilon, l.strides);
  auto prim = primitive_cache().get_or_create<dnnl::primitive>(key, [&] {
    dnnl::batch_normalization_backward::desc d(prop_kind::backward, md, md, static_cast<float>(attrs.epsilon),
                                               kScaleShift);
    dnnl::batch_normalization_backward::primitive_desc pd(d, onednn_engine(), bn_forward_pd(md, attrs.epsilon, true));
    return std::make_shared<dnnl::primitive>(dnnl::batch_normalization_backward(pd));
  });
  memory::desc vd = vec_desc(dx, l.c, kOp);
  Tensor shift = zeros({l.c}, dx.dtype(), dx.device());  // unused, but oneDNN 2.6 requires it (use_shift)
  prim->execute(onednn_stream(), {{DNNL_ARG_SRC, onednn_memory(x, md)},
                                  {DNNL_ARG_DIFF_DST, onednn_memory(dy, md)},
                                  {DNNL_ARG_SCALE, onednn_memory(gamma, vd)},
                                  {DNNL_ARG_SHIFT, onednn_memory(shift, vd)},
                                  {DNNL_ARG_MEAN, onednn_memory(mean, vd)},
                                  {DNNL_ARG_VARIANCE, onednn_memory(var, vd)},
                                  {DNNL_ARG_DIFF_SRC, onednn_memory(dx, md)},
                                  {DNNL_ARG_DIFF_SCALE, onednn_memory(dgamma, vd)},
                                  {DNNL_ARG_DIFF_SHIFT, onednn_memory(dbeta, vd)}});
  onednn_stream().wait();
}

// ---- layer normalisation ----

struct LnLayout {
  int64_t rows = 1, cols = 1;
  memory::dims dims() const { return {rows, cols}; }
};
LnLayout ln_layout(const Tensor& x, int64_t begin_axis) {
  LnLayout l;
  for (int64_t d = 0; d < x.ndim(); ++d) (d < begin_axis ? l.rows : l.cols) *= x.shape()[d];
  return l;
}

dnnl::layer_normalization_forward::primitive_desc ln_forward_pd(const memory::desc& md, const memory::desc& sd,
                                                                double eps) {
  dnnl::layer_normalization_forward::desc d(prop_kind::forward_training, md, sd, static_cast<float>(eps), kScaleShift);
  return {d, onednn_engine()};
}

// x, gamma, beta -> y, mean (rows), variance (rows).
void layer_norm_cpu(const KernelArgs& a) {
  constexpr const char* kOp = "layer_norm";
  const auto& attrs = a.get<LayerNormAttrs>();
  const Tensor &y = a.out[0], &mean = a.out[1], &var = a.out[2];
  require_f32(y, kOp);
  LnLayout l = ln_layout(y, attrs.begin_axis);
  memory::desc md = onednn_desc(y, l.dims(), {l.cols, 1}, kOp);
  if (l.rows == 0) return;
  if (l.cols == 0) {
    fill_nan(mean);
    fill_nan(var);
    return;
  }
  memory::desc sd = vec_desc(y, l.rows, kOp), pd_scale = vec_desc(y, l.cols, kOp);
  Tensor x = detail::contiguous_cpu(a.in[0]), gamma = detail::contiguous_cpu(a.in[1]),
         beta = detail::contiguous_cpu(a.in[2]);
  const std::string key = key_of("ln_fwd", l.dims(), attrs.epsilon);
  auto prim = primitive_cache().get_or_create<dnnl::primitive>(key, [&] {
    return std::make_shared<dnnl::primitive>(dnnl::layer_normalization_forward(ln_forward_pd(md, sd, attrs.epsilon)));
  });
  prim->execute(onednn_stream(), {{DNNL_ARG_SRC, onednn_memory(x, md)},
                                  {DNNL_ARG_DST, onednn_memory(y, md)},
                                  {DNNL_ARG_SCALE, onednn_memory(gamma, pd_scale)},
                                  {DNNL_ARG_SHIFT, onednn_memory(beta, pd_scale)},
                                  {DNNL_ARG_MEAN, onednn_memory(mean, sd)},
                                  {DNNL_ARG_VARIANCE, onednn_memory(var, sd)}});
  onednn_stream().wait();
}

// x, gamma, mean, variance, grad_y -> grad_x, grad_gamma, grad_beta.
void layer_norm_backward_cpu(const KernelArgs& a) {
  constexpr const char* kOp = "layer_norm_backward";
  const auto& attrs = a.get<LayerNormAttrs>();
  const Tensor &dx = a.out[0], &dgamma = a.out[1], &dbeta = a.out[2];
  require_f32(dx, kOp);
  LnLayout l = ln_layout(dx, attrs.begin_axis);
  memory::desc md = onednn_desc(dx, l.dims(), {l.cols, 1}, kOp);
  if (l.cols == 0) return;
  if (l.rows == 0) {
    std::fill_n(static_cast<float*>(dgamma.data_ptr()), l.cols, 0.0f);
    std::fill_n(static_cast<float*>(dbeta.data_ptr()), l.cols, 0.0f);
    return;
  }
  memory::desc sd = vec_desc(dx, l.rows, kOp), vd = vec_desc(dx, l.cols, kOp);
  Tensor x = detail::contiguous_cpu(a.in[0]), gamma = detail::contiguous_cpu(a.in[1]),
         mean = detail::contiguous_cpu(a.in[2]), var = detail::contiguous_cpu(a.in[3]),
         dy = detail::contiguous_cpu(a.in[4]);
  const std::string key = key_of("ln_bwd", l.dims(), attrs.epsilon);
  auto prim = primitive_cache().get_or_create<dnnl::primitive>(key, [&] {
    dnnl::layer_normalization_backward::desc d(prop_kind::backward, md, md, sd, static_cast<float>(attrs.epsilon),
                                               kScaleShift);
    dnnl::layer_normalization_backward::primitive_desc pd(d, onednn_engine(), ln_forward_pd(md, sd, attrs.epsilon));
    return std::make_shared<dnnl::primitive>(dnnl::layer_normalization_backward(pd));
  });
  Tensor shift = zeros({l.cols}, dx.dtype(), dx.device());  // unused, but oneDNN 2.6 requires it (use_shift)
  prim->execute(onednn_stream(), {{DNNL_ARG_SRC, onednn_memory(x, md)},
                                  {DNNL_ARG_DIFF_DST, onednn_memory(dy, md)},
                                  {DNNL_ARG_SCALE, onednn_memory(gamma, vd)},
                                  {DNNL_ARG_SHIFT, onednn_memory(shift, vd)},
                                  {DNNL_ARG_MEAN, onednn_memory(mean, sd)},
                                  {DNNL_ARG_VARIANCE, onednn_memory(var, sd)},
                                  {DNNL_ARG_DIFF_SRC, onednn_memory(dx, md)},
                                  {DNNL_ARG_DIFF_SCALE, onednn_memory(dgamma, vd)},
                                  {DNNL_ARG_DIFF_SHIFT, onednn_memory(dbeta, vd)}});
  onednn_stream().wait();
}

KEEL_REGISTER_KERNEL(BatchNormTrain, kCpu, batch_norm_train_cpu);
KEEL_REGISTER_KERNEL(BatchNormInference, kCpu, batch_norm_inference_cpu);
KEEL_REGISTER_KERNEL(BatchNormBackward, kCpu, batch_norm_backward_cpu);
KEEL_REGISTER_KERNEL(LayerNorm, kCpu, layer_norm_cpu);
KEEL_REGISTER_KERNEL(LayerNormBackward, kCpu, layer_norm_backward_cpu);

}  // namespace
}  // namespace keel::cpu
