// CUDA kernels of the elementwise ops: unary math and activations, clip, the broadcasting binary ops,
// comparisons, logic, where, and copy/cast. One grid-stride kernel serves them all: it maps each output
// position to the element offsets of every operand (OffsetCalculator: any rank, any strides, broadcasting
// as stride 0) and applies a functor. Dtype rules are the CPU kernels' (src/backends/cpu/elementwise_*.cpp):
// the glue has converted operands to one compute dtype; float16/bfloat16 load as float, compute in float
// and round back, exactly as the CPU's run_half_as_float32 does.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <array>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/strided_index.cuh"
#include "ops/broadcast.h"
#include "ops/dispatch.h"
#include "ops/elementwise_attrs.h"

namespace keel::cuda {
namespace {

constexpr int kThreads = 256;

// --- storage types: the C++ type a DType's elements are stored as on the device ---

template <class T>
struct Tag {
  using type = T;
};

template <class F>
void visit_storage(DType dt, F&& fn) {
  switch (dt) {
    case DType::f32:
      return fn(Tag<float>{});
    case DType::f64:
      return fn(Tag<double>{});
    case DType::f16:
      return fn(Tag<__half>{});
    case DType::bf16:
      return fn(Tag<__nv_bfloat16>{});
    case DType::i32:
      return fn(Tag<int32_t>{});
    case DType::i64:
      return fn(Tag<int64_t>{});
    case DType::u8:
      return fn(Tag<uint8_t>{});
    case DType::b8:
      return fn(Tag<bool>{});
  }
  throw DTypeError("CUDA elementwise kernels: unknown dtype");
}

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

// --- device math: float calls the float functions, double the double ones ---
namespace dm {
__device__ inline float exp(float x) { return ::expf(x); }
__device__ inline double exp(double x) { return ::exp(x); }
__device__ inline float expm1(float x) { return ::expm1f(x); }
__device__ inline double expm1(double x) { return ::expm1(x); }
__device__ inline float log(float x) { return ::logf(x); }
__device__ inline double log(double x) { return ::log(x); }
__device__ inline float log1p(float x) { return ::log1pf(x); }
__device__ inline double log1p(double x) { return ::log1p(x); }
__device__ inline float sqrt(float x) { return ::sqrtf(x); }
__device__ inline double sqrt(double x) { return ::sqrt(x); }
__device__ inline float sin(float x) { return ::sinf(x); }
__device__ inline double sin(double x) { return ::sin(x); }
__device__ inline float cos(float x) { return ::cosf(x); }
__device__ inline double cos(double x) { return ::cos(x); }
__device__ inline float tanh(float x) { return ::tanhf(x); }
__device__ inline double tanh(double x) { return ::tanh(x); }
__device__ inline float erf(float x) { return ::erff(x); }
__device__ inline double erf(double x) { return ::erf(x); }
__device__ inline float abs(float x) { return ::fabsf(x); }
__device__ inline double abs(double x) { return ::fabs(x); }
__device__ inline float pow(float a, float b) { return ::powf(a, b); }
__device__ inline double pow(double a, double b) { return ::pow(a, b); }
}  // namespace dm

// --- unary functors (T is the compute type: float, double, or an integer type where the op allows) ---
struct Neg {
  template <class T>
  __device__ T operator()(T x) const {
    return static_cast<T>(-x);
  }
};
struct Abs {
  template <class T>
  __device__ T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>)
      return x;
    else
      return x < T(0) ? static_cast<T>(-x) : x;
  }
};
// 0 for 0 (keeping -0.0), NaN for NaN.
struct Sign {
  template <class T>
  __device__ T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>)
      return x > T(0) ? T(1) : T(0);
    else
      return x > T(0) ? T(1) : x < T(0) ? static_cast<T>(-1) : x;
  }
};
struct Square {
  template <class T>
  __device__ T operator()(T x) const {
    return static_cast<T>(x * x);
  }
};
struct Exp {
  template <class T>
  __device__ T operator()(T x) const {
    return dm::exp(x);
  }
};
struct Log {
  template <class T>
  __device__ T operator()(T x) const {
    return dm::log(x);
  }
};
struct Log1p {
  template <class T>
  __device__ T operator()(T x) const {
    return dm::log1p(x);
  }
};
struct Expm1 {
  template <class T>
  __device__ T operator()(T x) const {
    return dm::expm1(x);
  }
};
struct Sqrt {
  template <class T>
  __device__ T operator()(T x) const {
    return dm::sqrt(x);
  }
};
// 1/sqrt(x) as the CPU computes it (rsqrtf is an approximation).
struct Rsqrt {
  template <class T>
  __device__ T operator()(T x) const {
    return T(1) / dm::sqrt(x);
  }
};
struct Sin {
  template <class T>
  __device__ T operator()(T x) const {
    return dm::sin(x);
  }
};
struct Cos {
  template <class T>
  __device__ T operator()(T x) const {
    return dm::cos(x);
  }
};
struct Tanh {
  template <class T>
  __device__ T operator()(T x) const {
    return dm::tanh(x);
  }
};
struct Erf {
  template <class T>
  __device__ T operator()(T x) const {
    return dm::erf(x);
  }
};
// 1/(1+e^-x) never overflows to NaN: e^-x = inf gives 0, as it should.
struct Sigmoid {
  template <class T>
  __device__ T operator()(T x) const {
    return T(1) / (T(1) + dm::exp(-x));
  }
};
// NaN stays NaN.
struct Relu {
  template <class T>
  __device__ T operator()(T x) const {
    return x < T(0) ? T(0) : x;
  }
};
struct Softplus {
  template <class T>
  __device__ T operator()(T x) const {
    return dm::log1p(dm::exp(-dm::abs(x))) + (x > T(0) ? x : T(0));
  }
};
struct LeakyRelu {
  explicit LeakyRelu(const KernelArgs& a) : slope(a.get<LeakyReluAttrs>().negative_slope) {}
  double slope;
  template <class T>
  __device__ T operator()(T x) const {
    return x > T(0) ? x : static_cast<T>(slope) * x;
  }
};
struct Elu {
  explicit Elu(const KernelArgs& a) : alpha(a.get<EluAttrs>().alpha) {}
  double alpha;
  template <class T>
  __device__ T operator()(T x) const {
    return x > T(0) ? x : static_cast<T>(alpha) * dm::expm1(x);
  }
};
// x/2·(1 + tanh(u)) written as x / (1 + e^(-2u)): the same value without 1 + tanh(u) cancelling for x < 0.
struct GeluTanh {
  template <class T>
  __device__ T operator()(T x) const {
    const T k = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
    const T u = k * (x + static_cast<T>(0.044715) * x * x * x);
    return x / (T(1) + dm::exp(T(-2) * u));
  }
};
struct GeluErf {
  template <class T>
  __device__ T operator()(T x) const {
    return T(0.5) * x * (T(1) + dm::erf(x * static_cast<T>(0.7071067811865476)));  // 1/sqrt(2)
  }
};
// x < lo ? lo : x, then > hi ? hi : that. NaN stays NaN; lo > hi gives hi (NumPy). Integers clamp in
// double so fractional bounds behave as they do for floats before truncation.
struct Clip {
  explicit Clip(const KernelArgs& a) : lo(a.get<ClipAttrs>().lo), hi(a.get<ClipAttrs>().hi) {}
  double lo, hi;
  template <class T>
  __device__ T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) {
      const T l = static_cast<T>(lo), h = static_cast<T>(hi);
      const T t = x < l ? l : x;
      return t > h ? h : t;
    } else {
      const double v = static_cast<double>(x);
      const double t = v < lo ? lo : v;
      return static_cast<T>(t > hi ? hi : t);
    }
  }
};

