// DType names, promotion and 16-bit float conversions.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "keel/keel.h"

namespace keel {
namespace {

TEST(DType, NamesRoundTrip) {
  for (DType t : {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i32, DType::i64, DType::u8, DType::b8})
    EXPECT_EQ(dtype_from_name(dtype_name(t)), t);
  EXPECT_EQ(dtype_size(DType::bf16), 2u);
  EXPECT_EQ(dtype_size(DType::i64), 8u);
}

TEST(DType, UnknownNameListsValidOnes) {
  try {
    dtype_from_name("float8");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("float8"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("bfloat16"), std::string::npos);
  }
}

TEST(DType, Promotion) {
  EXPECT_EQ(promote_types(DType::i32, DType::f32), DType::f32);
  EXPECT_EQ(promote_types(DType::f32, DType::f64), DType::f64);
  EXPECT_EQ(promote_types(DType::f16, DType::bf16), DType::f32);
  EXPECT_EQ(promote_types(DType::b8, DType::u8), DType::u8);
  EXPECT_EQ(promote_types(DType::i32, DType::i64), DType::i64);
  EXPECT_EQ(promote_types(DType::f16, DType::i64), DType::f16);
}

TEST(DType, HalfConversionRoundsToNearestEven) {
  EXPECT_EQ(half_to_float(float_to_half(1.0f)), 1.0f);
  EXPECT_EQ(float_to_half(1.0f).bits, 0x3c00);
  EXPECT_EQ(float_to_half(65504.0f).bits, 0x7bff);          // largest half
  EXPECT_EQ(float_to_half(1e6f).bits, 0x7c00);              // overflow to inf
  EXPECT_EQ(float_to_half(1.0f + 1.0f / 2048).bits, 0x3c00);  // halfway: ties to even (down)
  EXPECT_EQ(float_to_half(1.0f + 3.0f / 2048).bits, 0x3c02);  // halfway: ties to even (up)
  EXPECT_NEAR(half_to_float(float_to_half(0.1f)), 0.1f, 1e-4);
}

TEST(DType, BFloat16ConversionRoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f).bits, 0x3f80);
  EXPECT_EQ(bf16_to_float(BFloat16{0x3f80}), 1.0f);
  EXPECT_EQ(float_to_bf16(1.0f + 1.0f / 256).bits, 0x3f80);  // tie, even stays
  EXPECT_EQ(float_to_bf16(1.0f + 3.0f / 256).bits, 0x3f82);  // tie, rounds up to even
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(bf16_to_float(float_to_bf16(std::numeric_limits<float>::infinity()))));
}

}  // namespace
}  // namespace keel
