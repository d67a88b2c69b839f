// Reference Softmax and LogSoftmax and their backward ops: per slice along the axis, in double, any input
// strides.
#include <cmath>

#include "backends/cpu/ref/ref_common.h"
#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"
#include "ops/softmax_attrs.h"

namespace keel::cpu_ref {
namespace {

template <bool kLog>
void softmax_ref(const KernelArgs& a) {
  const Tensor& x = a.in[0];
  const Tensor& y = a.out[0];
  const int64_t axis = a.get<SoftmaxAttrs>().axis;
  // x seen as (outer, n, inner) in row-major logical order.
  const auto [outer, n, inner] = split_at_axis(x.shape(), axis);
  detail::visit_float(y.dtype(), kLog ? "log_softmax" : "softmax", [&]<class T>(detail::TypeTag<T>) {
    T* out = static_cast<T*>(y.data_ptr());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t c) { return (o * n + c) * inner + i; };
        double m = -INFINITY;
        for (int64_t c = 0; c < n; ++c) m = std::max(m, detail::read_as_double(x, at(c)));
        double s = 0;
        for (int64_t c = 0; c < n; ++c) s += std::exp(detail::read_as_double(x, at(c)) - m);
        for (int64_t c = 0; c < n; ++c) {
          double v = detail::read_as_double(x, at(c)) - m;
          out[at(c)] = static_cast<T>(kLog ? v - std::log(s) : std::exp(v) / s);
        }
      }
  });
}

// in = (y, g): softmax dx = y·(g - sum(g·y)), log_softmax dx = g - exp(y)·sum(g), sums along the axis.
template <bool kLog>
void softmax_backward_ref(const KernelArgs& a) {
  const Tensor& dx = a.out[0];
  const int64_t axis = a.get<SoftmaxAttrs>().axis;
  const auto [outer, n, inner] = split_at_axis(dx.shape(), axis);
  const std::vector<double> y = to_doubles(a.in[0]), g = to_doubles(a.in[1]);
  std::vector<double> out(y.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t c) { return (o * n + c) * inner + i; };
      double s = 0;
      for (int64_t c = 0; c < n; ++c) s += kLog ? g[at(c)] : g[at(c)] * y[at(c)];
      for (int64_t c = 0; c < n; ++c) out[at(c)] = kLog ? g[at(c)] - std::exp(y[at(c)]) * s : y[at(c)] * (g[at(c)] - s);
    }
  write_doubles(dx, out);
}

KEEL_REGISTER_KERNEL(Softmax, kCpuRef, softmax_ref<false>);
KEEL_REGISTER_KERNEL(LogSoftmax, kCpuRef, softmax_ref<true>);
KEEL_REGISTER_KERNEL(SoftmaxBackward, kCpuRef, softmax_backward_ref<false>);
KEEL_REGISTER_KERNEL(LogSoftmaxBackward, kCpuRef, softmax_backward_ref<true>);

}  // namespace
}  // namespace keel::cpu_ref
