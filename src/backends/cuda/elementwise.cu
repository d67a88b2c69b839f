// CUDA kernels of the elementwise ops: unary math and activations, clip, the broadcasting binary ops,
// comparisons, logic, where, and copy/cast. One grid-stride kernel serves them all: it maps each output
// position to the element offsets of every operand (OffsetCalculator: any rank, any strides, broadcasting
// as stride 0) and applies a functor: the math is the CPU's own, from backends/elementwise/{unary,binary}.h.
// Dtype rules are the CPU kernels' too: the glue has converted operands to one compute dtype;
// float16/bfloat16 load as float, compute in float and round back, exactly as run_half_as_float32 does.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/device_tensors.h"
#include "backends/elementwise/binary.h"
#include "backends/elementwise/unary.h"
#include "backends/cuda/strided_index.cuh"
#include "core/dtype_dispatch.h"
#include "ops/broadcast.h"
#include "ops/dispatch.h"
#include "ops/elementwise_attrs.h"

namespace keel::cuda {
namespace {

using namespace keel::elementwise;

constexpr int kThreads = 256;

// The device's 16-bit float types, for core's visit_dtype.
struct DeviceHalfTypes {
  using f16 = __half;
  using bf16 = __nv_bfloat16;
};
using detail::TypeTag;

template <class T>
inline constexpr bool kIsHalf = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;
template <class T>
inline constexpr bool kIsFloat = std::is_floating_point_v<T> || kIsHalf<T>;

[[noreturn]] void throw_dtype(const KernelArgs& a, DType dt) {
  throw DTypeError(detail::cat(op_name(a.op), ": the CUDA kernel does not support dtype ", dtype_name(dt)));
}

// --- conversions between storage and compute types ---

template <class S>
__device__ auto load(S v) {
  if constexpr (std::is_same_v<S, __half>)
    return __half2float(v);
  else if constexpr (std::is_same_v<S, __nv_bfloat16>)
    return __bfloat162float(v);
  else
    return v;
}

// Bit-for-bit the CPU's float_to_bf16: round half to even; NaN stays a quiet NaN with its payload.
__device__ __nv_bfloat16 float_to_bf16(float f) {
  const uint32_t u = __float_as_uint(f);
  __nv_bfloat16_raw r;
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0)
    r.x = static_cast<unsigned short>((u >> 16) | 0x0040u);
  else
    r.x = static_cast<unsigned short>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  return __nv_bfloat16(r);
}

// The compute value v stored as D (16-bit floats round to nearest even from float).
template <class D, class V>
__device__ D store(V v) {
  if constexpr (std::is_same_v<D, V>)
    return v;
  else if constexpr (std::is_same_v<D, __half>)
    return __float2half_rn(static_cast<float>(v));
  else if constexpr (std::is_same_v<D, __nv_bfloat16>)
    return float_to_bf16(static_cast<float>(v));
  else
    return static_cast<D>(v);
}

// --- the generic kernel ---

template <class F, class Out, size_t... K, class... In>
__device__ void apply_at(const Offsets<1 + sizeof...(In)>& off, const F& f, Out* out, std::index_sequence<K...>,
                         const In*... in) {
  out[off.v[0]] = store<Out>(f(load(in[off.v[K + 1]])...));
}

// out[i] = f(in0[i], ...) over every output position i, each operand read through its own strides.
template <class F, class Out, class... In>
__global__ void __launch_bounds__(kThreads)
    elementwise_kernel(int64_t n, OffsetCalculator<1 + sizeof...(In)> calc, F f, Out* out, const In*... in) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    apply_at(calc.get(i), f, out, std::index_sequence_for<In...>{}, in...);
}

template <class Out, class... In, class F, size_t... K>
void launch_impl(const KernelArgs& a, const F& f, std::index_sequence<K...>) {
  constexpr int N = 1 + sizeof...(In);
  const Tensor& out = a.out[0];
  const int64_t n = out.numel();
  if (n == 0) return;
  for (const Tensor& t : a.in)
    KEEL_CHECK(t.device() == out.device(), ValueError, op_name(a.op), ": operand on ", t.device().str(),
               " but the output is on ", out.device().str());
  std::array<Strides, N> strides;
  strides[0] = out.strides();
  ((strides[K + 1] = broadcast_strides(a.in[K], out.shape())), ...);
  std::array<const Strides*, N> sp;
  for (int k = 0; k < N; ++k) sp[k] = &strides[k];
  const OffsetCalculator<N> calc = make_offset_calculator<N>(out.shape(), sp);
  const int device = out.device().index;
  set_device(device);
  elementwise_kernel<F, Out, In...><<<blocks_for(n, kThreads), kThreads, 0, current_stream(device)>>>(
      n, calc, f, static_cast<Out*>(out.data_ptr()), static_cast<const In*>(a.in[K].data_ptr())...);
  KEEL_CUDA_CHECK(cudaGetLastError());
}