template <class Op>
Op make_op(const KernelArgs& a) {
  if constexpr (std::is_constructible_v<Op, const KernelArgs&>)
    return Op(a);
  else
    return Op{};
}

// Same dtype in and out: the floating dtypes, plus int32/int64/uint8 when kInts (never bool).
template <class Op, bool kInts>
void unary_kernel(const KernelArgs& a) {
  const Op op = make_op<Op>(a);
  const DType dt = a.out[0].dtype();
  visit_storage(dt, [&]<class T>(Tag<T>) {
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

// --- binary arithmetic (T is the operand and result type) ---
struct Add {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return static_cast<T>(a + b);
  }
};
struct Subtract {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return static_cast<T>(a - b);
  }
};
struct Multiply {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return static_cast<T>(a * b);
  }
};
struct Divide {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a / b;
  }
};
// NaN in either operand gives NaN (like torch.maximum / numpy.maximum).
struct Maximum {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a != a ? a : (a > b ? a : b);
  }
};
struct Minimum {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a != a ? a : (a < b ? a : b);
  }
};
// Integers: exact repeated squaring (wrapping like NumPy); a negative exponent gives 1/a truncated.
struct Power {
  template <class T>
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      return dm::pow(a, b);
    } else {
      const int64_t base = static_cast<int64_t>(a);
      int64_t e = static_cast<int64_t>(b);
      if (e < 0) return static_cast<T>(base == 1 ? 1 : base == -1 ? (e % 2 ? -1 : 1) : 0);
      uint64_t r = 1, x = static_cast<uint64_t>(base);
      for (; e > 0; e >>= 1, x *= x)
        if (e & 1) r *= x;
      return static_cast<T>(static_cast<int64_t>(r));
    }
  }
};

