// Activation, ReLU, LeakyReLU and Softmax layers: the common layer checks, values against PyTorch and
// Keras's formulas, configs, and Keras's constructor errors.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/keel.h"
#include "keel/layers/activation_layers.h"
#include "layers/layer_test_util.h"

namespace keel {
namespace {

using testing::run_layer_test;

void expect_values(const Tensor& y, const std::vector<float>& expected, float tol = 1e-6f) {
  auto v = y.to_vector<float>();
  ASSERT_EQ(v.size(), expected.size());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], expected[i], tol) << "element " << i;
}

const Tensor& relu_probe() {
  static const Tensor x = from_vector(std::vector<float>{-3, -1, -0.5, 0, 0.25, 0.5, 1, 2, 5, 7}, {2, 5});
  return x;
}

TEST(ActivationLayer, CommonChecksAndValues) {
  run_layer_test({.layer = layers::Activation("tanh"), .input_shapes = {{3, 4}}});
  auto act = layers::Activation("relu");
  expect_values(act(relu_probe()), {0, 0, 0, 0, 0.25, 0.5, 1, 2, 5, 7});
  EXPECT_EQ(act->get_config().at("activation"), "relu");
  EXPECT_EQ(act->class_name(), "Activation");
}

TEST(ActivationLayer, UnknownActivationIsValueError) { EXPECT_THROW(layers::Activation("nope"), ValueError); }

TEST(ReLULayer, CommonChecks) {
  run_layer_test({.layer = layers::ReLU(), .input_shapes = {{3, 4}}});
  run_layer_test({.layer = layers::ReLU({.max_value = 1.0, .negative_slope = 0.1, .threshold = 0.2}),
                  .input_shapes = {{2, 3, 4}}});
}

// Reference values from PyTorch, applying Keras's formula (keras-reference §3):
//   import torch
//   x = torch.tensor([-3., -1., -0.5, 0., 0.25, 0.5, 1., 2., 5., 7.])
//   def relu(x, ns=0., mx=None, th=0.):
//       y = torch.where(x > th, x, ns * (x - th))
//       if mx is not None: y = torch.where(x >= mx, torch.tensor(mx), y)
//       return y
//   for args in [dict(), dict(mx=6.), dict(ns=0.1, th=0.5), dict(ns=0.2, mx=4., th=1.)]:
//       print(args, relu(x, **args).tolist())
TEST(ReLULayer, MatchesKerasFormula) {
  expect_values(layers::ReLU()(relu_probe()), {0, 0, 0, 0, 0.25, 0.5, 1, 2, 5, 7});
  expect_values(layers::ReLU({.max_value = 6.0})(relu_probe()), {0, 0, 0, 0, 0.25, 0.5, 1, 2, 5, 6});
  expect_values(layers::ReLU({.negative_slope = 0.1, .threshold = 0.5})(relu_probe()),
                {-0.35f, -0.15f, -0.1f, -0.05f, -0.025f, 0, 1, 2, 5, 7});
  expect_values(layers::ReLU({.max_value = 4.0, .negative_slope = 0.2, .threshold = 1.0})(relu_probe()),
                {-0.8f, -0.4f, -0.3f, -0.2f, -0.15f, -0.1f, 0, 2, 4, 4});
  // negative_slope alone is leaky_relu.
  expect_values(layers::ReLU({.negative_slope = 0.3})(relu_probe()), {-0.9f, -0.3f, -0.15f, 0, 0.25, 0.5, 1, 2, 5, 7});
}

TEST(ReLULayer, GradientFollowsThePieces) {
  // d/dx: 0 above max_value, 1 between threshold and max_value, negative_slope below the threshold.
  Tensor x = from_vector(std::vector<float>{-2, 0.5, 1.5, 3, 5}, {5}).requires_grad_();
  Tensor y = layers::ReLU({.max_value = 4.0, .negative_slope = 0.2, .threshold = 1.0})(x);
  ops::sum(y).backward();
  expect_values(x.grad(), {0.2f, 0.2f, 1, 1, 0});
}

