// CPU kernels of the copying shape/indexing ops: SliceBackward, Pad, Concatenate, Take, TakeBackward and
// OneHot. Data movement only: contiguous blocks go through memcpy, strided operands through
// detail::copy_cpu; gathers and scatters are split over threads by output rows.
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "keel/core/config.h"
#include "ops/dispatch.h"
#include "ops/manipulation_attrs.h"

namespace keel::cpu {
namespace {

constexpr int64_t kSerialBytes = 1 << 16;  // below this much data one thread does it all

void zero_fill(const Tensor& t) {
  // All-zero bits are 0 in every Keel dtype (including float16, bfloat16 and bool).
  if (t.numel()) std::memset(t.data_ptr(), 0, t.numel() * dtype_size(t.dtype()));
}

void slice_backward_cpu(const KernelArgs& a) {
  zero_fill(a.out[0]);
  if (a.in[0].numel()) detail::copy_cpu(a.in[0], sliced_view(a.out[0], a.get<SliceAttrs>()));
}

void pad_cpu(const KernelArgs& a) {
  const Tensor& x = a.in[0];
  const Tensor& out = a.out[0];
  const auto& attrs = a.get<PadAttrs>();
  detail::visit_dtype(out.dtype(), [&]<class T>(detail::TypeTag<T>) {
    T* p = static_cast<T*>(out.data_ptr());
    std::fill(p, p + out.numel(), detail::from_double<T>(attrs.value));
  });
  if (x.numel() == 0) return;
  int64_t offset = out.offset();
  for (int64_t i = 0; i < out.ndim(); ++i) offset += attrs.before[i] * out.strides()[i];
  detail::copy_cpu(x, detail::make_view(out, x.shape(), out.strides(), offset));
}

void concatenate_cpu(const KernelArgs& a) {
  const Tensor& out = a.out[0];
  const int64_t axis = a.get<ConcatAttrs>().axis;
  const int64_t es = static_cast<int64_t>(dtype_size(out.dtype()));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < out.ndim(); ++d) {
    if (d < axis) outer *= out.shape()[d];
    if (d > axis) inner *= out.shape()[d];
  }
  const int64_t out_row = out.shape()[axis] * inner * es;  // bytes per outer index in the output
  char* dst = static_cast<char*>(out.data_ptr());
  int64_t at = 0;  // position along axis where the current input starts
  for (const Tensor& x : a.in) {
    const int64_t n = x.shape()[axis];
    if (x.numel() && x.is_contiguous()) {
      const int64_t row = n * inner * es;
      const char* src = static_cast<const char*>(x.data_ptr());
      char* d0 = dst + at * inner * es;
      parallel_for(outer, std::max<int64_t>(1, kSerialBytes / std::max<int64_t>(row, 1)), [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o) std::memcpy(d0 + o * out_row, src + o * row, row);
      });
    } else if (x.numel()) {
      Strides st = out.strides();
      detail::copy_cpu(x, detail::make_view(out, x.shape(), st, out.offset() + at * st[axis]));
    }
    at += n;
  }
}

// Indices as contiguous int64 (a copy unless they already are).
Tensor indices_i64(const Tensor& idx) {
  if (idx.dtype() == DType::i64 && idx.is_contiguous()) return idx;
  Tensor c = empty(idx.shape(), DType::i64, Device::cpu());
  detail::copy_cpu(idx, c);
  return c;
}

// Checks every index against [-n, n) and wraps the negative ones (before anything is written).
std::vector<int64_t> checked_indices(const Tensor& idx, int64_t n, int64_t axis, const char* op) {
  Tensor c = indices_i64(idx);
  const int64_t* p = c.data<int64_t>();
  std::vector<int64_t> out(p, p + c.numel());
  for (int64_t& v : out) {
    KEEL_CHECK(v >= -n && v < n, IndexError, op, ": index ", v, " is out of bounds for axis ", axis, " with size ", n);
    if (v < 0) v += n;
  }
  return out;
}

// x viewed as (A, N, B), indices flat (I): out (A, I, B).
void take_cpu(const KernelArgs& a) {
  const auto& attrs = a.get<TakeAttrs>();
  const Tensor& x0 = a.in[0];
  const int64_t axis = attrs.axis, N = x0.shape()[axis];
  std::vector<int64_t> idx = checked_indices(a.in[1], N, axis, "take");
  Tensor x = x0;
  if (!x.is_contiguous()) {
    x = empty(x0.shape(), x0.dtype(), Device::cpu());
    detail::copy_cpu(x0, x);
  }
  int64_t A = 1, B = 1;
  for (int64_t d = 0; d < x.ndim(); ++d) {
    if (d < axis) A *= x.shape()[d];
    if (d > axis) B *= x.shape()[d];
  }
  const int64_t I = static_cast<int64_t>(idx.size());
  const int64_t row = B * static_cast<int64_t>(dtype_size(x.dtype()));
  const char* src = static_cast<const char*>(x.data_ptr());
  char* dst = static_cast<char*>(a.out[0].data_ptr());
  if (B == 1) {  // single elements: typed loads instead of a memcpy call each
    detail::visit_dtype(x.dtype(), [&]<class T>(detail::TypeTag<T>) {
      const T* s = reinterpret_cast<const T*>(src);
      T* d = reinterpret_cast<T*>(dst);
      for (int64_t ai = 0; ai < A; ++ai)
        for (int64_t i = 0; i < I; ++i) d[ai * I + i] = s[ai * N + idx[i]];
    });
    return;
  }
  parallel_for(A * I, std::max<int64_t>(1, kSerialBytes / std::max<int64_t>(row, 1)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t ai = t / I, i = t % I;
      std::memcpy(dst + t * row, src + (ai * N + idx[i]) * row, row);
    }
  });
}