/// Runs f over a.in (storage types In...) into a.out[0] (storage type Out) with broadcasting.
template <class Out, class... In, class F>
void launch(const KernelArgs& a, const F& f) {
  KEEL_CHECK(a.in.size() == sizeof...(In) && a.out.size() == 1, ValueError, op_name(a.op), ": CUDA kernel expects ",
             sizeof...(In), " inputs and 1 output, got ", a.in.size(), " and ", a.out.size());
  launch_impl<Out, In...>(a, f, std::index_sequence_for<In...>{});
}

// Same dtype in and out: the floating dtypes, plus int32/int64/uint8 when kInts (never bool).
template <class Op, bool kInts>
void unary_kernel(const KernelArgs& a) {
  const Op op = make_op<Op>(a);
  const DType dt = a.out[0].dtype();
  detail::visit_dtype<DeviceHalfTypes>(dt, [&]<class T>(TypeTag<T>) {
    if constexpr (kIsFloat<T> || (kInts && !std::is_same_v<T, bool>))
      launch<T, T>(a, op);
    else
      throw_dtype(a, dt);
  });
}

// The form is chosen once per call, not per element.
void gelu_kernel(const KernelArgs& a) {
  if (a.get<GeluAttrs>().approximate)
    unary_kernel<GeluTanh, false>(a);
  else
    unary_kernel<GeluErf, false>(a);
}

// kInts: also int32/int64/uint8/bool.
template <class Op, bool kInts>
void arithmetic_kernel(const KernelArgs& a) {
  const DType dt = a.out[0].dtype();
  detail::visit_dtype<DeviceHalfTypes>(dt, [&]<class T>(TypeTag<T>) {
    if constexpr (kIsFloat<T> || kInts)
      launch<T, T, T>(a, Op{});
    else
      throw_dtype(a, dt);
  });
}

template <class Op>
void comparison_kernel(const KernelArgs& a) {
  detail::visit_dtype<DeviceHalfTypes>(a.in[0].dtype(), [&]<class T>(TypeTag<T>) { launch<bool, T, T>(a, Op{}); });
}

// Logic: the glue converts operands to bool, whose bytes are 0 or 1.
template <class Op>
void logical_kernel(const KernelArgs& a) {
  launch<bool, bool, bool>(a, Op{});
}
void logical_not_kernel(const KernelArgs& a) { launch<bool, bool>(a, LogicalNot{}); }

// where(cond, a, b) only moves elements, so it runs on their bits: one instantiation per element size
// serves every dtype. The condition is read as bytes (nonzero = true).
struct Select {
  template <class B>
  __device__ B operator()(uint8_t c, B x, B y) const {
    return c != 0 ? x : y;
  }
};

void where_kernel(const KernelArgs& a) {
  detail::visit_bits(a.out[0].dtype(), "where", [&]<class B>(TypeTag<B>) { launch<B, uint8_t, B, B>(a, Select{}); });
}

// --- copy and cast ---
struct Identity {
  template <class B>
  __device__ B operator()(B x) const {
    return x;
  }
};

// Conversion through double, as the CPU's copy_cpu does (from_double(to_double(x))): 16-bit floats round
// from float; bool is v != 0. Out-of-range and NaN float -> integer casts are undefined in C++; uint8 goes
// through int32 so in-range negatives wrap as on x86 (-1.0 -> 255).
template <class D>
struct CastTo {
  template <class C>
  __device__ D operator()(C x) const {
    const double v = static_cast<double>(x);
    if constexpr (std::is_same_v<D, bool>)
      return v != 0.0;
    else if constexpr (std::is_same_v<D, __half>)
      return __float2half_rn(static_cast<float>(v));
    else if constexpr (std::is_same_v<D, __nv_bfloat16>)
      return float_to_bf16(static_cast<float>(v));
    else if constexpr (std::is_same_v<D, uint8_t>)
      return static_cast<uint8_t>(static_cast<int32_t>(v));
    else
      return static_cast<D>(v);
  }
};

