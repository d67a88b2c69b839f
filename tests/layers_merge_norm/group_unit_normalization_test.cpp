// GroupNormalization, UnitNormalization, Maximum and Minimum: the layer contract, values against PyTorch
// (tests/layers_merge_norm/group_unit_normalization_reference.py) and errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "keel/keel.h"
#include "layers/layer_test_util.h"
#include "layers_rnn/rnn_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using testing::expect_values;
using testing::pattern;
using testing::run_layer_test;

TEST(GroupNormalization, LayerContract) {
  run_layer_test({.layer = layers::GroupNormalization({.groups = 3}),
                  .input_shapes = {{2, 3, 6}},
                  .weight_names = {"gamma", "beta"},
                  .weight_shapes = {{6}, {6}}});
  run_layer_test({.layer = layers::GroupNormalization({.groups = 2, .axis = 1, .scale = false}),
                  .input_shapes = {{2, 4, 3, 3}},
                  .weight_names = {"beta"},
                  .weight_shapes = {{4}}});
  run_layer_test({.layer = layers::GroupNormalization({.groups = -1}),
                  .input_shapes = {{2, 5, 4}},
                  .weight_names = {"gamma", "beta"},
                  .weight_shapes = {{4}, {4}}});
}

TEST(GroupNormalization, MatchesPyTorch) {
  auto gn = layers::GroupNormalization({.groups = 3});
  const Tensor x = pattern({2, 2, 3, 6}, 0.3);
  gn(x);
  gn->set_weights({pattern({6}, 1.0), pattern({6}, 2.0)});
  expect_values(
      gn(x), {2, 2, 3, 6},
      {0.634201f,  0.808393f,  0.341755f,  -0.389450f, -0.513489f, 0.074560f,  -0.123822f, -0.402017f, -0.304725f,
       -0.400056f, -0.863654f, -1.032906f, 0.852994f,  0.235304f,  -0.423647f, -0.437723f, -0.116494f, -0.100860f,
       0.653227f,  0.820807f,  0.339438f,  -0.390184f, -0.498936f, 0.092714f,  -0.127713f, -0.390613f, -0.289862f,
       -0.399130f, -0.871103f, -1.029136f, 0.837782f,  0.211707f,  -0.435904f, -0.437898f, -0.123743f, -0.122712f,
       0.671935f,  0.832335f,  0.336410f,  -0.390951f, -0.484348f, 0.110506f,  -0.130844f, -0.378429f, -0.275012f,
       -0.398227f, -0.878177f, -1.024687f, 0.822006f,  0.188070f,  -0.448015f, -0.438052f, -0.131312f, -0.144734f,
       0.690495f,  0.843369f,  0.333040f,  -0.391726f, -0.469801f, 0.127646f,  -0.133406f, -0.365665f, -0.259799f,
       -0.397325f, -0.884770f, -1.019382f, 0.805958f,  0.164520f,  -0.459563f, -0.438161f, -0.139395f, -0.167076f},
      "channels_last", 1e-4);
  auto first = layers::GroupNormalization({.groups = 2, .axis = 1, .center = false, .scale = false});
  expect_values(first(pattern({2, 4, 5}, 0.8) * 3.0), {2, 4, 5},
                {0.912320f,  1.309563f,  1.041559f,  0.234353f, -0.732412f, -1.404053f, -1.464685f, -0.885793f,
                 0.060361f,  0.928787f,  1.218897f,  0.946852f, 0.164129f,  -0.761145f, -1.393799f, -1.436286f,
                 -0.868624f, 0.042208f,  0.867830f,  1.219939f, 0.995939f,  0.177715f,  -0.777077f, -1.419384f,
                 -1.447119f, -0.847238f, 0.098127f,  0.944354f, 1.293451f,  0.981231f,  0.254802f,  -0.751885f,
                 -1.417947f, -1.430124f, -0.782691f, 0.219857f, 1.106004f,  1.458982f,  1.112780f,  0.230222f},
                "channels_first", 1e-4);
}

