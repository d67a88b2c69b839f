// visit_dtype: calls a generic lambda with a value of the C++ type that matches a DType, so one
// templated kernel body serves every dtype. Internal to Keel (backends use it too).
#pragma once
#include <cstdint>

#include "keel/core/dtype.h"
#include "keel/core/error.h"

namespace keel::detail {

template <class T> struct TypeTag { using type = T; };

/// fn(TypeTag<T>{}) for the C++ type T of `dt`.
template <class F>
decltype(auto) visit_dtype(DType dt, F&& fn) {
  switch (dt) {
    case DType::f32: return fn(TypeTag<float>{});
    case DType::f64: return fn(TypeTag<double>{});
    case DType::f16: return fn(TypeTag<Half>{});
    case DType::bf16: return fn(TypeTag<BFloat16>{});
    case DType::i32: return fn(TypeTag<int32_t>{});
    case DType::i64: return fn(TypeTag<int64_t>{});
    case DType::u8: return fn(TypeTag<uint8_t>{});
    case DType::b8: return fn(TypeTag<bool>{});
  }
  throw DTypeError("visit_dtype: unknown dtype");
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