// --- comparisons (bool result) ---
struct Equal {
  template <class T>
  __device__ bool operator()(T a, T b) const {
    return a == b;
  }
};
struct NotEqual {
  template <class T>
  __device__ bool operator()(T a, T b) const {
    return a != b;
  }
};
struct Less {
  template <class T>
  __device__ bool operator()(T a, T b) const {
    return a < b;
  }
};
struct LessEqual {
  template <class T>
  __device__ bool operator()(T a, T b) const {
    return a <= b;
  }
};
struct Greater {
  template <class T>
  __device__ bool operator()(T a, T b) const {
    return a > b;
  }
};
struct GreaterEqual {
  template <class T>
  __device__ bool operator()(T a, T b) const {
    return a >= b;
  }
};

// kInts: also int32/int64/uint8/bool.
template <class Op, bool kInts>
void arithmetic_kernel(const KernelArgs& a) {
  const DType dt = a.out[0].dtype();
  visit_storage(dt, [&]<class T>(Tag<T>) {
    if constexpr (kIsFloat<T> || kInts)
      launch<T, T, T>(a, Op{});
    else
      throw_dtype(a, dt);
  });
}

template <class Op>
void comparison_kernel(const KernelArgs& a) {
  visit_storage(a.in[0].dtype(), [&]<class T>(Tag<T>) { launch<bool, T, T>(a, Op{}); });
}

// --- logic: the glue converts operands to bool, whose bytes are 0 or 1 ---
struct LogicalAnd {
  __device__ bool operator()(bool x, bool y) const { return x & y; }
};
struct LogicalOr {
  __device__ bool operator()(bool x, bool y) const { return x | y; }
};
struct LogicalXor {
  __device__ bool operator()(bool x, bool y) const { return x != y; }
};
struct LogicalNot {
  __device__ bool operator()(bool x) const { return !x; }
};
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

template <class F>
void visit_bits(DType dt, std::string_view what, F&& fn) {
  switch (dtype_size(dt)) {
    case 1:
      return fn(Tag<uint8_t>{});
    case 2:
      return fn(Tag<uint16_t>{});
    case 4:
      return fn(Tag<uint32_t>{});
    case 8:
      return fn(Tag<uint64_t>{});
  }
  throw DTypeError(detail::cat(what, ": unsupported dtype ", dtype_name(dt)));
}

