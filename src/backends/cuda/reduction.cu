// CUDA kernels of Sum, Max, Min, Prod, ArgMax and ArgMin.
//
// Note [CUDA reduction layout]: the input (any strides) is seen as kept axes × reduced axes. Output
// element o (row-major over the kept axes, which is also the order of the contiguous output whether or
// not keepdims is set) is reduced by one thread block: each thread folds every blockDim-th reduced
// element, then the block folds its threads' values in a shared-memory tree. When there are few outputs
// and many elements each (a full sum), the reduced range is split into parts reduced by separate blocks
// into a scratch buffer, and a second launch folds the parts.
// Dtype rules are the CPU kernels': float32 accumulates in float32, float64 in float64, integers in their
// own type (wrapping like NumPy); max/min propagate NaN; float16/bfloat16 never arrive (the glue reduces
// them in float32). ArgMax/ArgMin give the first index of the extreme value, NaN counting as extreme.
#include <cuda/std/limits>

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/strided_index.cuh"
#include "ops/dispatch.h"
#include "ops/reduction_attrs.h"

namespace keel::cuda {
namespace {

constexpr int kThreads = 256;  // a power of two: the block tree halves it
// Splitting a reduction over several blocks pays off only when each part still has this many elements.
constexpr int64_t kMinPerPart = kThreads * 16;
// Enough blocks to fill the GPU.
constexpr int64_t kTargetBlocks = 2048;

template <class T>
__device__ bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return v != v;
  else
    return false;
}

template <class T>
__device__ T lowest_value() {
  if constexpr (::cuda::std::numeric_limits<T>::has_infinity)
    return -::cuda::std::numeric_limits<T>::infinity();
  else
    return ::cuda::std::numeric_limits<T>::lowest();
}
template <class T>
__device__ T highest_value() {
  if constexpr (::cuda::std::numeric_limits<T>::has_infinity)
    return ::cuda::std::numeric_limits<T>::infinity();
  else
    return ::cuda::std::numeric_limits<T>::max();
}

// --- reducers: Acc identity(), Acc make(value, index), Acc combine(Acc, Acc), Out finish(Acc) ---

template <class T>
struct SumReducer {
  using Acc = T;
  using Out = T;
  __device__ Acc identity() const { return T(0); }
  __device__ Acc make(T v, int64_t) const { return v; }
  __device__ Acc combine(Acc a, Acc b) const { return static_cast<T>(a + b); }
  __device__ Out finish(Acc a) const { return a; }
};
template <class T>
struct ProdReducer {
  using Acc = T;
  using Out = T;
  __device__ Acc identity() const { return T(1); }
  __device__ Acc make(T v, int64_t) const { return v; }
  __device__ Acc combine(Acc a, Acc b) const { return static_cast<T>(a * b); }
  __device__ Out finish(Acc a) const { return a; }
};
// A NaN on either side wins, so NaN propagates whatever order the tree combines in.
template <class T>
struct MaxReducer {
  using Acc = T;
  using Out = T;
  __device__ Acc identity() const { return lowest_value<T>(); }
  __device__ Acc make(T v, int64_t) const { return v; }
  __device__ Acc combine(Acc a, Acc b) const { return ((b > a) || is_nan(b)) ? b : a; }
  __device__ Out finish(Acc a) const { return a; }
};
template <class T>
struct MinReducer {
  using Acc = T;
  using Out = T;
  __device__ Acc identity() const { return highest_value<T>(); }
  __device__ Acc make(T v, int64_t) const { return v; }
  __device__ Acc combine(Acc a, Acc b) const { return ((b < a) || is_nan(b)) ? b : a; }
  __device__ Out finish(Acc a) const { return a; }
};

template <class T>
struct ValueIndex {
  T v;
  int64_t i;
};
// The more extreme of two (value, index) pairs: NaN beats any number, and ties go to the lower index,
// so the result is the first extreme element whatever order pairs are combined in. The identity's index
// is larger than any real one, so it loses every tie with a real element.
template <class T, bool kMax>
struct ArgReducer {
  using Acc = ValueIndex<T>;
  using Out = int64_t;
  __device__ Acc identity() const {
    return Acc{kMax ? lowest_value<T>() : highest_value<T>(), ::cuda::std::numeric_limits<int64_t>::max()};
  }
  __device__ Acc make(T v, int64_t i) const { return Acc{v, i}; }
  __device__ Acc combine(Acc a, Acc b) const {
    const bool na = is_nan(a.v), nb = is_nan(b.v);
    if (na || nb) {
      if (na && nb) return a.i <= b.i ? a : b;
      return na ? a : b;
    }
    if (kMax ? a.v > b.v : a.v < b.v) return a;
    if (kMax ? b.v > a.v : b.v < a.v) return b;
    return a.i <= b.i ? a : b;
  }
  __device__ Out finish(Acc a) const { return a.i; }
};

// Work item w = (output o, part p) with o = w / parts: folds reduced positions [p·chunk, min(len,
// (p+1)·chunk)) of output o. kFromInput: `in` holds input values (made into Acc with their reduced
// index); else `in` holds Acc partials. kFinish: writes Out, else Acc partials.
template <class Red, class In, class Dst, bool kFromInput, bool kFinish>
__global__ void __launch_bounds__(kThreads)
    reduce_kernel(const In* in, Dst* out, int64_t n_work, int64_t parts, int64_t len, int64_t chunk,
                  OffsetCalculator<1> kept, OffsetCalculator<1> reduced, Red red) {
  using Acc = typename Red::Acc;
  __shared__ Acc buf[kThreads];
  for (int64_t w = blockIdx.x; w < n_work; w += gridDim.x) {
    const int64_t base = kept.get(w / parts).v[0];
    const int64_t begin = (w % parts) * chunk;
    const int64_t end = begin + chunk < len ? begin + chunk : len;
    Acc acc = red.identity();
    for (int64_t j = begin + threadIdx.x; j < end; j += blockDim.x) {
      const int64_t off = base + reduced.get(j).v[0];
      if constexpr (kFromInput)
        acc = red.combine(acc, red.make(in[off], j));
      else
        acc = red.combine(acc, in[off]);
    }
    buf[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
      if (threadIdx.x < s) buf[threadIdx.x] = red.combine(buf[threadIdx.x], buf[threadIdx.x + s]);
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      if constexpr (kFinish)
        out[w] = red.finish(buf[0]);
      else
        out[w] = buf[0];
    }
    __syncthreads();  // buf is rewritten by the next work item
  }
}

int grid_for(int64_t n_work) { return static_cast<int>(std::clamp<int64_t>(n_work, 1, int64_t{65535} * 32)); }

// Reduces x over `axes` (sorted, unique) into the contiguous output `out` with reducer Red.
template <class Red, class T>
void run_reduction(const Tensor& x, const Tensor& out, const std::vector<int64_t>& axes, const Red& red) {
  using Acc = typename Red::Acc;
  using Out = typename Red::Out;
  KEEL_CHECK(out.is_contiguous(), ValueError, "CUDA reduction: the output must be contiguous");
  KEEL_CHECK(x.device() == out.device(), ValueError, "CUDA reduction: input on ", x.device().str(),
             " but the output is on ", out.device().str());
  const int64_t n_out = out.numel();
  if (n_out == 0) return;
  Shape kept_shape, red_shape;
  Strides kept_strides, red_strides;
  for (int64_t i = 0; i < x.ndim(); ++i) {
    const bool is_reduced = std::binary_search(axes.begin(), axes.end(), i);
    (is_reduced ? red_shape : kept_shape).push_back(x.shape()[i]);
    (is_reduced ? red_strides : kept_strides).push_back(x.strides()[i]);
  }
  KEEL_CHECK(shape_numel(kept_shape) == n_out, ShapeError, "CUDA reduction: output of ", n_out,
             " elements for kept axes of shape ", shape_str(kept_shape));
  const int64_t len = shape_numel(red_shape);
  const OffsetCalculator<1> kept = make_offset_calculator<1>(kept_shape, {&kept_strides});
  const OffsetCalculator<1> reduced = make_offset_calculator<1>(red_shape, {&red_strides});

  const int device = out.device().index;
  set_device(device);
  cudaStream_t stream = current_stream(device);
  const T* src = static_cast<const T*>(x.data_ptr());
  Out* dst = static_cast<Out*>(out.data_ptr());

  int64_t parts = 1;
  if (n_out < kTargetBlocks && len >= 2 * kMinPerPart)
    parts = std::min(len / kMinPerPart, (kTargetBlocks + n_out - 1) / n_out);
  if (parts <= 1) {
    reduce_kernel<Red, T, Out, true, true>
        <<<grid_for(n_out), kThreads, 0, stream>>>(src, dst, n_out, 1, len, len, kept, reduced, red);
    KEEL_CUDA_CHECK(cudaGetLastError());
    return;
  }
  const int64_t chunk = (len + parts - 1) / parts;
  parts = (len + chunk - 1) / chunk;  // no empty parts
  Acc* partial = static_cast<Acc*>(workspace(device, static_cast<size_t>(n_out * parts) * sizeof(Acc)));
  reduce_kernel<Red, T, Acc, true, false><<<grid_for(n_out * parts), kThreads, 0, stream>>>(
      src, partial, n_out * parts, parts, len, chunk, kept, reduced, red);
  KEEL_CUDA_CHECK(cudaGetLastError());
  // Second pass: partials are a contiguous (n_out, parts) array; fold each row.
  const Shape out_shape{n_out}, part_shape{parts};
  const Strides out_stride{parts}, part_stride{1};
  reduce_kernel<Red, Acc, Out, false, true><<<grid_for(n_out), kThreads, 0, stream>>>(
      partial, dst, n_out, 1, parts, parts, make_offset_calculator<1>(out_shape, {&out_stride}),
      make_offset_calculator<1>(part_shape, {&part_stride}), red);
  KEEL_CUDA_CHECK(cudaGetLastError());
}

template <class T>
struct Tag {
  using type = T;
};

// The dtypes the CPU reduction kernels take (float16/bfloat16 are reduced in float32 by the glue).
template <class F>
void visit_reduce_dtype(DType dt, OpId op, F&& fn) {
  switch (dt) {
    case DType::f32:
      return fn(Tag<float>{});
    case DType::f64:
      return fn(Tag<double>{});
    case DType::i32:
      return fn(Tag<int32_t>{});
    case DType::i64:
      return fn(Tag<int64_t>{});
    case DType::u8:
      return fn(Tag<uint8_t>{});
    case DType::b8:
      return fn(Tag<bool>{});
    default:
      break;
  }
  throw DTypeError(detail::cat(op_name(op), ": the CUDA kernel does not support dtype ", dtype_name(dt),
                               " (the glue reduces float16/bfloat16 in float32)"));
}

template <template <class> class Red>
void reduce_cuda(const KernelArgs& a) {
  const Tensor& x = a.in[0];
  const Tensor& out = a.out[0];
  KEEL_CHECK(x.dtype() == out.dtype(), DTypeError, op_name(a.op), ": the CUDA kernel expects the input dtype (",
             dtype_name(x.dtype()), ") to equal the output dtype (", dtype_name(out.dtype()), ")");
  visit_reduce_dtype(out.dtype(), a.op,
                     [&]<class T>(Tag<T>) { run_reduction<Red<T>, T>(x, out, a.get<ReduceAttrs>().axes, Red<T>{}); });
}

template <bool kMax>
void arg_reduce_cuda(const KernelArgs& a) {
  const Tensor& x = a.in[0];
  KEEL_CHECK(a.out[0].dtype() == DType::i64, DTypeError, op_name(a.op), ": the output must be int64, got ",
             dtype_name(a.out[0].dtype()));
  visit_reduce_dtype(x.dtype(), a.op, [&]<class T>(Tag<T>) {
    run_reduction<ArgReducer<T, kMax>, T>(x, a.out[0], {a.get<ArgReduceAttrs>().axis}, ArgReducer<T, kMax>{});
  });
}

KEEL_REGISTER_KERNEL(Sum, kCuda, reduce_cuda<SumReducer>);
KEEL_REGISTER_KERNEL(Prod, kCuda, reduce_cuda<ProdReducer>);
KEEL_REGISTER_KERNEL(Max, kCuda, reduce_cuda<MaxReducer>);
KEEL_REGISTER_KERNEL(Min, kCuda, reduce_cuda<MinReducer>);
KEEL_REGISTER_KERNEL(ArgMax, kCuda, arg_reduce_cuda<true>);
KEEL_REGISTER_KERNEL(ArgMin, kCuda, arg_reduce_cuda<false>);

}  // namespace
}  // namespace keel::cuda