// Copy and Cast share one body, like the CPU's.
void copy_kernel(const KernelArgs& a) {
  KEEL_CHECK(a.in.size() == 1 && a.out.size() == 1, ValueError, op_name(a.op),
             ": CUDA kernel expects 1 input and 1 output, got ", a.in.size(), " and ", a.out.size());
  copy_on_device(a.in[0], a.out[0]);
}

#define KEEL_REGISTER_UNARY(Op, kInts) KEEL_REGISTER_KERNEL(Op, kCuda, (unary_kernel<Op, kInts>));
KEEL_UNARY_FUNCTOR_OPS(KEEL_REGISTER_UNARY)
#undef KEEL_REGISTER_UNARY
KEEL_REGISTER_KERNEL(Gelu, kCuda, gelu_kernel);

KEEL_REGISTER_KERNEL(Add, kCuda, (arithmetic_kernel<Add, true>));
KEEL_REGISTER_KERNEL(Subtract, kCuda, (arithmetic_kernel<Subtract, true>));
KEEL_REGISTER_KERNEL(Multiply, kCuda, (arithmetic_kernel<Multiply, true>));
KEEL_REGISTER_KERNEL(Divide, kCuda, (arithmetic_kernel<Divide, false>));
KEEL_REGISTER_KERNEL(Maximum, kCuda, (arithmetic_kernel<Maximum, true>));
KEEL_REGISTER_KERNEL(Minimum, kCuda, (arithmetic_kernel<Minimum, true>));
KEEL_REGISTER_KERNEL(Power, kCuda, (arithmetic_kernel<Power, true>));
KEEL_REGISTER_KERNEL(Equal, kCuda, comparison_kernel<Equal>);
KEEL_REGISTER_KERNEL(NotEqual, kCuda, comparison_kernel<NotEqual>);
KEEL_REGISTER_KERNEL(Less, kCuda, comparison_kernel<Less>);
KEEL_REGISTER_KERNEL(LessEqual, kCuda, comparison_kernel<LessEqual>);
KEEL_REGISTER_KERNEL(Greater, kCuda, comparison_kernel<Greater>);
KEEL_REGISTER_KERNEL(GreaterEqual, kCuda, comparison_kernel<GreaterEqual>);
KEEL_REGISTER_KERNEL(LogicalAnd, kCuda, logical_kernel<LogicalAnd>);
KEEL_REGISTER_KERNEL(LogicalOr, kCuda, logical_kernel<LogicalOr>);
KEEL_REGISTER_KERNEL(LogicalXor, kCuda, logical_kernel<LogicalXor>);
KEEL_REGISTER_KERNEL(LogicalNot, kCuda, logical_not_kernel);
KEEL_REGISTER_KERNEL(Where, kCuda, where_kernel);
KEEL_REGISTER_KERNEL(Copy, kCuda, copy_kernel);
KEEL_REGISTER_KERNEL(Cast, kCuda, copy_kernel);

}  // namespace

void copy_on_device(const Tensor& src, const Tensor& dst) {
  KEEL_CHECK(src.shape() == dst.shape(), ShapeError, "copy: source shape ", shape_str(src.shape()),
             " differs from destination shape ", shape_str(dst.shape()));
  const Tensor in[] = {src};
  const Tensor out[] = {dst};
  const KernelArgs a{OpId::Copy, in, out};
  if (src.dtype() == dst.dtype()) {
    if (src.is_contiguous() && dst.is_contiguous()) {
      if (dst.numel() == 0) return;
      KEEL_CHECK(src.device() == dst.device(), ValueError, "copy: source on ", src.device().str(),
                 " but the destination is on ", dst.device().str());
      const int device = dst.device().index;
      set_device(device);
      KEEL_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), dst.numel() * dtype_size(dst.dtype()),
                                      cudaMemcpyDeviceToDevice, current_stream(device)));
      return;
    }
    detail::visit_bits(dst.dtype(), "copy", [&]<class B>(TypeTag<B>) { launch<B, B>(a, Identity{}); });
    return;
  }
  detail::visit_dtype<DeviceHalfTypes>(src.dtype(), [&]<class S>(TypeTag<S>) {
    detail::visit_dtype<DeviceHalfTypes>(dst.dtype(), [&]<class D>(TypeTag<D>) {
      if constexpr (!std::is_same_v<S, D>) launch<D, S>(a, CastTo<D>{});
    });
  });
}
}  // namespace keel::cuda