void where_kernel(const KernelArgs& a) {
  visit_bits(a.out[0].dtype(), "where", [&]<class B>(Tag<B>) { launch<B, uint8_t, B, B>(a, Select{}); });
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

// Copy and Cast share one body, like the CPU's: any source strides, any destination strides.
void copy_kernel(const KernelArgs& a) {
  const Tensor& src = a.in[0];
  const Tensor& dst = a.out[0];
  KEEL_CHECK(src.shape() == dst.shape(), ShapeError, op_name(a.op), ": source shape ", shape_str(src.shape()),
             " differs from destination shape ", shape_str(dst.shape()));
  if (src.dtype() == dst.dtype()) {
    if (src.is_contiguous() && dst.is_contiguous()) {
      if (dst.numel() == 0) return;
      KEEL_CHECK(src.device() == dst.device(), ValueError, op_name(a.op), ": source on ", src.device().str(),
                 " but the destination is on ", dst.device().str());
      const int device = dst.device().index;
      set_device(device);
      KEEL_CUDA_CHECK(cudaMemcpyAsync(dst.data_ptr(), src.data_ptr(), dst.numel() * dtype_size(dst.dtype()),
                                      cudaMemcpyDeviceToDevice, current_stream(device)));
      return;
    }
    visit_bits(dst.dtype(), op_name(a.op), [&]<class B>(Tag<B>) { launch<B, B>(a, Identity{}); });
    return;
  }
  visit_storage(src.dtype(), [&]<class S>(Tag<S>) {
    visit_storage(dst.dtype(), [&]<class D>(Tag<D>) {
      if constexpr (!std::is_same_v<S, D>) launch<D, S>(a, CastTo<D>{});
    });
  });
}

KEEL_REGISTER_KERNEL(Neg, kCuda, (unary_kernel<Neg, true>));
KEEL_REGISTER_KERNEL(Abs, kCuda, (unary_kernel<Abs, true>));
KEEL_REGISTER_KERNEL(Sign, kCuda, (unary_kernel<Sign, true>));
KEEL_REGISTER_KERNEL(Square, kCuda, (unary_kernel<Square, true>));
KEEL_REGISTER_KERNEL(Exp, kCuda, (unary_kernel<Exp, false>));
KEEL_REGISTER_KERNEL(Log, kCuda, (unary_kernel<Log, false>));
KEEL_REGISTER_KERNEL(Log1p, kCuda, (unary_kernel<Log1p, false>));
KEEL_REGISTER_KERNEL(Expm1, kCuda, (unary_kernel<Expm1, false>));
KEEL_REGISTER_KERNEL(Sqrt, kCuda, (unary_kernel<Sqrt, false>));
KEEL_REGISTER_KERNEL(Rsqrt, kCuda, (unary_kernel<Rsqrt, false>));
KEEL_REGISTER_KERNEL(Sin, kCuda, (unary_kernel<Sin, false>));
KEEL_REGISTER_KERNEL(Cos, kCuda, (unary_kernel<Cos, false>));
KEEL_REGISTER_KERNEL(Tanh, kCuda, (unary_kernel<Tanh, false>));
KEEL_REGISTER_KERNEL(Erf, kCuda, (unary_kernel<Erf, false>));
KEEL_REGISTER_KERNEL(Sigmoid, kCuda, (unary_kernel<Sigmoid, false>));
KEEL_REGISTER_KERNEL(Relu, kCuda, (unary_kernel<Relu, false>));
KEEL_REGISTER_KERNEL(Softplus, kCuda, (unary_kernel<Softplus, false>));
KEEL_REGISTER_KERNEL(LeakyRelu, kCuda, (unary_kernel<LeakyRelu, false>));
KEEL_REGISTER_KERNEL(Elu, kCuda, (unary_kernel<Elu, false>));
KEEL_REGISTER_KERNEL(Gelu, kCuda, gelu_kernel);
KEEL_REGISTER_KERNEL(Clip, kCuda, (unary_kernel<Clip, true>));

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
}  // namespace keel::cuda
