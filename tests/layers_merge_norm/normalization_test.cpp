// BatchNormalization and LayerNormalization (keras-reference §2.7, §2.8, §1.3). Reference numbers come from
// Debian's PyTorch 1.13 (/usr/bin/python3); each snippet is next to the numbers it printed. Helper used:
//   def p(name, t): print(name, ", ".join("%.7g" % v for v in t.detach().reshape(-1).tolist()))
#include <gtest/gtest.h>

#include <vector>

#include "keel/keel.h"
#include "keel/layers/normalization.h"
#include "layers/layer_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using testing::expect_error;
using testing::run_layer_test;

Tensor t(std::vector<float> v, Shape s) { return from_vector(v, s); }

void expect_near(const Tensor& y, const std::vector<float>& expected, double tol = 2e-5) {
  std::vector<float> got = y.to_vector<float>();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol * (1 + std::abs(expected[i]))) << i;
}

// x = torch.tensor([[0.5,-1.0,2.0],[1.5,0.0,-2.0],[-0.5,3.0,1.0],[2.5,1.0,0.0]])
// g = torch.tensor([1.5,0.5,-1.0]); b = torch.tensor([0.1,-0.2,0.3])
const std::vector<float> kX = {0.5, -1.0, 2.0, 1.5, 0.0, -2.0, -0.5, 3.0, 1.0, 2.5, 1.0, 0.0};
const std::vector<float> kGamma = {1.5, 0.5, -1.0}, kBeta = {0.1, -0.2, 0.3};

// A built BatchNormalization on (4, 3) inputs with gamma/beta = kGamma/kBeta and the given moving stats.
layers::BatchNormalization make_bn(layers::BatchNormalizationOptions options = {}, std::vector<float> mm = {0, 0, 0},
                                   std::vector<float> mv = {1, 1, 1}) {
  layers::BatchNormalization bn(std::move(options));
  bn->build(Shape{kUnknownDim, 3});
  bn->set_weights({t(kGamma, {3}), t(kBeta, {3}), t(mm, {3}), t(mv, {3})});
  return bn;
}

TEST(BatchNormalization, RunLayerTest) {
  run_layer_test({.layer = layers::BatchNormalization(),
                  .input_shapes = {{4, 3}},
                  .weight_names = {"gamma", "beta", "moving_mean", "moving_variance"},
                  .weight_shapes = {{3}, {3}, {3}, {3}},
                  .non_trainable_weights = 2});
  run_layer_test({.layer = layers::BatchNormalization({.axis = 1, .momentum = 0.5}),
                  .input_shapes = {{2, 3, 2}},
                  .weight_names = {"gamma", "beta", "moving_mean", "moving_variance"},
                  .weight_shapes = {{3}, {3}, {3}, {3}},
                  .non_trainable_weights = 2,
                  .training = true});
  // Only the enabled parameters exist (scale=false: no gamma; center=false: no beta).
  run_layer_test({.layer = layers::BatchNormalization({.scale = false}),
                  .input_shapes = {{4, 2, 5}},
                  .weight_names = {"beta", "moving_mean", "moving_variance"},
                  .weight_shapes = {{5}, {5}, {5}},
                  .non_trainable_weights = 2});
  run_layer_test({.layer = layers::BatchNormalization({.center = false, .scale = false}),
                  .input_shapes = {{4, 5}},
                  .weight_names = {"moving_mean", "moving_variance"},
                  .non_trainable_weights = 2});
}

TEST(BatchNormalization, TrainingOutputAndGradientsMatchTorch) {
  // x.requires_grad_(); g.requires_grad_(); b.requires_grad_()
  // y = torch.nn.functional.batch_norm(x, None, None, g, b, training=True, eps=1e-3); p("train_y", y)
  // probe = torch.tensor([[1.,2,3],[-1,0.5,2],[0.3,-0.7,1],[2,1,-1]]); (y*probe).sum().backward()
  // p("dx", x.grad); p("dg", g.grad); p("db", b.grad)
  auto bn = make_bn();
  Tensor x = t(kX, {4, 3}).requires_grad_();
  Tensor y = bn(x, /*training=*/true);
  expect_near(y, {-0.5705522, -0.7914728, -0.8829455, 0.7705522, -0.4534883, 1.82093, -1.911657, 0.560465, -0.2069767,
                  2.111657, -0.1155039, 0.4689922});
  Tensor probe = t({1, 2, 3, -1, 0.5, 2, 0.3, -0.7, 1, 2, 1, -1}, {4, 3});
  ops::sum(y * probe).backward();
  expect_near(x.grad(),
              {0.7776743, 0.08803659, -0.9464645, -2.319944, -0.2181725, -0.8110236, 0.2543113, -0.02145128, 0.2703412,
               1.287959, 0.1515872, 1.487147},
              1e-4);
  expect_near(bn->gamma().value().grad(), {1.385808, -3.515038, 1.182945}, 1e-4);
  expect_near(bn->beta().value().grad(), {2.3, 2.8, 5}, 1e-5);
  EXPECT_FALSE(bn->moving_mean().value().requires_grad());
}