TEST(GroupNormalization, ConfigAndErrors) {
  const nlohmann::json c = layers::GroupNormalization({.groups = 4, .epsilon = 1e-5})->get_config();
  EXPECT_EQ(c.at("groups"), 4);
  EXPECT_EQ(c.at("axis"), -1);
  EXPECT_EQ(c.at("epsilon"), 1e-5);
  EXPECT_EQ(c.at("gamma_initializer").at("class_name"), "Ones");
  using testing::expect_error;
  expect_error<ValueError>(
      [] {
        layers::GroupNormalization({.groups = 4})(zeros({2, 3, 6}));
      },
      "Number of groups (4) must be a multiple of the number of channels (6)");
  expect_error<ValueError>(
      [] {
        layers::GroupNormalization({.groups = 8})(zeros({2, 3, 6}));
      },
      "Number of groups (8) cannot be more than the number of channels (6)");
  expect_error<ValueError>([] { layers::GroupNormalization({.groups = 0}); }, "groups", "0");
}

TEST(UnitNormalization, MatchesPyTorch) {
  run_layer_test({.layer = layers::UnitNormalization(), .input_shapes = {{2, 3, 4}}});
  const Tensor x = pattern({2, 3, 4}, 0.1);
  expect_values(layers::UnitNormalization()(x), {2, 3, 4},
                {0.067721f,  0.486611f,  0.676640f, 0.548435f, 0.168671f, -0.311978f, -0.645899f, -0.676043f,
                 -0.405385f, 0.085797f,  0.536627f, 0.735073f, 0.603925f, 0.168580f,  -0.346051f, -0.697929f,
                 -0.718309f, -0.404002f, 0.100314f, 0.557451f, 0.727705f, 0.574011f,  0.150351f,  -0.344021f},
                "axis -1");
  expect_values(layers::UnitNormalization({.axis = {1, 2}})(x), {2, 3, 4},
                {0.040654f,  0.292118f,  0.406194f, 0.329231f, 0.097426f, -0.180201f, -0.373076f, -0.390488f,
                 -0.224247f, 0.047460f,  0.296847f, 0.406621f, 0.343682f, 0.095936f,  -0.196931f, -0.397178f,
                 -0.410626f, -0.230950f, 0.057345f, 0.318670f, 0.430120f, 0.339277f,  0.088867f,  -0.203338f},
                "axis [1, 2]");
  // An all-zero row stays zero (Keras's epsilon 1e-12 caps the inverse norm).
  EXPECT_EQ(layers::UnitNormalization()(zeros({1, 3})).to_vector<float>(), std::vector<float>(3, 0.0f));
  EXPECT_EQ(layers::UnitNormalization({.axis = {1, 2}})->get_config().at("axis"), nlohmann::json({1, 2}));
  EXPECT_EQ(layers::UnitNormalization()->get_config().at("axis"), -1);
}

TEST(MaximumMinimum, ElementwiseOverInputs) {
  run_layer_test({.layer = layers::Maximum(), .input_shapes = {{2, 3}, {2, 3}}});
  run_layer_test({.layer = layers::Minimum(), .input_shapes = {{2, 3}, {2, 3}, {2, 3}}});
  const Tensor a = pattern({2, 3}, 0.0), b = pattern({2, 3}, 1.0), c = pattern({2, 3}, 2.0);
  const std::vector<float> va = a.to_vector<float>(), vb = b.to_vector<float>(), vc = c.to_vector<float>();
  std::vector<float> hi, lo;
  for (size_t i = 0; i < va.size(); ++i) {
    hi.push_back(std::max({va[i], vb[i], vc[i]}));
    lo.push_back(std::min({va[i], vb[i], vc[i]}));
  }
  EXPECT_EQ(layers::Maximum()(std::vector<Tensor>{a, b, c})[0].to_vector<float>(), hi);
  EXPECT_EQ(layers::Minimum()(std::vector<Tensor>{a, b, c})[0].to_vector<float>(), lo);
  EXPECT_EQ(layers::Maximum()->class_name(), "Maximum");
}

