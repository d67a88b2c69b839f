// Softmax and LogSoftmax on the CPU. x is seen as (outer, n, inner) around the axis. float32 along the last
// axis (inner == 1) runs oneDNN's JIT softmax_forward / logsoftmax_forward (primitives cached per shape);
// other axes and float64 run a threaded loop that keeps the innermost loop contiguous. oneDNN 2.6 has
// only its reference implementation for a non-innermost axis, ~30x slower than that loop.
#include <algorithm>
#include <cmath>
#include <vector>

#include "backends/cpu/onednn_common.h"
#include "core/dtype_dispatch.h"
#include "keel/core/config.h"
#include "ops/dispatch.h"
#include "ops/softmax_attrs.h"

namespace keel::cpu {
namespace {

struct Split {
  int64_t outer = 1, n = 1, inner = 1;
};
Split split_at(const Shape& s, int64_t axis) {
  Split sp;
  sp.n = s[axis];
  for (int64_t d = 0; d < axis; ++d) sp.outer *= s[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(s.size()); ++d) sp.inner *= s[d];
  return sp;
}

template <bool kLog>
void softmax_onednn(const Tensor& x, const Tensor& y, const Split& sp) {
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
void softmax_loop(const Tensor& x, const Tensor& y, const Split& sp) {
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
  Split sp = split_at(y.shape(), a.get<SoftmaxAttrs>().axis);
  detail::visit_float(y.dtype(), kLog ? "log_softmax" : "softmax", [&]<class T>(detail::TypeTag<T>) {
    if (y.numel() == 0) return;
    Tensor x = detail::contiguous_cpu(a.in[0]);
    if (std::is_same_v<T, float> && sp.inner == 1)
      softmax_onednn<kLog>(x, y, sp);
    else
      softmax_loop<kLog, T>(x, y, sp);
  });
}

KEEL_REGISTER_KERNEL(Softmax, kCpu, softmax_cpu<false>);
KEEL_REGISTER_KERNEL(LogSoftmax, kCpu, softmax_cpu<true>);

}  // namespace
}  // namespace keel::cpu
