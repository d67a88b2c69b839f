// Reference Sum, Max, Min, Prod, ArgMax and ArgMin: every input element is read as double (any strides)
// and folded into the double accumulator of its output element. max/min propagate NaN; argmax/argmin
// return the first extreme index, NaN counting as extreme (NumPy).
#include <cmath>
#include <limits>
#include <vector>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"
#include "ops/reduction_attrs.h"

namespace keel::cpu_ref {
namespace {

double identity_of(OpId op) {
  switch (op) {
    case OpId::Prod: return 1.0;
    case OpId::Max: return -std::numeric_limits<double>::infinity();
    case OpId::Min: return std::numeric_limits<double>::infinity();
    default: return 0.0;
  }
}

double combine(OpId op, double acc, double v) {
  switch (op) {
    case OpId::Prod: return acc * v;
    case OpId::Max: return (std::isnan(v) || v > acc) ? v : acc;
    case OpId::Min: return (std::isnan(v) || v < acc) ? v : acc;
    default: return acc + v;
  }
}

void reduce_ref(const KernelArgs& a) {
  const Tensor& x = a.in[0];
  const Tensor& out = a.out[0];
  const auto& attrs = a.get<ReduceAttrs>();
  const int64_t nd = x.ndim();
  std::vector<bool> reduced(nd, false);
  for (int64_t ax : attrs.axes) reduced[ax] = true;
  std::vector<double> acc(out.numel(), identity_of(a.op));
  for (int64_t i = 0; i < x.numel(); ++i) {
    // Row-major index of i's output element: its coordinates on the kept axes.
    int64_t rest = i, o = 0, scale = 1;
    for (int64_t d = nd - 1; d >= 0; --d) {
      const int64_t c = rest % x.shape()[d];
      rest /= x.shape()[d];
      if (reduced[d]) continue;
      o += c * scale;
      scale *= x.shape()[d];
    }
    acc[o] = combine(a.op, acc[o], detail::read_as_double(x, i));
  }
  detail::visit_dtype(out.dtype(), [&]<class T>(detail::TypeTag<T>) {
    T* p = static_cast<T*>(out.data_ptr());
    for (int64_t k = 0; k < out.numel(); ++k) p[k] = detail::from_double<T>(acc[k]);
  });
}

void arg_reduce_ref(const KernelArgs& a) {
  const Tensor& x = a.in[0];
  const int64_t axis = a.get<ArgReduceAttrs>().axis;
  int64_t outer = 1, inner = 1;
  const int64_t n = x.shape()[axis];
  for (int64_t d = 0; d < x.ndim(); ++d) {
    if (d < axis) outer *= x.shape()[d];
    if (d > axis) inner *= x.shape()[d];
  }
  const bool is_max = a.op == OpId::ArgMax;
  int64_t* out = static_cast<int64_t*>(a.out[0].data_ptr());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t k = 0; k < inner; ++k) {
      int64_t best = 0;
      double bv = detail::read_as_double(x, o * n * inner + k);
      for (int64_t r = 1; r < n && !std::isnan(bv); ++r) {
        const double v = detail::read_as_double(x, (o * n + r) * inner + k);
        if (std::isnan(v) || (is_max ? v > bv : v < bv)) {
          bv = v;
          best = r;
        }
      }
      out[o * inner + k] = best;
    }
  }
}

KEEL_REGISTER_KERNEL(Sum, kCpuRef, reduce_ref);
KEEL_REGISTER_KERNEL(Prod, kCpuRef, reduce_ref);
KEEL_REGISTER_KERNEL(Max, kCpuRef, reduce_ref);
KEEL_REGISTER_KERNEL(Min, kCpuRef, reduce_ref);
KEEL_REGISTER_KERNEL(ArgMax, kCpuRef, arg_reduce_ref);
KEEL_REGISTER_KERNEL(ArgMin, kCpuRef, arg_reduce_ref);

}  // namespace
}  // namespace keel::cpu_ref