TEST(BatchNormalization, MovingStatisticsFollowMomentumWithBiasedVariance) {
  // m = np.zeros(3); v = np.ones(3)
  // batches = [x, x*2-1, x[::-1]**2]
  // for xb in batches: m = m*0.9 + xb.mean(0)*0.1; v = v*0.9 + xb.var(0)*0.1   # var(0) is biased
  layers::BatchNormalization bn({.momentum = 0.9});
  std::vector<Tensor> batches = {t(kX, {4, 3}), t({0, -3, 3, 2, -1, -5, -2, 5, 1, 4, 1, -1}, {4, 3}),
                                 t({6.25, 1, 0, 0.25, 9, 1, 2.25, 0, 4, 0.25, 1, 4}, {4, 3})};
  for (const Tensor& xb : batches) bn(xb, /*training=*/true);
  expect_near(bn->moving_mean().value(), {0.396, 0.38075, 0.20025}, 1e-5);
  expect_near(bn->moving_variance().value(), {1.88025, 3.012438, 2.012437}, 1e-5);
}

TEST(BatchNormalization, InferenceUsesMovingStatistics) {
  // mm = torch.tensor([0.2,-0.1,0.4]); mv = torch.tensor([1.2,0.8,2.0])
  // p("infer_y", torch.nn.functional.batch_norm(x, mm, mv, g, b, training=False, eps=1e-3))
  const std::vector<float> expected = {0.5106208,  -0.7028012, -0.8310881, 1.879357, -0.1441332, 1.996632,
                                       -0.8581153, 1.531871,   -0.124158,  3.248093, 0.4145347,  0.5827721};
  auto bn = make_bn({}, {0.2, -0.1, 0.4}, {1.2, 0.8, 2.0});
  expect_near(bn(t(kX, {4, 3})), expected);
  expect_near(bn->moving_mean().value(), {0.2, -0.1, 0.4}, 0);  // inference leaves them alone

  // A frozen layer runs in inference mode even with training=true and does not update its statistics.
  bn->set_trainable(false);
  expect_near(bn(t(kX, {4, 3}), /*training=*/true), expected);
  expect_near(bn->moving_mean().value(), {0.2, -0.1, 0.4}, 0);
  expect_near(bn->moving_variance().value(), {1.2, 0.8, 2.0}, 0);
  bn->set_trainable(true);
  bn(t(kX, {4, 3}), /*training=*/true);
  expect_near(bn->moving_mean().value(), {0.2 * 0.99 + 1.0 * 0.01, -0.1 * 0.99 + 0.75 * 0.01, 0.4 * 0.99 + 0.25 * 0.01},
              1e-6);
}

TEST(BatchNormalization, ChannelsFirstAxis) {
  // x3 = torch.arange(12, dtype=torch.float32).reshape(2,3,2)*0.5 - 2.0; x3[1,2,0] = 5.0
  // p("axis1_y", torch.nn.functional.batch_norm(x3, None, None, None, None, training=True, eps=1e-3))
  std::vector<float> x3;
  for (int i = 0; i < 12; ++i) x3.push_back(i * 0.5f - 2.0f);
  x3[10] = 5.0f;
  layers::BatchNormalization bn({.axis = 1, .center = false, .scale = false});
  expect_near(bn(t(x3, {2, 3, 2}), true), {-1.150544, -0.8218173, -1.150544, -0.8218173, -1.083347, -0.8426033,
                                           0.8218173, 1.150544, 0.8218173, 1.150544, 1.324091, 0.6018595});
  EXPECT_EQ(bn->moving_mean().shape(), (Shape{3}));
}

