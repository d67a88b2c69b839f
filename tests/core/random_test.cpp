// Philox against the published known-answer vectors, and the distributions built on it.
#include <gtest/gtest.h>

#include <cmath>

#include "keel/keel.h"

namespace keel {
namespace {

// Known-answer tests of Philox-4x32-10 from the Random123 distribution (kat_vectors).
TEST(Philox, KnownAnswers) {
  uint32_t out[4];
  Philox::generate(0, 0, 0, out);
  EXPECT_EQ(out[0], 0x6627e8d5u);
  EXPECT_EQ(out[1], 0xe169c58du);
  EXPECT_EQ(out[2], 0xbc57ac4cu);
  EXPECT_EQ(out[3], 0x9b00dbd8u);
  Philox::generate(0xffffffffffffffffULL, 0xffffffffffffffffULL, 0xffffffffffffffffULL, out);
  EXPECT_EQ(out[0], 0x408f276du);
  EXPECT_EQ(out[1], 0x41c83b0eu);
  EXPECT_EQ(out[2], 0xa20bc7c6u);
  EXPECT_EQ(out[3], 0x6d5451fdu);
  // counter (243f6a88, 85a308d3, 13198a2e, 03707344), key (a4093822, 299f31d0)
  Philox::generate(0x299f31d0a4093822ULL, 0x0370734413198a2eULL, 0x85a308d3243f6a88ULL, out);
  EXPECT_EQ(out[0], 0xd16cfe09u);
  EXPECT_EQ(out[1], 0x94fdccebu);
  EXPECT_EQ(out[2], 0x5001e420u);
  EXPECT_EQ(out[3], 0x24126ea1u);
}

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}
double std_of(const std::vector<double>& v) {
  double m = mean_of(v), s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / v.size());
}

TEST(Random, SeedMakesDrawsReproducible) {
  random::set_seed(7);
  auto a = random::normal({1000}).to_vector<float>();
  auto b = random::normal({1000}).to_vector<float>();
  random::set_seed(7);
  EXPECT_EQ(random::normal({1000}).to_vector<float>(), a);
  EXPECT_EQ(random::normal({1000}).to_vector<float>(), b);
  EXPECT_NE(a, b);
}

TEST(Random, ExplicitSeedIsStateless) {
  auto a = random::uniform({100}, 0, 1, DType::f32, 123).to_vector<float>();
  random::normal({10});  // advancing the global stream does not matter
  EXPECT_EQ(random::uniform({100}, 0, 1, DType::f32, 123).to_vector<float>(), a);
}

TEST(Random, ThreadCountDoesNotChangeValues) {
  int threads = config::get_num_threads();
  config::set_num_threads(1);
  auto a = random::normal({100000}, 0, 1, DType::f32, 9).to_vector<float>();
  config::set_num_threads(std::max(2, threads));
  auto b = random::normal({100000}, 0, 1, DType::f32, 9).to_vector<float>();
  config::set_num_threads(threads);
  EXPECT_EQ(a, b);
}

TEST(Random, DistributionMoments) {
  auto u = random::uniform({200000}, -1.0, 3.0, DType::f64, 1).to_vector<double>();
  EXPECT_NEAR(mean_of(u), 1.0, 0.02);
  EXPECT_NEAR(std_of(u), 4.0 / std::sqrt(12.0), 0.02);
  for (double x : u) ASSERT_TRUE(x >= -1.0 && x < 3.0);
  auto n = random::normal({200000}, 2.0, 0.5, DType::f64, 2).to_vector<double>();
  EXPECT_NEAR(mean_of(n), 2.0, 0.01);
  EXPECT_NEAR(std_of(n), 0.5, 0.01);
  auto t = random::truncated_normal({200000}, 0.0, 1.0, DType::f64, 3).to_vector<double>();
  for (double x : t) ASSERT_LE(std::abs(x), 2.0);
  // A standard normal truncated to [-2, 2] has standard deviation 0.8796.
  EXPECT_NEAR(std_of(t), 0.8796, 0.01);
}

TEST(Random, RejectsEmptyRangeAndIntegerDtypes) {
  EXPECT_THROW(random::uniform({2}, 1.0, 1.0), ValueError);
  EXPECT_THROW(random::normal({2}, 0, 1, DType::i32), DTypeError);
}

}  // namespace
}  // namespace keel
