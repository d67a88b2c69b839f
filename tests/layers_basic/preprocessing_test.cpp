// Rescaling: y = float32(x)·scale + offset with scalar or per-channel values, its config and errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "keel/keel.h"
#include "keel/layers/preprocessing.h"
#include "layers/layer_test_util.h"

namespace keel {
namespace {

using testing::run_layer_test;

TEST(RescalingLayer, CommonChecks) {
  run_layer_test({.layer = layers::Rescaling(2.0, {.offset = -1.0}), .input_shapes = {{3, 4}}});
  run_layer_test(
      {.layer = layers::Rescaling({0.5, 1.0, 2.0}, {.offset = {1.0, 0.0, -1.0}}), .input_shapes = {{2, 4, 3}}});
}

TEST(RescalingLayer, ScalesIntegerPixelsToFloat) {
  Tensor pixels = from_vector(std::vector<uint8_t>{0, 51, 255, 127}, {1, 4});
  Tensor y = layers::Rescaling(1.0 / 255)(pixels);
  EXPECT_EQ(y.dtype(), DType::f32);
  auto v = y.to_vector<float>();
  const std::vector<float> expected{0.0f, 0.2f, 1.0f, 127.0f / 255.0f};
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], expected[i], 1e-7f);
  // [-1, 1]: x / 127.5 - 1.
  auto w = layers::Rescaling(1.0 / 127.5, {.offset = -1.0})(pixels).to_vector<float>();
  EXPECT_NEAR(w[0], -1.0f, 1e-6f);
  EXPECT_NEAR(w[2], 1.0f, 1e-6f);
  EXPECT_NEAR(w[1], 51 / 127.5f - 1.0f, 1e-6f);
}

TEST(RescalingLayer, PerChannelValues) {
  Tensor x = from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor y = layers::Rescaling({1.0, 10.0, 100.0}, {.offset = {0.5, 0.0, -1.0}})(x);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{1.5f, 20, 299, 4.5f, 50, 599}));
  // A per-channel list that does not match the channel axis.
  EXPECT_THROW(layers::Rescaling({1.0, 2.0})(x), ShapeError);
}

TEST(RescalingLayer, ConfigMatchesKeras) {
  nlohmann::json c = layers::Rescaling(1.0 / 255)->get_config();
  EXPECT_DOUBLE_EQ(c.at("scale").get<double>(), 1.0 / 255);
  EXPECT_EQ(c.at("offset"), 0.0);
  nlohmann::json pc = layers::Rescaling({1.0, 2.0}, {.offset = -1.0})->get_config();
  EXPECT_EQ(pc.at("scale"), nlohmann::json::parse("[1.0, 2.0]"));
  EXPECT_EQ(pc.at("offset"), -1.0);
  // Keras saves numpy arrays as {"class_name": "__numpy__", "config": {"value": [...]}}.
  LayerHandle r = layers::deserialize(nlohmann::json::parse(R"({"class_name": "Rescaling", "config": {
      "name": "rescale_np", "scale": {"class_name": "__numpy__", "config": {"value": [2.0, 4.0], "dtype": "float32"}},
      "offset": 1.0}})"));
  EXPECT_EQ(r(from_vector(std::vector<float>{1, 1}, {1, 2})).to_vector<float>(), (std::vector<float>{3, 5}));
  EXPECT_THROW(layers::Rescaling(std::vector<double>{}), ValueError);
}

}  // namespace
}  // namespace keel
