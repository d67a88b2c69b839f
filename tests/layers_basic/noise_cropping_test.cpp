// SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, Cropping1D/2D and Identity: the layer contract,
// what each draws or keeps (checked element by element or by the noise's statistics), configs and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>

#include "keel/keel.h"
#include "layers/layer_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using testing::run_layer_test;

Tensor iota(const Shape& shape) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  std::iota(v.begin(), v.end(), 0.0f);
  return from_vector(v, shape);
}

double mean_of(const std::vector<float>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }

double std_of(const std::vector<float>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (float x : v) s += (x - m) * (x - m);
  return std::sqrt(s / v.size());
}

TEST(SpatialDropout, DropsWholeChannels) {
  run_layer_test({.layer = layers::SpatialDropout1D(0.3), .input_shapes = {{2, 4, 3}}});
  run_layer_test({.layer = layers::SpatialDropout2D(0.3), .input_shapes = {{2, 3, 4, 3}}});
  run_layer_test(
      {.layer = layers::SpatialDropout3D(0.3, {.data_format = "channels_first"}), .input_shapes = {{2, 3, 2, 2, 2}}});
  const int64_t B = 4, H = 5, W = 6, C = 8;
  const Tensor y = layers::SpatialDropout2D(0.5, {.seed = 1})(ones({B, H, W, C}), true);
  const std::vector<float> v = y.to_vector<float>();
  int dropped = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c) {
      const float first = v[static_cast<size_t>(b * H * W * C + c)];
      EXPECT_TRUE(first == 0.0f || first == 2.0f) << first;
      dropped += first == 0.0f;
      for (int64_t p = 0; p < H * W; ++p) ASSERT_EQ(v[static_cast<size_t>((b * H * W + p) * C + c)], first);
    }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, B * C);
  // channels_first: one draw per (sample, channel) on axis 1
  const std::vector<float> f =
      layers::SpatialDropout2D(0.5, {.data_format = "channels_first", .seed = 2})(ones({B, C, H, W}), true)
          .to_vector<float>();
  for (int64_t bc = 0; bc < B * C; ++bc)
    for (int64_t p = 0; p < H * W; ++p)
      ASSERT_EQ(f[static_cast<size_t>(bc * H * W + p)], f[static_cast<size_t>(bc * H * W)]);
  // 1D: (B, T, C), shared over the steps
  const std::vector<float> s = layers::SpatialDropout1D(0.5, {.seed = 3})(ones({B, 7, C}), true).to_vector<float>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < 7; ++t)
      for (int64_t c = 0; c < C; ++c)
        ASSERT_EQ(s[static_cast<size_t>((b * 7 + t) * C + c)], s[static_cast<size_t>(b * 7 * C + c)]);
  // inference: the identity
  const Tensor x = iota({2, 3, 4});
  EXPECT_EQ(layers::SpatialDropout1D(0.5)(x).to_vector<float>(), x.to_vector<float>());
}

TEST(SpatialDropout, ConfigAndErrors) {
  const nlohmann::json c = layers::SpatialDropout2D(0.25, {.data_format = "channels_first", .seed = 4})->get_config();
  EXPECT_EQ(c.at("rate"), 0.25);
  EXPECT_EQ(c.at("seed"), 4);
  EXPECT_EQ(c.at("data_format"), "channels_first");
  EXPECT_FALSE(c.contains("noise_shape"));
  EXPECT_EQ(layers::SpatialDropout1D(0.25)->class_name(), "SpatialDropout1D");
  EXPECT_FALSE(layers::SpatialDropout1D(0.25)->get_config().contains("data_format"));
  using testing::expect_error;
  expect_error<ValueError>([] { layers::SpatialDropout1D(1.5); }, "rate", "1.5");
  expect_error<ValueError>([] { layers::SpatialDropout1D(0.5, {.data_format = "channels_first"}); }, "SpatialDropout1D",
                           "channels_last");
  expect_error<ValueError>([] { layers::SpatialDropout2D(0.5)(ones({2, 3, 4}), true); }, "ndim=4", "ndim=3");
}

