// Denormal flushing around CPU kernels (backends/cpu/denormals.h): results and operands in the denormal range are
// zero while it is on, IEEE values when it is off, and the caller's floating-point flags are left as found.
#include <gtest/gtest.h>
#include <xmmintrin.h>

#include <cmath>
#include <limits>

#include "keel/keel.h"

namespace keel {
namespace {

class DenormalsTest : public ::testing::Test {
 protected:
  void TearDown() override { config::set_flush_denormals(true); }
};

TEST_F(DenormalsTest, FlushedByDefaultInCpuKernels) {
  EXPECT_TRUE(config::flush_denormals());
  const float tiny = 1e-30f;
  // 1e-30 · 1e-10 = 1e-40 is below FLT_MIN (1.18e-38): flushed to zero.
  Tensor product = from_vector(std::vector<float>(1000, tiny), {1000}, Device::cpu()) * 1e-10;
  for (float v : product.to_vector<float>()) ASSERT_EQ(v, 0.0f);
  // A denormal operand counts as zero (DAZ): 1e-40 · 1e10 is 0, not 1e-30.
  const float denormal = 1e-40f;
  ASSERT_LT(denormal, std::numeric_limits<float>::min());
  Tensor scaled = from_vector(std::vector<float>(1000, denormal), {1000}, Device::cpu()) * 1e10;
  for (float v : scaled.to_vector<float>()) ASSERT_EQ(v, 0.0f);
}

TEST_F(DenormalsTest, IeeeValuesWhenTurnedOff) {
  config::set_flush_denormals(false);
  Tensor product = from_vector(std::vector<float>(1000, 1e-30f), {1000}, Device::cpu()) * 1e-10;
  for (float v : product.to_vector<float>()) ASSERT_NEAR(v, 1e-40f, 1e-44f);
  Tensor scaled = from_vector(std::vector<float>(1000, 1e-40f), {1000}, Device::cpu()) * 1e10;
  for (float v : scaled.to_vector<float>()) ASSERT_NEAR(v, 1e-30f, 1e-35f);
}

TEST_F(DenormalsTest, LeavesTheCallersFlagsAlone) {
  // The control bits (rounding, masks, FTZ, DAZ); bits 0-5 are sticky exception flags any arithmetic sets.
  auto control = [] { return _mm_getcsr() & ~0x3Fu; };
  const unsigned before = control();
  Tensor t = from_vector(std::vector<float>{1e-30f, 2.0f}, {2}, Device::cpu()) * 1e-10;
  EXPECT_EQ(control(), before);
  // The caller's own arithmetic still sees IEEE denormals.
  volatile float a = 1e-30f, b = 1e-10f;
  EXPECT_GT(a * b, 0.0f);
}

}  // namespace
}  // namespace keel
