// Dropout: identity outside training, inverted dropout statistics while training, seeds, noise_shape,
// the rate edge cases and Keras's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/keel.h"
#include "keel/layers/regularization.h"
#include "layers/layer_test_util.h"

namespace keel {
namespace {

using testing::run_layer_test;

TEST(DropoutLayer, CommonChecks) {
  run_layer_test({.layer = layers::Dropout(0.5), .input_shapes = {{3, 4}}});
  run_layer_test({.layer = layers::Dropout(0.2, {.noise_shape = Shape{kUnknownDim, 1, kUnknownDim}, .seed = 3}),
                  .input_shapes = {{2, 3, 4}}});
}

TEST(DropoutLayer, IdentityWhenNotTraining) {
  Tensor x = random::normal({4, 7}, 0.0, 1.0, DType::f32, 5);
  auto dropout = layers::Dropout(0.9);
  EXPECT_EQ(dropout(x).to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(dropout(x, /*training=*/false).to_vector<float>(), x.to_vector<float>());
  // rate 0 is the identity even while training.
  EXPECT_EQ(layers::Dropout(0.0)(x, true).to_vector<float>(), x.to_vector<float>());
}

TEST(DropoutLayer, TrainingDropsAboutRateAndScalesTheRest) {
  const double rate = 0.3;
  Tensor x = ones({200, 500});  // 100k draws: the dropped fraction has a standard error of 0.0015
  auto y = layers::Dropout(rate, {.seed = 11})(x, true).to_vector<float>();
  int64_t zeros = 0;
  const float kept = static_cast<float>(1.0 / (1.0 - rate));
  for (float v : y) {
    if (v == 0.0f) {
      ++zeros;
    } else {
      ASSERT_FLOAT_EQ(v, kept);
    }
  }
  EXPECT_NEAR(static_cast<double>(zeros) / y.size(), rate, 0.01);
  // Inverted dropout keeps the expectation.
  double mean = 0;
  for (float v : y) mean += v;
  EXPECT_NEAR(mean / y.size(), 1.0, 0.02);
}

TEST(DropoutLayer, GradientIsTheMask) {
  Tensor x = random::normal({50, 40}, 0.0, 1.0, DType::f32, 8).requires_grad_();
  Tensor y = layers::Dropout(0.4, {.seed = 2})(x, true);
  ops::sum(y).backward();
  auto g = x.grad().to_vector<float>(), yv = y.to_vector<float>(), xv = x.detach().to_vector<float>();
  int64_t dropped = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    if (g[i] == 0.0f) {
      ++dropped;
      EXPECT_EQ(yv[i], 0.0f);
    } else {
      EXPECT_FLOAT_EQ(g[i], static_cast<float>(1.0 / 0.6));
      EXPECT_FLOAT_EQ(yv[i], xv[i] * g[i]);
    }
  }
  EXPECT_NEAR(dropped / 2000.0, 0.4, 0.05);  // 2000 draws: standard error 0.011
}

TEST(DropoutLayer, SeedMakesTheMaskSequenceReproducible) {
  Tensor x = ones({64, 64});
  auto a = layers::Dropout(0.5, {.seed = 42});
  auto b = layers::Dropout(0.5, {.seed = 42});
  auto a1 = a(x, true).to_vector<float>(), a2 = a(x, true).to_vector<float>();
  auto b1 = b(x, true).to_vector<float>(), b2 = b(x, true).to_vector<float>();
  EXPECT_EQ(a1, b1);
  EXPECT_EQ(a2, b2);
  EXPECT_NE(a1, a2) << "a seeded layer must draw a new mask on every call";
  EXPECT_NE(a1, layers::Dropout(0.5, {.seed = 43})(x, true).to_vector<float>());
  // Its first mask is ops::dropout's with the same seed.
  EXPECT_EQ(a1, ops::dropout(x, 0.5, 42).to_vector<float>());
}

TEST(DropoutLayer, UnseededMasksFollowTheGlobalSeed) {
  Tensor x = ones({32, 32});
  auto layer = layers::Dropout(0.5);
  random::set_seed(7);
  auto first = layer(x, true).to_vector<float>();
  auto second = layer(x, true).to_vector<float>();
  EXPECT_NE(first, second);
  random::set_seed(7);
  EXPECT_EQ(layer(x, true).to_vector<float>(), first);
}

TEST(DropoutLayer, NoiseShapeBroadcastsTheMask) {
  // One mask entry per (sample, channel), shared by all 10 time steps.
  const double rate = 0.5;
  auto dropout = layers::Dropout(rate, {.noise_shape = Shape{kUnknownDim, 1, kUnknownDim}, .seed = 9});
  Tensor x = ones({40, 10, 25});
  auto y = dropout(x, true).to_vector<float>();
  int64_t dropped = 0;
  for (int64_t b = 0; b < 40; ++b)
    for (int64_t c = 0; c < 25; ++c) {
      const float first = y[(b * 10) * 25 + c];
      EXPECT_TRUE(first == 0.0f || first == 2.0f) << first;
      dropped += first == 0.0f;
      for (int64_t t = 1; t < 10; ++t) ASSERT_EQ(y[(b * 10 + t) * 25 + c], first) << "b=" << b << " c=" << c;
    }
  // 1000 mask entries: standard error 0.016.
  EXPECT_NEAR(dropped / 1000.0, rate, 0.07);
}

TEST(DropoutLayer, RateOneGivesZeros) {
  Tensor x = random::normal({3, 4}, 0.0, 1.0, DType::f32, 1).requires_grad_();
  Tensor y = layers::Dropout(1.0)(x, true);
  EXPECT_EQ(y.to_vector<float>(), std::vector<float>(12, 0.0f));
  ops::sum(y).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), std::vector<float>(12, 0.0f));
  Tensor z = layers::Dropout(1.0, {.noise_shape = Shape{1, 4}})(ones({3, 4}), true);
  EXPECT_EQ(z.shape(), (Shape{3, 4}));
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(12, 0.0f));
}

TEST(DropoutLayer, InvalidRateAndNoiseShape) {
  EXPECT_THROW(layers::Dropout(-0.1), ValueError);
  try {
    layers::Dropout(1.5);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("Expected a float value between 0 and 1. Received: rate=1.5"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(layers::Dropout(0.5, {.noise_shape = Shape{0, 1}}), ValueError);
  // Wrong rank, and an extent that neither matches nor is 1.
  EXPECT_THROW(layers::Dropout(0.5, {.noise_shape = Shape{kUnknownDim, 1}})(ones({2, 3, 4}), true), ShapeError);
  EXPECT_THROW(layers::Dropout(0.5, {.noise_shape = Shape{kUnknownDim, 2}})(ones({2, 3}), true), ShapeError);
}

TEST(DropoutLayer, ConfigMatchesKeras) {
  auto d = layers::Dropout(0.25, {.noise_shape = Shape{kUnknownDim, 1, 5}, .seed = 17, .name = "drop"});
  nlohmann::json c = d->get_config();
  EXPECT_EQ(c.at("rate"), 0.25);
  EXPECT_EQ(c.at("seed"), 17);
  EXPECT_EQ(c.at("noise_shape"), nlohmann::json::parse("[null, 1, 5]"));
  EXPECT_EQ(c.at("name"), "drop");
  nlohmann::json plain = layers::Dropout(0.5)->get_config();
  EXPECT_TRUE(plain.at("seed").is_null());
  EXPECT_TRUE(plain.at("noise_shape").is_null());
  LayerHandle copy = layers::deserialize(layers::serialize(d));
  EXPECT_EQ(copy->get_config(), c);
}

}  // namespace
}  // namespace keel