TEST(GaussianNoise, AddsNoiseOnlyWhileTraining) {
  run_layer_test({.layer = layers::GaussianNoise(0.1), .input_shapes = {{2, 5}}});
  const Tensor x = zeros({200, 100});
  EXPECT_EQ(layers::GaussianNoise(0.5)(x).to_vector<float>(), x.to_vector<float>());
  const std::vector<float> v = layers::GaussianNoise(0.5, {.seed = 7})(x, true).to_vector<float>();
  EXPECT_NEAR(mean_of(v), 0.0, 0.02);
  EXPECT_NEAR(std_of(v), 0.5, 0.01);
  // Seeded: the same sequence of draws from a fresh layer, a new draw each call.
  auto a = layers::GaussianNoise(1.0, {.seed = 3}), b = layers::GaussianNoise(1.0, {.seed = 3});
  const Tensor small = zeros({4});
  const std::vector<float> a1 = a(small, true).to_vector<float>(), a2 = a(small, true).to_vector<float>();
  EXPECT_EQ(a1, b(small, true).to_vector<float>());
  EXPECT_NE(a1, a2);
  const nlohmann::json c = a->get_config();
  EXPECT_EQ(c.at("stddev"), 1.0);
  EXPECT_EQ(c.at("seed"), 3);
  testing::expect_error<ValueError>([] { layers::GaussianNoise(-1.0); }, "stddev", "-1");
}

TEST(GaussianDropout, MultipliesByUnitMeanNoiseWhileTraining) {
  run_layer_test({.layer = layers::GaussianDropout(0.2), .input_shapes = {{2, 5}}});
  const Tensor x = ones({200, 100});
  EXPECT_EQ(layers::GaussianDropout(0.5)(x).to_vector<float>(), x.to_vector<float>());
  const std::vector<float> v = layers::GaussianDropout(0.2, {.seed = 5})(x * 2.0, true).to_vector<float>();
  EXPECT_NEAR(mean_of(v), 2.0, 0.02);
  EXPECT_NEAR(std_of(v), 2.0 * std::sqrt(0.2 / 0.8), 0.02);  // x · N(1, rate / (1 - rate))
  EXPECT_EQ(layers::GaussianDropout(0.2)->get_config().at("rate"), 0.2);
  testing::expect_error<ValueError>([] { layers::GaussianDropout(1.0); }, "rate", "1");
}

TEST(Cropping1D, RemovesStepsAtBothEnds) {
  run_layer_test({.layer = layers::Cropping1D({1, 2}), .input_shapes = {{2, 6, 3}}});
  const Tensor x = iota({2, 6, 3});
  const Tensor y = layers::Cropping1D({1, 2})(x);
  ASSERT_EQ(y.shape(), (Shape{2, 3, 3}));
  const std::vector<float> v = y.to_vector<float>();
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t c = 0; c < 3; ++c)
        EXPECT_EQ(v[static_cast<size_t>((b * 3 + t) * 3 + c)], static_cast<float>((b * 6 + t + 1) * 3 + c));
  EXPECT_EQ(layers::Cropping1D(2)(x).shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(layers::Cropping1D({1, 2})->get_config().at("cropping"), nlohmann::json({1, 2}));
  testing::expect_error<ValueError>(
      [&] {
        layers::Cropping1D({3, 3})(x);
      },
      "`cropping` parameter of `Cropping1D` layer must be smaller than the input size", "(3, 3)");
}

TEST(Cropping2D, RemovesRowsAndColumns) {
  run_layer_test({.layer = layers::Cropping2D({{1, 0}, {0, 2}}), .input_shapes = {{2, 4, 5, 3}}});
  run_layer_test({.layer = layers::Cropping2D(1, {.data_format = "channels_first"}), .input_shapes = {{2, 3, 4, 5}}});
  const Tensor x = iota({1, 4, 5, 2});
  const Tensor y = layers::Cropping2D({{1, 0}, {0, 2}})(x);
  ASSERT_EQ(y.shape(), (Shape{1, 3, 3, 2}));
  const std::vector<float> v = y.to_vector<float>();
  for (int64_t h = 0; h < 3; ++h)
    for (int64_t w = 0; w < 3; ++w)
      for (int64_t c = 0; c < 2; ++c)
        EXPECT_EQ(v[static_cast<size_t>((h * 3 + w) * 2 + c)], static_cast<float>(((h + 1) * 5 + w) * 2 + c));
  const Tensor cf = layers::Cropping2D({1, 2}, {.data_format = "channels_first"})(iota({1, 2, 4, 6}));
  ASSERT_EQ(cf.shape(), (Shape{1, 2, 2, 2}));
  EXPECT_EQ(cf.to_vector<float>(), (std::vector<float>{8, 9, 14, 15, 32, 33, 38, 39}));
  const nlohmann::json c = layers::Cropping2D({{1, 0}, {0, 2}})->get_config();
  EXPECT_EQ(c.at("cropping"), nlohmann::json({{1, 0}, {0, 2}}));
  EXPECT_EQ(c.at("data_format"), "channels_last");
  testing::expect_error<ValueError>([&] { layers::Cropping2D({{2, 2}, {0, 0}})(x); }, "Cropping2D", "((2, 2), (0, 0))");
}

