// Fused cross-entropies from logits on the CPU: plain loops, threaded over samples, float32 and float64.
// Softmax cross-entropy per sample: max, then one pass for sum(exp(x - max)), sum(labels) and
// sum(labels·(x - max)): loss = sum(labels)·log(sum exp) - sum(labels·(x - max)).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "keel/core/config.h"
#include "ops/cross_entropy_attrs.h"
#include "ops/dispatch.h"

namespace keel::cpu {
namespace {

template <class T>
const T* cptr(const Tensor& t) {
  return static_cast<const T*>(t.data_ptr());
}

// max(x,0) - x·z + log1p(exp(-|x|)), elementwise.
void sigmoid_ce_cpu(const KernelArgs& a) {
  const Tensor& loss = a.out[0];
  detail::visit_float(loss.dtype(), "sigmoid_cross_entropy_with_logits", [&]<class T>(detail::TypeTag<T>) {
    Tensor zt = detail::contiguous_cpu(a.in[0]), xt = detail::contiguous_cpu(a.in[1]);
    const T *z = cptr<T>(zt), *x = cptr<T>(xt);
    T* out = static_cast<T*>(loss.data_ptr());
    parallel_for(loss.numel(), 16384, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        out[i] = std::max(x[i], T(0)) - x[i] * z[i] + std::log1p(std::exp(-std::abs(x[i])));
    });
  });
}

void softmax_ce_cpu(const KernelArgs& a) {
  const Tensor& loss = a.out[0];
  const Shape& s = a.in[1].shape();
  const int64_t axis = a.get<SoftmaxCrossEntropyAttrs>().axis;
  // Plain variables, not a structured binding: clang 16 cannot capture bindings in the OpenMP region below.
  const AxisSplit split = split_at_axis(s, axis);
  const int64_t outer = split.outer, n = split.n, inner = split.inner;
  detail::visit_float(loss.dtype(), "softmax_cross_entropy_with_logits", [&]<class T>(detail::TypeTag<T>) {
    if (loss.numel() == 0) return;
    T* out = static_cast<T*>(loss.data_ptr());
    if (n == 0) {  // an empty sum over no classes
      std::fill_n(out, loss.numel(), T(0));
      return;
    }
    Tensor lt = detail::contiguous_cpu(a.in[0]), xt = detail::contiguous_cpu(a.in[1]);
    const T *lab = cptr<T>(lt), *x = cptr<T>(xt);
    const int64_t slab = n * inner;
    // Per outer index, all inner positions advance together so the innermost loop is contiguous
    // (inner == 1, the usual class-last case, is a plain row loop).
    parallel_for(outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(slab, 1)), [&](int64_t o0, int64_t o1) {
      std::vector<T> m(inner), se(inner), sl(inner), slx(inner);
      for (int64_t o = o0; o < o1; ++o) {
        const T* xs = x + o * slab;
        const T* ls = lab + o * slab;
        std::fill(m.begin(), m.end(), -INFINITY);
        std::fill(se.begin(), se.end(), T(0));
        std::fill(sl.begin(), sl.end(), T(0));
        std::fill(slx.begin(), slx.end(), T(0));
        for (int64_t c = 0; c < n; ++c)
          for (int64_t i = 0; i < inner; ++i) m[i] = std::max(m[i], xs[c * inner + i]);
        for (int64_t c = 0; c < n; ++c)
          for (int64_t i = 0; i < inner; ++i) {
            T d = xs[c * inner + i] - m[i];
            se[i] += std::exp(d);
            sl[i] += ls[c * inner + i];
            slx[i] += ls[c * inner + i] * d;
          }
        for (int64_t i = 0; i < inner; ++i) out[o * inner + i] = sl[i] * std::log(se[i]) - slx[i];
      }
    });
  });
}

// Labels (N...) of any integer dtype, logits (N..., C) -> loss (N...) = logsumexp(row) - row[label].
void sparse_softmax_ce_cpu(const KernelArgs& a) {
  const Tensor& loss = a.out[0];
  const int64_t n = a.in[1].shape().back();
  const int64_t rows = loss.numel();
  Tensor lt = detail::contiguous_cpu(a.in[0]);
  std::vector<int64_t> labels(rows);
  detail::visit_dtype(lt.dtype(), [&]<class L>(detail::TypeTag<L>) {
    const L* p = static_cast<const L*>(lt.data_ptr());
    for (int64_t r = 0; r < rows; ++r) labels[r] = static_cast<int64_t>(detail::to_double(p[r]));
  });
  for (int64_t r = 0; r < rows; ++r)  // all labels are checked before anything is computed
    KEEL_CHECK(labels[r] >= 0 && labels[r] < n, IndexError, "sparse_softmax_cross_entropy_with_logits: label ",
               labels[r], " at sample ", r, " is out of range for ", n, " classes (expected 0 <= label < ", n, ")");
  detail::visit_float(loss.dtype(), "sparse_softmax_cross_entropy_with_logits", [&]<class T>(detail::TypeTag<T>) {
    Tensor xt = detail::contiguous_cpu(a.in[1]);
    const T* x = cptr<T>(xt);
    T* out = static_cast<T*>(loss.data_ptr());
    parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* row = x + r * n;
        T m = -INFINITY, s = 0;
        for (int64_t c = 0; c < n; ++c) m = std::max(m, row[c]);
        for (int64_t c = 0; c < n; ++c) s += std::exp(row[c] - m);
        out[r] = std::log(s) - (row[labels[r]] - m);
      }
    });
  });
}

KEEL_REGISTER_KERNEL(SigmoidCrossEntropy, kCpu, sigmoid_ce_cpu);
KEEL_REGISTER_KERNEL(SoftmaxCrossEntropy, kCpu, softmax_ce_cpu);
KEEL_REGISTER_KERNEL(SparseSoftmaxCrossEntropy, kCpu, sparse_softmax_ce_cpu);

}  // namespace
}  // namespace keel::cpu
