// visit_dtype: calls a generic lambda with a value of the C++ type that matches a DType, so one
// templated kernel body serves every dtype. Internal to Keel (backends use it too).
#pragma once
#include <cstdint>
#include <string_view>

#include "keel/core/dtype.h"
#include "keel/core/error.h"

namespace keel::detail {

template <class T> struct TypeTag { using type = T; };

/// The C++ types a backend stores 16-bit floats as: Keel's Half/BFloat16 on the host. The CUDA backend
/// passes its own (__half, __nv_bfloat16) so that one dispatch serves both.
struct HostHalfTypes {
  using f16 = Half;
  using bf16 = BFloat16;
};

/// fn(TypeTag<T>{}) for the C++ type T of `dt`.
template <class HalfTypes = HostHalfTypes, class F>
decltype(auto) visit_dtype(DType dt, F&& fn) {
  switch (dt) {
    case DType::f32: return fn(TypeTag<float>{});
    case DType::f64: return fn(TypeTag<double>{});
    case DType::f16: return fn(TypeTag<typename HalfTypes::f16>{});
    case DType::bf16: return fn(TypeTag<typename HalfTypes::bf16>{});
    case DType::i32: return fn(TypeTag<int32_t>{});
    case DType::i64: return fn(TypeTag<int64_t>{});
    case DType::u8: return fn(TypeTag<uint8_t>{});
    case DType::b8: return fn(TypeTag<bool>{});
  }
  throw DTypeError("visit_dtype: unknown dtype");
}

/// fn(TypeTag<U>{}) for the unsigned integer type U of `dt`'s element size: one instantiation per size
/// serves every dtype in kernels that only move elements (copies, where, padding, transposes).
template <class F>
decltype(auto) visit_bits(DType dt, std::string_view op, F&& fn) {
  switch (dtype_size(dt)) {
    case 1: return fn(TypeTag<uint8_t>{});
    case 2: return fn(TypeTag<uint16_t>{});
    case 4: return fn(TypeTag<uint32_t>{});
    case 8: return fn(TypeTag<uint64_t>{});
  }
  throw DTypeError(cat(op, ": unexpected element size of dtype ", dtype_name(dt)));
}

/// fn(TypeTag<I>{}) for the integer dtypes that index tensors and sparse labels may have (int32, int64,
/// uint8); any other is a DTypeError "<what> must be int32, int64 or uint8, got <dtype>".
template <class F>
decltype(auto) visit_index(DType dt, std::string_view what, F&& fn) {
  switch (dt) {
    case DType::i32: return fn(TypeTag<int32_t>{});
    case DType::i64: return fn(TypeTag<int64_t>{});
    case DType::u8: return fn(TypeTag<uint8_t>{});
    default: break;
  }
  throw DTypeError(cat(what, " must be int32, int64 or uint8, got ", dtype_name(dt)));
}

/// Like visit_dtype, but only float32/float64; other dtypes raise DTypeError naming `op`.
template <class F>
decltype(auto) visit_float(DType dt, std::string_view op, F&& fn) {
  if (dt == DType::f32) return fn(TypeTag<float>{});
  if (dt == DType::f64) return fn(TypeTag<double>{});
  throw DTypeError(cat(op, ": unsupported dtype ", dtype_name(dt), " (expected float32 or float64)"));
}

/// Conversions through double that also understand the 16-bit float storage types.
template <class T> inline double to_double(T v) { return static_cast<double>(v); }
template <> inline double to_double(Half v) { return half_to_float(v); }
template <> inline double to_double(BFloat16 v) { return bf16_to_float(v); }
template <class T> inline T from_double(double v) { return static_cast<T>(v); }
template <> inline bool from_double(double v) { return v != 0.0; }
template <> inline Half from_double(double v) { return float_to_half(static_cast<float>(v)); }
template <> inline BFloat16 from_double(double v) { return float_to_bf16(static_cast<float>(v)); }

}  // namespace keel::detail