TEST(ZeroPadding1D, PadsStepsWithZeros) {
  run_layer_test({.layer = layers::ZeroPadding1D({2, 1}), .input_shapes = {{2, 3, 2}}});
  const Tensor y = layers::ZeroPadding1D({2, 1})(iota({1, 2, 2}));
  ASSERT_EQ(y.shape(), (Shape{1, 5, 2}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 0, 0, 0, 0, 1, 2, 3, 0, 0}));
  EXPECT_EQ(layers::ZeroPadding1D(1)->get_config().at("padding"), nlohmann::json({1, 1}));
}

TEST(UpSampling1D, RepeatsEachStep) {
  run_layer_test({.layer = layers::UpSampling1D(3), .input_shapes = {{2, 3, 2}}});
  const Tensor y = layers::UpSampling1D(2)(iota({1, 3, 2}));
  ASSERT_EQ(y.shape(), (Shape{1, 6, 2}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5}));
  EXPECT_EQ(layers::UpSampling1D(3)->get_config().at("size"), 3);
}

// Keras's AlphaDropout keeps zero-mean, unit-variance inputs at zero mean and unit variance.
TEST(AlphaDropout, KeepsSelfNormalisingStatistics) {
  run_layer_test({.layer = layers::AlphaDropout(0.2), .input_shapes = {{2, 5}}});
  const Tensor x = random::normal({400, 100}, 0.0, 1.0, DType::f32, 9);
  EXPECT_EQ(layers::AlphaDropout(0.3)(x).to_vector<float>(), x.to_vector<float>());
  const std::vector<float> v = layers::AlphaDropout(0.3, {.seed = 2})(x, true).to_vector<float>();
  EXPECT_NEAR(mean_of(v), 0.0, 0.02);
  EXPECT_NEAR(std_of(v), 1.0, 0.02);
  // A dropped element becomes a·(-alpha·scale) + b, the same value everywhere.
  const double alpha_p = -1.6732632423543772 * 1.0507009873554805;
  const double a = std::pow(0.7 * (1 + 0.3 * alpha_p * alpha_p), -0.5), b = -a * alpha_p * 0.3;
  const std::vector<float> z = layers::AlphaDropout(0.3, {.seed = 4})(zeros({1000}), true).to_vector<float>();
  int dropped = 0;
  for (float e : z) {
    if (std::abs(e - (a * alpha_p + b)) < 1e-5)
      ++dropped;
    else
      EXPECT_NEAR(e, b, 1e-5);  // kept zeros become b
  }
  EXPECT_NEAR(dropped, 300, 60);
  EXPECT_EQ(layers::AlphaDropout(0.3)->class_name(), "AlphaDropout");
  testing::expect_error<ValueError>([] { layers::AlphaDropout(1.0); }, "rate", "1");
}

TEST(Identity, PassesInputAndMask) {
  run_layer_test({.layer = layers::Identity(), .input_shapes = {{2, 3}}});
  const Tensor x = iota({2, 3});
  const Tensor m = from_vector<bool>({true, false}, {2});
  const MaskedOutputs out = layers::Identity()->call_with_masks({x}, {m});
  EXPECT_EQ(out.outputs[0].to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(out.masks[0].to_vector<bool>(), m.to_vector<bool>());
}

}  // namespace
}  // namespace keel