TEST(ReLULayer, ConfigAndErrors) {
  auto relu = layers::ReLU({.max_value = 6.0, .name = "r6"});
  nlohmann::json c = relu->get_config();
  EXPECT_EQ(c.at("max_value"), 6.0);
  EXPECT_EQ(c.at("negative_slope"), 0.0);
  EXPECT_EQ(c.at("threshold"), 0.0);
  EXPECT_EQ(c.at("name"), "r6");
  EXPECT_TRUE(layers::ReLU()->get_config().at("max_value").is_null());
  EXPECT_THROW(layers::ReLU({.max_value = -1.0}), ValueError);
  EXPECT_THROW(layers::ReLU({.negative_slope = -0.1}), ValueError);
  try {
    layers::ReLU({.threshold = -1.0});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("threshold of a ReLU layer cannot be a negative value"), std::string::npos);
  }
}

// torch.nn.functional.leaky_relu(x, 0.3) on the probe above.
TEST(LeakyReLULayer, DefaultSlopeIsPointThree) {
  run_layer_test({.layer = layers::LeakyReLU(), .input_shapes = {{3, 4}}});
  auto leaky = layers::LeakyReLU();
  EXPECT_DOUBLE_EQ(leaky->negative_slope(), 0.3);
  expect_values(leaky(relu_probe()), {-0.9f, -0.3f, -0.15f, 0, 0.25, 0.5, 1, 2, 5, 7});
  expect_values(layers::LeakyReLU({.negative_slope = 0.5})(relu_probe()),
                {-1.5f, -0.5f, -0.25f, 0, 0.25, 0.5, 1, 2, 5, 7});
}

TEST(LeakyReLULayer, ConfigAndErrors) {
  EXPECT_EQ(layers::LeakyReLU({.negative_slope = 0.1})->get_config().at("negative_slope"), 0.1);
  EXPECT_THROW(layers::LeakyReLU({.negative_slope = -0.1}), ValueError);
  // Keras 2 configs name the slope "alpha".
  LayerHandle old = layers::deserialize({{"class_name", "LeakyReLU"}, {"config", {{"name", "lr"}, {"alpha", 0.2}}}});
  EXPECT_EQ(old->get_config().at("negative_slope"), 0.2);
}

// Reference from PyTorch:
//   s = (torch.sin(torch.arange(24, dtype=torch.float32) * 0.7) * 2).reshape(2, 3, 4)
//   print(torch.softmax(s, dim=1).flatten().tolist())
TEST(SoftmaxLayer, ValuesAlongAxis) {
  std::vector<float> xs(24);
  for (int i = 0; i < 24; ++i) xs[i] = std::sin(static_cast<float>(i) * 0.7f) * 2.0f;
  Tensor x = from_vector(xs, {2, 3, 4});
  expect_values(layers::Softmax({.axis = 1})(x),
                {0.3089159f, 0.7033211f, 0.6481634f, 0.4331145f, 0.6036807f, 0.0961406f, 0.0158013f, 0.0108014f,
                 0.0874035f, 0.2005383f, 0.3360354f, 0.5560841f, 0.427689f,  0.248724f,  0.1420058f, 0.0386537f,
                 0.0109227f, 0.0381632f, 0.3161039f, 0.8567728f, 0.5613883f, 0.7131129f, 0.5418903f, 0.1045734f},
                1e-5f);
  // The default axis is the last: rows sum to one.
  Tensor y = layers::Softmax()(x);
  expect_values(ops::sum(y, {-1}), std::vector<float>(6, 1.0f), 1e-5f);
}

TEST(SoftmaxLayer, CommonChecksConfigAndErrors) {
  run_layer_test({.layer = layers::Softmax(), .input_shapes = {{3, 5}}});
  run_layer_test({.layer = layers::Softmax({.axis = 1}), .input_shapes = {{2, 3, 4}}});
  EXPECT_EQ(layers::Softmax({.axis = -2})->get_config().at("axis"), -2);
  EXPECT_THROW(layers::Softmax({.axis = 3})(zeros({2, 3, 4})), ShapeError);
  EXPECT_THROW(layers::Softmax({.axis = -4})(zeros({2, 3, 4})), ShapeError);
}

TEST(ActivationLayers, AutoNamesFollowKeras) {
  EXPECT_EQ(layers::ReLU()->name().rfind("re_lu", 0), 0u);
  EXPECT_EQ(layers::LeakyReLU()->name().rfind("leaky_re_lu", 0), 0u);
  EXPECT_EQ(layers::Softmax()->name().rfind("softmax", 0), 0u);
  EXPECT_EQ(layers::Activation("relu")->name().rfind("activation", 0), 0u);
}

}  // namespace
}  // namespace keel
