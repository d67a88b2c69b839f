// Softmax and LogSoftmax on the CPU, and their backward ops. x is seen as (outer, n, inner) around the axis.
// float32 along the last axis (inner == 1) runs oneDNN's JIT softmax / logsoftmax primitives, forward and
// backward (cached per shape); other axes and float64 run a threaded loop that keeps the innermost loop
// contiguous. oneDNN 2.6 has only its reference implementation for a non-innermost axis, ~30x slower than
// that loop.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/onednn_common.h"
#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "keel/core/config.h"
#include "ops/dispatch.h"
#include "ops/softmax_attrs.h"

namespace keel::cpu {
namespace {

template <bool kLog>
void softmax_onednn(const Tensor& x, const Tensor& y, const AxisSplit& sp) {
  const char* op = kLog ? "log_softmax" : "softmax";
  dnnl::memory::dims dims{sp.outer, sp.n};  // (rows, classes), the axis dense
  dnnl::memory::desc md = onednn_desc(x, dims, {sp.n, 1}, op);
  std::string key = op;
  for (auto d : dims) key += '|' + std::to_string(d);
  auto prim = primitive_cache().get_or_create<dnnl::primitive>(key, [&] {
    if constexpr (kLog) {
      dnnl::logsoftmax_forward::desc d(dnnl::prop_kind::forward_inference, md, 1);
      return std::make_shared<dnnl::primitive>(
          dnnl::logsoftmax_forward(dnnl::logsoftmax_forward::primitive_desc(d, onednn_engine())));
    } else {
      dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md, 1);
      return std::make_shared<dnnl::primitive>(
          dnnl::softmax_forward(dnnl::softmax_forward::primitive_desc(d, onednn_engine())));
    }
  });
  prim->execute(onednn_stream(), {{DNNL_ARG_SRC, onednn_memory(x, md)}, {DNNL_ARG_DST, onednn_memory(y, md)}});
  onednn_stream().wait();
}

// Loop form: per outer index, running max and sum over the axis for all inner positions at
// once, so the innermost loop is contiguous.
template <bool kLog, class T>
void softmax_loop(const Tensor& x, const Tensor& y, const AxisSplit& sp) {
  const T* in = static_cast<const T*>(x.data_ptr());
  T* out = static_cast<T*>(y.data_ptr());
  const int64_t slab = sp.n * sp.inner;
  parallel_for(sp.outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(slab, 1)), [&](int64_t o0, int64_t o1) {
    std::vector<T> m(sp.inner), s(sp.inner);
    for (int64_t o = o0; o < o1; ++o) {
      const T* xs = in + o * slab;
      T* ys = out + o * slab;
      std::fill(m.begin(), m.end(), -INFINITY);
      std::fill(s.begin(), s.end(), T(0));
      for (int64_t c = 0; c < sp.n; ++c)
        for (int64_t i = 0; i < sp.inner; ++i) m[i] = std::max(m[i], xs[c * sp.inner + i]);
      for (int64_t c = 0; c < sp.n; ++c)
        for (int64_t i = 0; i < sp.inner; ++i) {
          T e = std::exp(xs[c * sp.inner + i] - m[i]);
          s[i] += e;
          if constexpr (!kLog) ys[c * sp.inner + i] = e;
        }
      for (int64_t c = 0; c < sp.n; ++c)
        for (int64_t i = 0; i < sp.inner; ++i) {
          if constexpr (kLog)
            ys[c * sp.inner + i] = xs[c * sp.inner + i] - m[i] - std::log(s[i]);
          else
            ys[c * sp.inner + i] /= s[i];
        }
    }
  });
}

template <bool kLog>
void softmax_cpu(const KernelArgs& a) {
  const Tensor& y = a.out[0];
  AxisSplit sp = split_at_axis(y.shape(), a.get<SoftmaxAttrs>().axis);
  detail::visit_float(y.dtype(), kLog ? "log_softmax" : "softmax", [&]<class T>(detail::TypeTag<T>) {
    if (y.numel() == 0) return;
    Tensor x = detail::contiguous_cpu(a.in[0]);
    if (std::is_same_v<T, float> && sp.inner == 1)
      softmax_onednn<kLog>(x, y, sp);
    else
      softmax_loop<kLog, T>(x, y, sp);
  });
}

