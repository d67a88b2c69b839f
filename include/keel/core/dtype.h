// DType: the element types a Tensor can hold, their sizes and names, and the promotion rule
// used by binary ops (NumPy/Keras-like: bool < uint8 < int32 < int64 < float16/bfloat16 < float32 < float64).
#pragma once
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string_view>

namespace keel {

enum class DType : uint8_t { f32, f64, f16, bf16, i32, i64, u8, b8 };
inline constexpr int kNumDTypes = 8;

/// Size of one element in bytes.
size_t dtype_size(DType t);
/// Keras/NumPy name: "float32", "float64", "float16", "bfloat16", "int32", "int64", "uint8", "bool".
std::string_view dtype_name(DType t);
/// Parses a Keras dtype name; throws ValueError listing the valid names.
DType dtype_from_name(std::string_view name);
bool is_floating(DType t);
bool is_integral(DType t);  // int32, int64, uint8 (not bool)
/// The dtype of `a op b` for arithmetic ops (float16 with bfloat16 gives float32).
DType promote_types(DType a, DType b);

std::ostream& operator<<(std::ostream& os, DType t);

/// Storage types of the two 16-bit floats: conversions only; compute happens in float32.
struct Half { uint16_t bits; };
struct BFloat16 { uint16_t bits; };
float half_to_float(Half h);
Half float_to_half(float f);  // round to nearest even
float bf16_to_float(BFloat16 h);
BFloat16 float_to_bf16(float f);  // round to nearest even, NaN stays NaN

/// Maps a C++ type to its DType (float, double, Half, BFloat16, int32_t, int64_t, uint8_t, bool).
template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::f32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::f64; };
template <> struct dtype_of<Half> { static constexpr DType value = DType::f16; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::bf16; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::i32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::i64; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = DType::u8; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::b8; };
template <class T> inline constexpr DType dtype_of_v = dtype_of<T>::value;
/// The C++ types that are the elements of a DType: what from_vector, to_vector and item accept.
template <class T>
concept TensorElement = requires { dtype_of<T>::value; };

}  // namespace keel
