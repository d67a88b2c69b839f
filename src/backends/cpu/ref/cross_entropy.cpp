// Reference fused cross-entropies from logits, in double, any input strides.
#include <cmath>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/cross_entropy_attrs.h"
#include "ops/dispatch.h"

namespace keel::cpu_ref {
namespace {

using detail::read_as_double;

void sigmoid_ce_ref(const KernelArgs& a) {
  const Tensor& z = a.in[0];
  const Tensor& x = a.in[1];
  const Tensor& loss = a.out[0];
  detail::visit_float(loss.dtype(), "sigmoid_cross_entropy_with_logits", [&]<class T>(detail::TypeTag<T>) {
    T* out = static_cast<T*>(loss.data_ptr());
    for (int64_t i = 0; i < loss.numel(); ++i) {
      double xi = read_as_double(x, i), zi = read_as_double(z, i);
      out[i] = static_cast<T>(std::max(xi, 0.0) - xi * zi + std::log1p(std::exp(-std::abs(xi))));
    }
  });
}

// log(sum(exp(x[at(c)]))) over c in [0, n).
template <class At>
double logsumexp(const Tensor& x, int64_t n, At at) {
  double m = -INFINITY;
  for (int64_t c = 0; c < n; ++c) m = std::max(m, read_as_double(x, at(c)));
  double s = 0;
  for (int64_t c = 0; c < n; ++c) s += std::exp(read_as_double(x, at(c)) - m);
  return m + std::log(s);
}

void softmax_ce_ref(const KernelArgs& a) {
  const Tensor& labels = a.in[0];
  const Tensor& x = a.in[1];
  const Tensor& loss = a.out[0];
  const int64_t axis = a.get<SoftmaxCrossEntropyAttrs>().axis;
  const auto [outer, n, inner] = split_at_axis(x.shape(), axis);
  detail::visit_float(loss.dtype(), "softmax_cross_entropy_with_logits", [&]<class T>(detail::TypeTag<T>) {
    T* out = static_cast<T*>(loss.data_ptr());
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        auto at = [&](int64_t c) { return (o * n + c) * inner + i; };
        double lse = logsumexp(x, n, at);
        double s = 0;
        for (int64_t c = 0; c < n; ++c) s += read_as_double(labels, at(c)) * (lse - read_as_double(x, at(c)));
        out[o * inner + i] = static_cast<T>(s);
      }
  });
}

void sparse_softmax_ce_ref(const KernelArgs& a) {
  const Tensor& labels = a.in[0];
  const Tensor& x = a.in[1];
  const Tensor& loss = a.out[0];
  const int64_t n = x.shape().back();
  const int64_t rows = loss.numel();
  for (int64_t r = 0; r < rows; ++r) {
    double label = read_as_double(labels, r);
    KEEL_CHECK(label >= 0 && label < static_cast<double>(n), IndexError,
               "sparse_softmax_cross_entropy_with_logits: label ", static_cast<int64_t>(label), " at sample ", r,
               " is out of range for ", n, " classes (expected 0 <= label < ", n, ")");
  }
  detail::visit_float(loss.dtype(), "sparse_softmax_cross_entropy_with_logits", [&]<class T>(detail::TypeTag<T>) {
    T* out = static_cast<T*>(loss.data_ptr());
    for (int64_t r = 0; r < rows; ++r) {
      auto at = [&](int64_t c) { return r * n + c; };
      int64_t label = static_cast<int64_t>(read_as_double(labels, r));
      out[r] = static_cast<T>(logsumexp(x, n, at) - read_as_double(x, at(label)));
    }
  });
}

KEEL_REGISTER_KERNEL(SigmoidCrossEntropy, kCpuRef, sigmoid_ce_ref);
KEEL_REGISTER_KERNEL(SoftmaxCrossEntropy, kCpuRef, softmax_ce_ref);
KEEL_REGISTER_KERNEL(SparseSoftmaxCrossEntropy, kCpuRef, sparse_softmax_ce_ref);

}  // namespace
}  // namespace keel::cpu_ref