// Backward from the forward output y and the incoming gradient g (DNNL_ARG_DST and DNNL_ARG_DIFF_DST).
// oneDNN's backward primitive_desc takes a forward_training primitive_desc of the same shape as a hint.
template <bool kLog>
void softmax_backward_onednn(const Tensor& y, const Tensor& g, const Tensor& dx, const AxisSplit& sp) {
  const char* op = kLog ? "log_softmax_backward" : "softmax_backward";
  dnnl::memory::dims dims{sp.outer, sp.n};
  dnnl::memory::desc md = onednn_desc(y, dims, {sp.n, 1}, op);
  std::string key = op;
  for (auto d : dims) key += '|' + std::to_string(d);
  auto prim = cached_primitive<dnnl::primitive>(key, op, [&] {
    if constexpr (kLog) {
      dnnl::logsoftmax_forward::primitive_desc hint(
          dnnl::logsoftmax_forward::desc(dnnl::prop_kind::forward_training, md, 1), onednn_engine());
      dnnl::logsoftmax_backward::desc d(md, md, 1);
      return std::make_shared<dnnl::primitive>(
          dnnl::logsoftmax_backward(dnnl::logsoftmax_backward::primitive_desc(d, onednn_engine(), hint)));
    } else {
      dnnl::softmax_forward::primitive_desc hint(dnnl::softmax_forward::desc(dnnl::prop_kind::forward_training, md, 1),
                                                 onednn_engine());
      dnnl::softmax_backward::desc d(md, md, 1);
      return std::make_shared<dnnl::primitive>(
          dnnl::softmax_backward(dnnl::softmax_backward::primitive_desc(d, onednn_engine(), hint)));
    }
  });
  prim->execute(onednn_stream(), {{DNNL_ARG_DST, onednn_memory(y, md)},
                                  {DNNL_ARG_DIFF_DST, onednn_memory(g, md)},
                                  {DNNL_ARG_DIFF_SRC, onednn_memory(dx, md)}});
  onednn_stream().wait();
}

// Loop form of the backward, same layout as softmax_loop: per outer index, the sum along the axis
// (of g·y for softmax, of g for log_softmax) for all inner positions, then dx:
//   softmax dx = y·(g - s),  log_softmax dx = g - exp(y)·s.
template <bool kLog, class T>
void softmax_backward_loop(const Tensor& y, const Tensor& g, const Tensor& dx, const AxisSplit& sp) {
  const T* yp = static_cast<const T*>(y.data_ptr());
  const T* gp = static_cast<const T*>(g.data_ptr());
  T* out = static_cast<T*>(dx.data_ptr());
  const int64_t slab = sp.n * sp.inner;
  parallel_for(sp.outer, std::max<int64_t>(1, 32768 / std::max<int64_t>(slab, 1)), [&](int64_t o0, int64_t o1) {
    std::vector<T> s(sp.inner);
    for (int64_t o = o0; o < o1; ++o) {
      const T* ys = yp + o * slab;
      const T* gs = gp + o * slab;
      T* ds = out + o * slab;
      std::fill(s.begin(), s.end(), T(0));
      for (int64_t c = 0; c < sp.n; ++c)
        for (int64_t i = 0; i < sp.inner; ++i) {
          if constexpr (kLog)
            s[i] += gs[c * sp.inner + i];
          else
            s[i] += gs[c * sp.inner + i] * ys[c * sp.inner + i];
        }
      for (int64_t c = 0; c < sp.n; ++c)
        for (int64_t i = 0; i < sp.inner; ++i) {
          const int64_t k = c * sp.inner + i;
          if constexpr (kLog)
            ds[k] = gs[k] - std::exp(ys[k]) * s[i];
          else
            ds[k] = ys[k] * (gs[k] - s[i]);
        }
    }
  });
}

template <bool kLog>
void softmax_backward_cpu(const KernelArgs& a) {
  const Tensor& dx = a.out[0];
  AxisSplit sp = split_at_axis(dx.shape(), a.get<SoftmaxAttrs>().axis);
  detail::visit_float(dx.dtype(), kLog ? "log_softmax_backward" : "softmax_backward", [&]<class T>(detail::TypeTag<T>) {
    if (dx.numel() == 0) return;
    Tensor y = detail::contiguous_cpu(a.in[0]), g = detail::contiguous_cpu(a.in[1]);
    if (std::is_same_v<T, float> && sp.inner == 1)
      softmax_backward_onednn<kLog>(y, g, dx, sp);
    else
      softmax_backward_loop<kLog, T>(y, g, dx, sp);
  });
}

KEEL_REGISTER_KERNEL(Softmax, kCpu, softmax_cpu<false>);
KEEL_REGISTER_KERNEL(LogSoftmax, kCpu, softmax_cpu<true>);
KEEL_REGISTER_KERNEL(SoftmaxBackward, kCpu, softmax_backward_cpu<false>);
KEEL_REGISTER_KERNEL(LogSoftmaxBackward, kCpu, softmax_backward_cpu<true>);

}  // namespace
}  // namespace keel::cpu
