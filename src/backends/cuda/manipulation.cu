// CUDA kernels of the copying shape/indexing ops: SliceBackward, Pad, Concatenate, Take, TakeBackward and
// OneHot (the other layout ops are views and have no kernel). Data movement works on raw elements of the
// dtype's size (1, 2, 4 or 8 bytes), so every dtype, 16-bit floats and bool included, shares one kernel.
// Strided operands are addressed through an OffsetCalculator (strided_index.cuh); outputs are contiguous, as the
// glue allocates them. Indices are checked on the device before anything is written and a bad one raises
// the CPU kernel's IndexError, which costs one stream synchronisation per Take/TakeBackward.
#include <climits>
#include <cstring>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/device_tensors.h"
#include "backends/cuda/strided_index.cuh"
#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"
#include "ops/manipulation_attrs.h"

namespace keel::cuda {
namespace {

constexpr int kThreads = 256;
#define KEEL_GRID_STRIDE(i, n)                                                           \
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// `value` converted to dtype `dt` as the CPU does (detail::from_double), as raw bits of type E.
template <class E>
E bits_of(DType dt, double value) {
  E e{};
  detail::visit_dtype(dt, [&]<class T>(detail::TypeTag<T>) {
    if constexpr (sizeof(T) == sizeof(E)) {  // visit_bits picked E for this dtype: the other branches never run
      const T v = detail::from_double<T>(value);
      std::memcpy(&e, &v, sizeof(T));
    }
  });
  return e;
}

void check_launch() { KEEL_CUDA_CHECK(cudaGetLastError()); }


template <class E>
__global__ void fill_kernel(E* out, int64_t n, E value) {
  KEEL_GRID_STRIDE(i, n) out[i] = value;
}

// x viewed as (A, N, B) around `axis` (products of the axes before and after it).
struct Split {
  int64_t A = 1, N = 1, B = 1;
};
Split split(const Shape& s, int64_t axis) {
  Split p;
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) (d < axis ? p.A : d > axis ? p.B : p.N) *= s[d];
  return p;
}

// ---- SliceBackward, Pad, Concatenate ----

void slice_backward_cuda(const KernelArgs& a) {
  zero_fill(a.out[0]);
  if (a.in[0].numel()) copy_on_device(a.in[0], sliced_view(a.out[0], a.get<SliceAttrs>()));
}

void pad_cuda(const KernelArgs& a) {
  const Tensor& x = a.in[0];
  const Tensor& out = a.out[0];
  const auto& attrs = a.get<PadAttrs>();
  const int64_t n = out.numel();
  if (n == 0) return;
  detail::visit_bits(out.dtype(), op_name(a.op), [&]<class E>(detail::TypeTag<E>) {
    fill_kernel<E><<<blocks_for(n, kThreads), kThreads, 0, stream_of(out)>>>(static_cast<E*>(out.data_ptr()), n,
                                                                             bits_of<E>(out.dtype(), attrs.value));
    check_launch();
  });
  if (x.numel() == 0) return;
  int64_t offset = out.offset();
  for (int64_t i = 0; i < out.ndim(); ++i) offset += attrs.before[i] * out.strides()[i];
  copy_on_device(x, detail::make_view(out, x.shape(), out.strides(), offset));
}

void concatenate_cuda(const KernelArgs& a) {
  const Tensor& out = a.out[0];
  const int64_t axis = a.get<ConcatAttrs>().axis;
  int64_t at = 0;  // position along axis where the current input starts
  for (const Tensor& x : a.in) {
    if (x.numel())
      copy_on_device(x, detail::make_view(out, x.shape(), out.strides(), out.offset() + at * out.strides()[axis]));
    at += x.shape()[axis];
  }
}

// ---- Take, TakeBackward: indices checked and wrapped on the device ----

constexpr unsigned long long kNoBadIndex = ULLONG_MAX;

// idx (any strides) -> wrapped[i] in [0, n); a position holding an index outside [-n, n) keeps its raw value
// and the smallest such position goes to *first_bad.
template <class I>
__global__ void wrap_indices_kernel(const I* idx, OffsetCalculator<1> oc, int64_t count, int64_t n, int64_t* wrapped,
                                    unsigned long long* first_bad) {
  KEEL_GRID_STRIDE(i, count) {
    const int64_t v = static_cast<int64_t>(idx[oc.get(i).v[0]]);
    const bool ok = v >= -n && v < n;
    wrapped[i] = ok && v < 0 ? v + n : v;
    if (!ok) atomicMin(first_bad, static_cast<unsigned long long>(i));
  }
}

// The indices as contiguous int64 in [0, n) in device scratch memory (valid until the next workspace() call);
// raises IndexError like the CPU kernel if one is out of range.
const int64_t* checked_indices(const Tensor& idx, int64_t n, int64_t axis, const char* op) {
  const int64_t count = idx.numel();
  const int device = idx.device().index;
  cudaStream_t stream = stream_of(idx);
  auto* wrapped = static_cast<int64_t*>(workspace(device, (count + 1) * sizeof(int64_t)));
  auto* first_bad = reinterpret_cast<unsigned long long*>(wrapped + count);
  KEEL_CUDA_CHECK(cudaMemsetAsync(first_bad, 0xFF, sizeof(*first_bad), stream));  // kNoBadIndex
  const auto oc = make_offset_calculator<1>(idx.shape(), {&idx.strides()});
  detail::visit_index(idx.dtype(), detail::cat(op, ": indices"), [&]<class I>(detail::TypeTag<I>) {
    wrap_indices_kernel<I><<<blocks_for(count, kThreads), kThreads, 0, stream>>>(static_cast<const I*>(idx.data_ptr()),
                                                                                 oc, count, n, wrapped, first_bad);
    check_launch();
  });
  unsigned long long bad = kNoBadIndex;
  KEEL_CUDA_CHECK(cudaMemcpyAsync(&bad, first_bad, sizeof(bad), cudaMemcpyDeviceToHost, stream));
  KEEL_CUDA_CHECK(cudaStreamSynchronize(stream));
  if (bad != kNoBadIndex) {
    int64_t v = 0;
    KEEL_CUDA_CHECK(cudaMemcpyAsync(&v, wrapped + bad, sizeof(v), cudaMemcpyDeviceToHost, stream));
    KEEL_CUDA_CHECK(cudaStreamSynchronize(stream));
    KEEL_CHECK(false, IndexError, op, ": index ", v, " is out of bounds for axis ", axis, " with size ", n);
  }
  return wrapped;
}

// out (A, I, B) contiguous: out[a, i, b] = x[a, idx[i], b], x any strides.
template <class E>
__global__ void take_kernel(const E* x, OffsetCalculator<1> xc, const int64_t* idx, E* out, int64_t I, int64_t N,
                            int64_t B, int64_t total) {
  KEEL_GRID_STRIDE(t, total) {
    const int64_t b = t % B, ai_i = t / B, i = ai_i % I, ai = ai_i / I;
    out[t] = x[xc.get((ai * N + idx[i]) * B + b).v[0]];
  }
}

void take_cuda(const KernelArgs& a) {
  const auto& attrs = a.get<TakeAttrs>();
  const Tensor &x = a.in[0], &out = a.out[0];
  const Split s = split(x.shape(), attrs.axis);
  const int64_t I = a.in[1].numel();
  if (I == 0) return;
  const int64_t* idx = checked_indices(a.in[1], s.N, attrs.axis, "take");
  const int64_t total = out.numel();
  if (total == 0) return;
  const auto xc = make_offset_calculator<1>(x.shape(), {&x.strides()});
  detail::visit_bits(x.dtype(), "take", [&]<class E>(detail::TypeTag<E>) {
    take_kernel<E><<<blocks_for(total, kThreads), kThreads, 0, stream_of(out)>>>(
        static_cast<const E*>(x.data_ptr()), xc, idx, static_cast<E*>(out.data_ptr()), I, s.N, s.B, total);
    check_launch();
  });
}

// out (A, N, B) contiguous, zeroed: out[a, idx[i], b] += g[a, i, b] (atomics: repeated indices collide, so
// the summation order, unlike the CPU's, is not fixed).
template <class T>
__global__ void take_backward_kernel(const T* g, OffsetCalculator<1> gc, const int64_t* idx, T* out, int64_t I,
                                     int64_t N, int64_t B, int64_t total) {
  KEEL_GRID_STRIDE(t, total) {
    const int64_t b = t % B, ai_i = t / B, i = ai_i % I, ai = ai_i / I;
    atomicAdd(out + (ai * N + idx[i]) * B + b, g[gc.get(t).v[0]]);
  }
}

void take_backward_cuda(const KernelArgs& a) {
  const auto& attrs = a.get<TakeAttrs>();
  const Tensor &g = a.in[0], &out = a.out[0];
  const Split s = split(out.shape(), attrs.axis);
  const int64_t I = a.in[1].numel();
  // Indices first, then the dtype, in the CPU kernel's order of errors.
  const int64_t* idx = I ? checked_indices(a.in[1], s.N, attrs.axis, "take_backward") : nullptr;
  detail::visit_float(out.dtype(), "take_backward", [&]<class T>(detail::TypeTag<T>) {
    zero_fill(out);
    const int64_t total = g.numel();
    if (total == 0) return;
    const auto gc = make_offset_calculator<1>(g.shape(), {&g.strides()});
    take_backward_kernel<T><<<blocks_for(total, kThreads), kThreads, 0, stream_of(out)>>>(
        static_cast<const T*>(g.data_ptr()), gc, idx, static_cast<T*>(out.data_ptr()), I, s.N, s.B, total);
    check_launch();
  });
}

// ---- OneHot ----

// indices viewed as (A, B), any strides; out (A, C, B) contiguous and zeroed: out[a, idx, b] = one where
// 0 <= idx < C (others stay all zero, as on the CPU).
template <class I, class E>
__global__ void one_hot_kernel(const I* idx, OffsetCalculator<1> oc, E* out, int64_t C, int64_t B, int64_t total,
                               E one) {
  KEEL_GRID_STRIDE(t, total) {
    const int64_t c = static_cast<int64_t>(idx[oc.get(t).v[0]]);
    const int64_t ai = t / B, b = t - ai * B;
    if (c >= 0 && c < C) out[(ai * C + c) * B + b] = one;
  }
}

void one_hot_cuda(const KernelArgs& a) {
  const auto& attrs = a.get<OneHotAttrs>();
  const Tensor &idx = a.in[0], &out = a.out[0];
  zero_fill(out);
  const int64_t total = idx.numel();
  if (total == 0 || out.numel() == 0) return;
  int64_t B = 1;
  for (int64_t d = attrs.axis; d < idx.ndim(); ++d) B *= idx.shape()[d];
  const auto oc = make_offset_calculator<1>(idx.shape(), {&idx.strides()});
  detail::visit_index(idx.dtype(), "one_hot: indices", [&]<class I>(detail::TypeTag<I>) {
    detail::visit_bits(out.dtype(), op_name(a.op), [&]<class E>(detail::TypeTag<E>) {
      one_hot_kernel<I, E><<<blocks_for(total, kThreads), kThreads, 0, stream_of(out)>>>(
          static_cast<const I*>(idx.data_ptr()), oc, static_cast<E*>(out.data_ptr()), attrs.num_classes, B, total,
          bits_of<E>(out.dtype(), 1.0));
      check_launch();
    });
  });
}

KEEL_REGISTER_KERNEL(SliceBackward, kCuda, slice_backward_cuda);
KEEL_REGISTER_KERNEL(Pad, kCuda, pad_cuda);
KEEL_REGISTER_KERNEL(Concatenate, kCuda, concatenate_cuda);
KEEL_REGISTER_KERNEL(Take, kCuda, take_cuda);
KEEL_REGISTER_KERNEL(TakeBackward, kCuda, take_backward_cuda);
KEEL_REGISTER_KERNEL(OneHot, kCuda, one_hot_cuda);

}  // namespace
}  // namespace keel::cuda