TEST(BatchNormalization, ConfigAndSymbolic) {
  layers::BatchNormalization bn({.axis = 1, .momentum = 0.9, .epsilon = 1e-5, .center = false, .name = "bn_cfg"});
  nlohmann::json c = bn->get_config();
  EXPECT_EQ(c.at("axis"), 1);
  EXPECT_DOUBLE_EQ(c.at("momentum").get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(c.at("epsilon").get<double>(), 1e-5);
  EXPECT_EQ(c.at("center"), false);
  EXPECT_EQ(c.at("scale"), true);
  EXPECT_EQ(c.at("synchronized"), false);
  EXPECT_EQ(c.at("gamma_initializer").at("class_name"), "Ones");
  EXPECT_EQ(c.at("moving_variance_initializer").at("class_name"), "Ones");
  SymbolicTensor y = bn(layers::Input({3, 8}));
  EXPECT_EQ(y.shape, (Shape{kUnknownDim, 3, 8}));
  EXPECT_EQ(bn->count_params(), 9);  // gamma, moving_mean, moving_variance of 3 channels
}

TEST(BatchNormalization, Errors) {
  expect_error<ValueError>(
      [] {
        layers::BatchNormalization({.axis = 2, .name = "bn_axis"})(t({1, 2}, {1, 2}));
      },
      {"bn_axis", "axis 2", "(None, 2)"});
  auto bn = layers::BatchNormalization({.name = "bn_spec"});
  bn(t({1, 2, 3}, {1, 3}));
  expect_error<ShapeError>([&] { bn(t({1, 2, 3, 4}, {1, 4})); }, {"bn_spec", "axis -1", "3", "(1, 4)"});
  expect_error<ShapeError>([&] { bn(t({1, 2, 3, 4, 5, 6}, {1, 2, 3})); }, {"bn_spec", "ndim=2", "(1, 2, 3)"});
  expect_error<ShapeError>([] { layers::BatchNormalization()(layers::Input({kUnknownDim})); }, {"must be known"});
}

// --- LayerNormalization ---

// x (2,3,4) used by the LayerNormalization comparisons:
// x = torch.tensor([[[0.5,-1.0,2.0,0.0],[1.5,0.0,-2.0,1.0],[-0.5,3.0,1.0,2.0]],
//                   [[2.5,1.0,0.0,-1.0],[0.3,0.2,0.1,0.4],[1.0,-3.0,2.0,5.0]]])
const std::vector<float> kX3 = {0.5, -1.0, 2.0, 0.0,  1.5, 0.0, -2.0, 1.0, -0.5, 3.0,  1.0, 2.0,
                                2.5, 1.0,  0.0, -1.0, 0.3, 0.2, 0.1,  0.4, 1.0,  -3.0, 2.0, 5.0};

TEST(LayerNormalization, RunLayerTest) {
  run_layer_test({.layer = layers::LayerNormalization(),
                  .input_shapes = {{2, 3, 4}},
                  .weight_names = {"gamma", "beta"},
                  .weight_shapes = {{4}, {4}}});
  run_layer_test({.layer = layers::LayerNormalization({.axis = {1, 2}}),
                  .input_shapes = {{2, 3, 4}},
                  .weight_names = {"gamma", "beta"},
                  .weight_shapes = {{3, 4}, {3, 4}}});
  run_layer_test({.layer = layers::LayerNormalization({.axis = 1, .center = false}),
                  .input_shapes = {{2, 3, 4}},
                  .weight_names = {"gamma"},
                  .weight_shapes = {{3}}});
}

TEST(LayerNormalization, LastAxisMatchesTorch) {
  // g = torch.tensor([1.5,0.5,-1.0,2.0]); b = torch.tensor([0.1,-0.2,0.3,0.0])
  // p("ln_last", torch.nn.functional.layer_norm(x, (4,), g, b, eps=1e-3))
  layers::LayerNormalization ln;
  ln->build(Shape{kUnknownDim, 3, 4});
  ln->set_weights({t({1.5, 0.5, -1.0, 2.0}, {4}), t({0.1, -0.2, 0.3, 0.0}, {4})});
  expect_near(ln(t(kX3, {2, 3, 4})),
              {0.2731312, -0.8348145, -1.200471, -0.6925249, 1.638205,    -0.2466123,  1.884817,  1.305144,
               -2.074507, 0.4281909,  0.5899342, 0.9664476,  2.274507,    -0.05503289, 0.7832238, -2.512764,
               0.7454973, -0.4151657, 1.590994,  2.581989,   -0.03104759, -0.9426031,  0.0379048, 2.620952},
              5e-5);
}

TEST(LayerNormalization, SeveralTrailingAxesMatchTorch) {
  // g12 = torch.linspace(0.5, 1.6, 12).reshape(3,4); b12 = torch.linspace(-0.3, 0.8, 12).reshape(3,4)
  // p("ln_12", torch.nn.functional.layer_norm(x, (3,4), g12, b12, eps=1e-3))
  std::vector<float> g, b;
  for (int i = 0; i < 12; ++i) {
    g.push_back(0.5f + 0.1f * i);
    b.push_back(-0.3f + 0.1f * i);
  }
  layers::LayerNormalization ln({.axis = {-2, -1}});
  ln->build(Shape{kUnknownDim, 3, 4});
  ln->set_weights({t(g, {3, 4}), t(b, {3, 4})});
  expect_near(ln(t(kX3, {2, 3, 4})),
              {-0.3460814,  -0.9188691,  0.6096528,   -0.3686508, 0.680625,  -0.2608135, -1.828958,  0.7317857,
               -0.5783037,  3.051528,    1.114732,    2.422064,   0.1814803, -0.1059434, -0.3664937, -0.7345374,
               -0.09751885, -0.07321203, -0.05965452, 0.2011375,  0.7037894, -2.190346,  1.741341,   4.490602},
              5e-5);
}

TEST(LayerNormalization, NonTrailingAxis) {
  // g3 = torch.tensor([2.0,-1.0,0.5]); b3 = torch.tensor([0.0,1.0,-1.0])
  // m = x.mean(1, keepdim=True); v = x.var(1, unbiased=False, keepdim=True)
  // p("ln_axis1", (x-m)/torch.sqrt(v+1e-3)*g3.reshape(1,3,1) + b3.reshape(1,3,1))
  layers::LayerNormalization ln({.axis = 1});
  Tensor x = t(kX3, {2, 3, 4}).requires_grad_();
  ln->build(Shape{kUnknownDim, 3, 4});
  ln->set_weights({t({2.0, -1.0, 0.5}, {3}), t({0.0, 1.0, -1.0}, {3})});
  Tensor y = ln(x);
  expect_near(y, {0,         -1.960822,  1.960822,   -2.447655,  -0.2238274, 1.392164,  2.372575,   1,
                  -1.611914, -0.3137123, -0.8039178, -0.3880863, 2.686207,   1.85133,   -1.520602,  -1.924693,
                  2.052703,  0.5371674,  1.651686,   1.41615,    -1.1452,    -1.694249, -0.2940063, -0.3107519},
              5e-5);
  // x.requires_grad_(); (recompute y); w = torch.arange(24, dtype=torch.float32).reshape(2,3,4)*0.1 - 1.0
  // (y*w).sum().backward(); p("ln_axis1_dx", x.grad)
  std::vector<float> w;
  for (int i = 0; i < 24; ++i) w.push_back(i * 0.1f - 1.0f);
  ops::sum(y * t(w, {2, 3, 4})).backward();
  expect_near(x.grad(),
              {-1.835741,  -0.5057656, -0.2987892, -0.3990727, 0.9185121,  0.6741812,  -0.09935217, 0.7954878,
               0.9172289,  -0.1684156, 0.3981413,  -0.396415,  -0.1723837, 0.3553575,  0.860971,    0.331178,
               -0.3711276, -0.4442526, -0.9067574, -0.4319814, 0.5435112,  0.08889503, 0.04578638,  0.1008035},
              2e-4);
}

TEST(LayerNormalization, ConfigKeepsAxisForm) {
  layers::LayerNormalization single({.epsilon = 1e-5});
  EXPECT_EQ(single->get_config().at("axis"), -1);
  EXPECT_DOUBLE_EQ(single->get_config().at("epsilon").get<double>(), 1e-5);
  EXPECT_EQ(single->get_config().at("rms_scaling"), false);
  layers::LayerNormalization list({.axis = {1, 2}, .scale = false, .name = "ln_list"});
  EXPECT_EQ(list->get_config().at("axis"), nlohmann::json::array({1, 2}));
  LayerHandle copy = layers::deserialize(layers::serialize(list));
  EXPECT_EQ(copy->get_config().dump(), list->get_config().dump());
  nlohmann::json rms = layers::serialize(single);
  rms["config"]["rms_scaling"] = true;
  expect_error<UnimplementedError>([&] { layers::deserialize(rms); }, {"rms_scaling"});
}

TEST(LayerNormalization, Errors) {
  expect_error<ValueError>(
      [] {
        layers::LayerNormalization({.axis = 3, .name = "ln_oob"})(t(kX3, {2, 3, 4}));
      },
      {"ln_oob", "axis 3", "rank 3"});
  expect_error<ValueError>([] { layers::LayerNormalization({.axis = {2, -1}})(t(kX3, {2, 3, 4})); }, {"twice"});
  auto ln = layers::LayerNormalization({.name = "ln_spec"});
  ln(t(kX3, {2, 3, 4}));
  expect_error<ShapeError>([&] { ln(t(kX3, {2, 4, 3})); }, {"ln_spec", "axis -1", "4", "(2, 4, 3)"});
}

}  // namespace
}  // namespace keel
