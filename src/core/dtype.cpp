// DType names, sizes, promotion and the float16/bfloat16 conversions.
#include "keel/core/dtype.h"

#include <array>
#include <bit>
#include <string>

#include "keel/core/error.h"

namespace keel {

namespace {
constexpr std::array<std::string_view, kNumDTypes> kNames = {"float32", "float64", "float16", "bfloat16",
                                                             "int32",   "int64",   "uint8",   "bool"};
constexpr std::array<size_t, kNumDTypes> kSizes = {4, 8, 2, 2, 4, 8, 1, 1};
// Promotion rank: a higher rank wins; f16 and bf16 share a rank and meet at f32.
constexpr std::array<int, kNumDTypes> kRank = {5, 6, 4, 4, 2, 3, 1, 0};
}  // namespace

size_t dtype_size(DType t) { return kSizes[static_cast<int>(t)]; }
std::string_view dtype_name(DType t) { return kNames[static_cast<int>(t)]; }

DType dtype_from_name(std::string_view name) {
  for (int i = 0; i < kNumDTypes; ++i)
    if (kNames[i] == name) return static_cast<DType>(i);
  std::string valid;
  for (auto n : kNames) valid += (valid.empty() ? "" : ", ") + std::string(n);
  throw ValueError(detail::cat("Invalid dtype '", name, "'. Expected one of: ", valid));
}

bool is_floating(DType t) { return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16; }
bool is_integral(DType t) { return t == DType::i32 || t == DType::i64 || t == DType::u8; }

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if ((a == DType::f16 && b == DType::bf16) || (a == DType::bf16 && b == DType::f16)) return DType::f32;
  return kRank[static_cast<int>(a)] >= kRank[static_cast<int>(b)] ? a : b;
}

std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

float half_to_float(Half h) { return static_cast<float>(std::bit_cast<_Float16>(h.bits)); }
Half float_to_half(float f) { return Half{std::bit_cast<uint16_t>(static_cast<_Float16>(f))}; }

float bf16_to_float(BFloat16 h) { return std::bit_cast<float>(static_cast<uint32_t>(h.bits) << 16); }
BFloat16 float_to_bf16(float f) {
  uint32_t u = std::bit_cast<uint32_t>(f);
  if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu) != 0)  // NaN: keep it quiet, never round to inf
    return BFloat16{static_cast<uint16_t>((u >> 16) | 0x0040u)};
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);  // round half to even
  return BFloat16{static_cast<uint16_t>((u + rounding) >> 16)};
}

}  // namespace keel