// Dot against sums written out: out[b, i, j] = Σ_k x1[b, .., k, ..] · x2[b, .., k, ..].
TEST(Dot, BatchedDotProducts) {
  run_layer_test({.layer = layers::Dot(2), .input_shapes = {{2, 3, 4}, {2, 5, 4}}});
  run_layer_test({.layer = layers::Dot({1, 1}), .input_shapes = {{2, 3, 4}, {2, 3, 5}}});
  run_layer_test({.layer = layers::Dot(-1, {.normalize = true}), .input_shapes = {{2, 4}, {2, 4}}});
  const Tensor x1 = pattern({2, 3, 4}, 0.2), x2 = pattern({2, 5, 4}, 1.1), x3 = pattern({2, 3, 5}, 2.3);
  const std::vector<float> a = x1.to_vector<float>(), b = x2.to_vector<float>(), c = x3.to_vector<float>();
  // axes 2: (2, 3, 4) . (2, 5, 4) -> (2, 3, 5)
  const std::vector<float> y = layers::Dot(2)(std::vector<Tensor>{x1, x2})[0].to_vector<float>();
  ASSERT_EQ(y.size(), 30u);
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 5; ++j) {
        double sum = 0;
        for (int k = 0; k < 4; ++k) sum += a[(n * 3 + i) * 4 + k] * b[(n * 5 + j) * 4 + k];
        EXPECT_NEAR(y[(n * 3 + i) * 5 + j], sum, 1e-6);
      }
  // axes (1, 1): (2, 3, 4) . (2, 3, 5) -> (2, 4, 5)
  const Tensor z = layers::Dot({1, 1})(std::vector<Tensor>{x1, x3})[0];
  ASSERT_EQ(z.shape(), (Shape{2, 4, 5}));
  const std::vector<float> zv = z.to_vector<float>();
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 5; ++j) {
        double sum = 0;
        for (int k = 0; k < 3; ++k) sum += a[(n * 3 + k) * 4 + i] * c[(n * 3 + k) * 5 + j];
        EXPECT_NEAR(zv[(n * 4 + i) * 5 + j], sum, 1e-6);
      }
  // normalize: the cosine of two vectors, shape (B, 1)
  const Tensor u = from_vector<float>({3, 4, 1, 0}, {2, 2}), v = from_vector<float>({4, 3, 0, 2}, {2, 2});
  const Tensor cos = layers::Dot(1, {.normalize = true})(std::vector<Tensor>{u, v})[0];
  ASSERT_EQ(cos.shape(), (Shape{2, 1}));
  EXPECT_NEAR(cos.to_vector<float>()[0], 24.0 / 25.0, 1e-6);
  EXPECT_NEAR(cos.to_vector<float>()[1], 0.0, 1e-6);
}

TEST(Dot, ConfigAndErrors) {
  EXPECT_EQ(layers::Dot({1, 2})->get_config().at("axes"), nlohmann::json({1, 2}));
  EXPECT_EQ(layers::Dot(-1)->get_config().at("axes"), -1);
  EXPECT_EQ(layers::Dot(1, {.normalize = true})->get_config().at("normalize"), true);
  using testing::expect_error;
  expect_error<ValueError>(
      [] {
        layers::Dot(2)(std::vector<Tensor>{zeros({2, 3, 4}), zeros({2, 3, 5})});
      },
      "Incompatible input shapes: axis values 4 (at axis 2) != 5 (at axis 2)");
  expect_error<ValueError>(
      [] {
        layers::Dot(0)(std::vector<Tensor>{zeros({2, 3}), zeros({2, 3})});
      },
      "axis 0", "non-batch");
}

}  // namespace
}  // namespace keel