// out (A, N, B) = zeros, then out[a, idx[i], :] += g[a, i, :]. Tasks own disjoint blocks of out (by a,
// column block and row range), so the sums need no atomics and their order is fixed.
template <class T>
void take_backward_typed(const Tensor& g0, const std::vector<int64_t>& idx, const Tensor& out, int64_t axis) {
  Tensor g = g0.is_contiguous() ? g0 : empty(g0.shape(), g0.dtype(), Device::cpu());
  if (!g0.is_contiguous()) detail::copy_cpu(g0, g);
  const int64_t N = out.shape()[axis], I = static_cast<int64_t>(idx.size());
  int64_t A = 1, B = 1;
  for (int64_t d = 0; d < out.ndim(); ++d) {
    if (d < axis) A *= out.shape()[d];
    if (d > axis) B *= out.shape()[d];
  }
  const T* src = static_cast<const T*>(g.data_ptr());
  T* dst = static_cast<T*>(out.data_ptr());
  std::fill(dst, dst + out.numel(), T(0));
  constexpr int64_t kBlock = 512;
  const int64_t blocks = (B + kBlock - 1) / kBlock;
  const int64_t threads = A * I * B * static_cast<int64_t>(sizeof(T)) < kSerialBytes ? 1 : config::get_num_threads();
  const int64_t parts = A * blocks >= threads ? 1 : std::min<int64_t>(threads, N);
  const int64_t rows_per_part = (N + parts - 1) / parts;
  parallel_for(A * blocks * parts, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t p = t % parts, blk = (t / parts) % blocks, ai = t / (parts * blocks);
      const int64_t b0 = blk * kBlock, w = std::min(B, b0 + kBlock) - b0;
      const int64_t n0 = p * rows_per_part, n1 = std::min(N, n0 + rows_per_part);
      for (int64_t i = 0; i < I; ++i) {
        const int64_t n = idx[i];
        if (n < n0 || n >= n1) continue;
        T* d = dst + (ai * N + n) * B + b0;
        const T* s = src + (ai * I + i) * B + b0;
        for (int64_t j = 0; j < w; ++j) d[j] += s[j];
      }
    }
  });
}

void take_backward_cpu(const KernelArgs& a) {
  const auto& attrs = a.get<TakeAttrs>();
  const Tensor& out = a.out[0];
  std::vector<int64_t> idx = checked_indices(a.in[1], out.shape()[attrs.axis], attrs.axis, "take_backward");
  detail::visit_float(out.dtype(), "take_backward", [&]<class T>(detail::TypeTag<T>) {
    take_backward_typed<T>(a.in[0], idx, out, attrs.axis);
  });
}

// indices viewed as (A, B); out (A, C, B) with out[a, idx, b] = 1 where 0 <= idx < C.
void one_hot_cpu(const KernelArgs& a) {
  const auto& attrs = a.get<OneHotAttrs>();
  const Tensor& out = a.out[0];
  Tensor idx_t = indices_i64(a.in[0]);
  const int64_t* idx = idx_t.data<int64_t>();
  const int64_t C = attrs.num_classes;
  int64_t A = 1, B = 1;
  for (int64_t d = 0; d < idx_t.ndim(); ++d) (d < attrs.axis ? A : B) *= idx_t.shape()[d];
  zero_fill(out);
  detail::visit_dtype(out.dtype(), [&]<class T>(detail::TypeTag<T>) {
    T* p = static_cast<T*>(out.data_ptr());
    const T one = detail::from_double<T>(1.0);
    for (int64_t ai = 0; ai < A; ++ai)
      for (int64_t b = 0; b < B; ++b) {
        const int64_t c = idx[ai * B + b];
        if (c >= 0 && c < C) p[(ai * C + c) * B + b] = one;
      }
  });
}

KEEL_REGISTER_KERNEL(SliceBackward, kCpu, slice_backward_cpu);
KEEL_REGISTER_KERNEL(Pad, kCpu, pad_cpu);
KEEL_REGISTER_KERNEL(Concatenate, kCpu, concatenate_cpu);
KEEL_REGISTER_KERNEL(Take, kCpu, take_cpu);
KEEL_REGISTER_KERNEL(TakeBackward, kCpu, take_backward_cpu);
KEEL_REGISTER_KERNEL(OneHot, kCpu, one_hot_cpu);

}  // namespace
}  // namespace keel::cpu
