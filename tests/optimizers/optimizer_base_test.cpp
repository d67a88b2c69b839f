// The machinery every optimizer shares (keras-reference §5.1): clipping, weight decay, EMA, the learning
// rate and its schedule, variables() order, missing gradients, copies, and argument errors.
//
// Expected values from numpy (/usr/bin/python3), same W0, W1, B0, B1, S as update_rules_test.cpp:
//   n = lambda g: np.sqrt((g * g).sum())
//   clipnorm=1, one SGD(lr=1) step:   [W0 - B0 / max(n(B0), 1), W1 - B1 / max(n(B1), 1)]
//   global_clipnorm=2:                G = np.sqrt(n(B0)**2 + n(B1)**2); [W - B * 2 * min(1 / G, 1 / 2) ...]
//   clipvalue=0.4:                    [W0 - np.clip(B0, -.4, .4), W1 - np.clip(B1, -.4, .4)]
//   weight decay 0.1, SGD lr 0.1, two steps (exclude: skip the decay of W1):
//       for s in S[:2]: for each w, b: w = w - w * 0.1 * 0.1; w = w - 0.1 * b * s
//   EMA, SGD lr 0.1, ema_momentum 0.9, three steps (freq: overwrite w with avg when (k + 1) % freq == 0):
//       for k, s in enumerate(S): w = w - 0.1 * b * s; m = 0 if k == 0 else 0.9
//                                 avg = w if k == 0 else m * avg + (1 - m) * w
//   SGD with ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5):  W - sum(0.1 * 0.5**k * B * s for k, s in
//   enumerate(S))
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <type_traits>

#include "optimizers/optimizer_test_util.h"

namespace keel::optimizers {
namespace {

using testing::expect_values;
using testing::gradients;
using testing::make_variables;
using testing::run_steps;

TEST(OptimizerBase, ClipNormPerTensor) {
  SGD opt({.learning_rate = 1.0, .clipnorm = 1.0});
  expect_values(run_steps(opt, 1),
                {{0.783069542, -1.56613908, 2.89153477, -0.367721831}, {0.296116135, 0.2, -1.28058068}});
}

TEST(OptimizerBase, ClipNormLeavesSmallGradientsAlone) {
  SGD opt({.learning_rate = 1.0, .clipnorm = 10.0});
  expect_values(run_steps(opt, 1), {{0.5, -1.0, 2.75, -1.5}, {0.4, 0.2, -1.8}});
}

TEST(OptimizerBase, GlobalClipNorm) {
  SGD opt({.learning_rate = 1.0, .global_clipnorm = 2.0});
  expect_values(run_steps(opt, 1),
                {{0.638508299, -1.2770166, 2.81925415, -0.945966802}, {0.31689502, 0.2, -1.3844751}});
}

TEST(OptimizerBase, GlobalClipNormOfAnInfiniteGradientGivesNaN) {
  // Keras: scale = c·min(1/G, 1/c) + (G − G), NaN when G is infinite.
  SGD opt({.learning_rate = 1.0, .global_clipnorm = 2.0});
  std::vector<Variable> vars = make_variables();
  std::vector<Tensor> grads = gradients(0);
  grads[1] = from_vector(std::vector<float>{INFINITY, 0.0f, 0.0f}, {3});
  opt.apply(grads, vars);
  for (float x : vars[0].value().to_vector<float>()) EXPECT_TRUE(std::isnan(x));
}

TEST(OptimizerBase, ClipValue) {
  SGD opt({.learning_rate = 1.0, .clipvalue = 0.4});
  expect_values(run_steps(opt, 1), {{0.6, -1.6, 2.75, 0.1}, {0.4, 0.2, -0.7}});
}

TEST(OptimizerBase, AtMostOneClipOption) {
  EXPECT_THROW(SGD({.clipnorm = 1.0, .clipvalue = 1.0}), ValueError);
  EXPECT_THROW(Adam({.clipnorm = 1.0, .global_clipnorm = 1.0}), ValueError);
  try {
    RMSprop({.clipvalue = 0.5, .global_clipnorm = 1.0});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("only one of `clipnorm`, `clipvalue` and `global_clipnorm`"),
              std::string::npos)
        << e.what();
  }
}

TEST(OptimizerBase, WeightDecayUsesTheLearningRate) {
  SGD opt({.learning_rate = 0.1, .weight_decay = 0.1});
  expect_values(run_steps(opt, 2), {{0.9556, -1.9112, 2.92805, 0.39205}, {0.11271, 0.19602, -0.36753}});
}

TEST(OptimizerBase, ExcludeFromWeightDecayByName) {
  SGD opt({.learning_rate = 0.1, .weight_decay = 0.1});
  opt.exclude_from_weight_decay({}, {"bi.s"});  // a regex searched in the variable's name
  expect_values(run_steps(opt, 2), {{0.9556, -1.9112, 2.92805, 0.39205}, {0.115, 0.2, -0.375}});
}

TEST(OptimizerBase, ExcludeFromWeightDecayByVariableAndOnlyBeforeBuild) {
  SGD opt({.learning_rate = 0.1, .weight_decay = 0.1});
  std::vector<Variable> vars = make_variables();
  opt.exclude_from_weight_decay({vars[1]});
  for (size_t k = 0; k < 2; ++k) opt.apply(gradients(k), vars);
  expect_values({vars[0].value().to_vector<float>(), vars[1].value().to_vector<float>()},
                {{0.9556, -1.9112, 2.92805, 0.39205}, {0.115, 0.2, -0.375}});
  EXPECT_THROW(opt.exclude_from_weight_decay({}, {"kernel"}), ValueError);
}

TEST(OptimizerBase, EmaAveragesAndFinalize) {
  SGD opt({.learning_rate = 0.1, .use_ema = true, .ema_momentum = 0.9});
  std::vector<Variable> vars = make_variables();
  for (size_t k = 0; k < 3; ++k) opt.apply(gradients(k), vars);
  // The weights follow plain SGD; the averages live in the optimizer until finalize.
  expect_values({vars[0].value().to_vector<float>(), vars[1].value().to_vector<float>()},
                {{0.875, -1.75, 2.9375, 0}, {0.175, 0.2, -0.675}});
  opt.finalize_variable_values(vars);
  expect_values({vars[0].value().to_vector<float>(), vars[1].value().to_vector<float>()},
                {{0.94475, -1.8895, 2.972375, 0.279}, {0.13315, 0.2, -0.46575}});
}

TEST(OptimizerBase, EmaOverwriteFrequency) {
  SGD opt({.learning_rate = 0.1, .use_ema = true, .ema_momentum = 0.9, .ema_overwrite_frequency = 2});
  expect_values(run_steps(opt), {{0.8525, -1.705, 2.92625, -0.09}, {0.1885, 0.2, -0.7425}});
}

TEST(OptimizerBase, EmaArgumentsAreChecked) {
  EXPECT_THROW(SGD({.use_ema = true, .ema_momentum = 1.5}), ValueError);
  EXPECT_THROW(SGD({.use_ema = true, .ema_overwrite_frequency = 0}), ValueError);
}

TEST(OptimizerBase, ScheduleIsEvaluatedAtTheStepBeforeIncrement) {
  SGD opt({.learning_rate =
               schedules::ExponentialDecay({.initial_learning_rate = 0.1, .decay_steps = 1, .decay_rate = 0.5})});
  EXPECT_TRUE(opt.has_schedule());
  std::vector<Variable> vars = make_variables();
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_NEAR(opt.learning_rate(), 0.1 * std::pow(0.5, static_cast<double>(k)), 1e-12);
    opt.apply(gradients(k), vars);
  }
  expect_values({vars[0].value().to_vector<float>(), vars[1].value().to_vector<float>()},
                {{0.9375, -1.875, 2.96875, 0.25}, {0.1375, 0.2, -0.4875}});
}

TEST(OptimizerBase, SetLearningRate) {
  SGD opt({.learning_rate = 0.5});
  opt.set_learning_rate(0.1);
  EXPECT_NEAR(opt.learning_rate(), 0.1, 1e-8);
  expect_values(run_steps(opt), {{0.875, -1.75, 2.9375, 0}, {0.175, 0.2, -0.675}});
}

TEST(OptimizerBase, SetLearningRateWithAScheduleIsAnError) {
  Adam opt({.learning_rate =
                schedules::InverseTimeDecay({.initial_learning_rate = 0.1, .decay_steps = 10, .decay_rate = 0.5})});
  EXPECT_THROW(opt.set_learning_rate(0.01), ValueError);
}

TEST(OptimizerBase, VariablesOrderForAdam) {
  Adam opt;
  EXPECT_FALSE(opt.built());
  ASSERT_EQ(opt.variables().size(), 2u);  // iteration, learning_rate
  std::vector<Variable> vars = make_variables();
  vars[0].set_path("dense/kernel");
  vars[1].set_path("dense/bias");
  opt.build(vars);
  EXPECT_TRUE(opt.built());
  const auto& v = opt.variables();
  ASSERT_EQ(v.size(), 2u + 2u * vars.size());
  const std::vector<std::string> names = {
      "iteration",           "learning_rate",      "dense_kernel_momentum", "dense_kernel_velocity",
      "dense_bias_momentum", "dense_bias_velocity"};
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(v[i].name(), names[i]);
    EXPECT_EQ(v[i].path(), "adam/" + names[i]);
    EXPECT_FALSE(v[i].trainable());
  }
  EXPECT_EQ(v[0].dtype(), DType::i64);
  EXPECT_EQ(v[1].dtype(), DType::f32);
  EXPECT_EQ(v[2].shape(), (Shape{2, 2}));
  EXPECT_EQ(v[5].shape(), (Shape{3}));
  // build() again is a no-op.
  opt.build(vars);
  EXPECT_EQ(opt.variables().size(), 6u);
}

TEST(OptimizerBase, VariablesOrderWithScheduleEmaAndGroups) {
  const auto names = [](const Optimizer& opt) {
    std::vector<std::string> out;
    for (const Variable& v : opt.variables()) out.push_back(v.name());
    return out;
  };
  std::vector<Variable> vars = make_variables();
  // A schedule has no learning_rate variable; EMA averages come before the optimizer's own slots.
  Adam adam({.learning_rate = schedules::CosineDecay({.initial_learning_rate = 0.1, .decay_steps = 10}),
             .amsgrad = true,
             .use_ema = true});
  adam.build(vars);
  EXPECT_EQ(names(adam), (std::vector<std::string>{"iteration", "kernel_average", "bias_average", "kernel_momentum",
                                                   "kernel_velocity", "bias_momentum", "bias_velocity",
                                                   "kernel_velocity_hat", "bias_velocity_hat"}));
  // RMSprop adds its slots in separate groups; Nadam adds u_product last.
  RMSprop rms({.momentum = 0.5, .centered = true});
  rms.build(vars);
  EXPECT_EQ(names(rms), (std::vector<std::string>{"iteration", "learning_rate", "kernel_velocity", "bias_velocity",
                                                  "kernel_momentum", "bias_momentum", "kernel_average_gradient",
                                                  "bias_average_gradient"}));
  Nadam nadam;
  nadam.build(vars);
  EXPECT_EQ(names(nadam), (std::vector<std::string>{"iteration", "learning_rate", "kernel_momentum", "kernel_velocity",
                                                    "bias_momentum", "bias_velocity", "u_product"}));
  SGD sgd;  // momentum 0: no slots
  sgd.build(vars);
  EXPECT_EQ(sgd.variables().size(), 2u);
  Adagrad adagrad({.initial_accumulator_value = 0.25});
  adagrad.build(vars);
  ASSERT_EQ(adagrad.variables().size(), 4u);
  EXPECT_EQ(adagrad.variables()[2].value().to_vector<float>(), (std::vector<float>{0.25f, 0.25f, 0.25f, 0.25f}));
}

TEST(OptimizerBase, MissingGradientsAreDropped) {
  SGD opt({.learning_rate = 0.1});
  std::vector<Variable> vars = make_variables();
  std::vector<Tensor> grads = gradients(0);
  grads[1] = Tensor();
  opt.apply(grads, vars);
  EXPECT_EQ(vars[1].value().to_vector<float>(), testing::kW1);
  expect_values({vars[0].value().to_vector<float>()}, {{0.95, -1.9, 2.975, 0.3}});
  EXPECT_EQ(opt.iterations(), 1);
  EXPECT_THROW(opt.apply({Tensor(), Tensor()}, vars), ValueError);
  EXPECT_EQ(opt.iterations(), 1);
}

TEST(OptimizerBase, UnknownVariablesAndBadShapesAreErrors) {
  Adam opt;
  std::vector<Variable> vars = make_variables();
  opt.apply(gradients(0), vars);
  Variable stranger("stranger", zeros({3}));
  EXPECT_THROW(opt.apply({gradients(0)[0], zeros({3})}, {vars[0], stranger}), ValueError);
  EXPECT_THROW(opt.apply({zeros({4}), zeros({3})}, vars), ShapeError);
  EXPECT_THROW(opt.apply({zeros({3})}, vars), ValueError);
  // A subset, in another order, is fine.
  opt.apply({zeros({3})}, {vars[1]});
  EXPECT_EQ(opt.iterations(), 2);
}

TEST(OptimizerBase, CopiesTrainIndependently) {
  SGD original({.learning_rate = 0.1, .momentum = 0.9});
  std::vector<Variable> vars = make_variables();
  original.apply(gradients(0), vars);
  SGD copy = original;  // clones iteration, learning rate and momentum slots; shares the model variables
  copy.apply(gradients(1), vars);
  copy.apply(gradients(2), vars);
  EXPECT_EQ(original.iterations(), 1);
  EXPECT_EQ(copy.iterations(), 3);
  EXPECT_FALSE(copy.variables()[2].is_same(original.variables()[2]));
  // The original's momentum is still v1 = -0.1·B0; the copy continued from it (same values as SGDMomentum).
  expect_values({original.variables()[2].value().to_vector<float>()}, {{-0.05, 0.1, -0.025, -0.2}});
  expect_values({vars[0].value().to_vector<float>(), vars[1].value().to_vector<float>()},
                {{0.812, -1.624, 2.906, -0.252}, {0.2128, 0.2, -0.864}});
}

// Keras rejects learning_rate=1 (an int) with a ValueError; Keel rejects it at compile time.
static_assert(!std::is_constructible_v<LearningRate, int>);
static_assert(!std::is_constructible_v<LearningRate, int64_t>);
static_assert(std::is_convertible_v<double, LearningRate>);
static_assert(std::is_convertible_v<schedules::CosineDecay, LearningRate>);

TEST(OptimizerBase, ArgumentErrors) {
  EXPECT_THROW(SGD({.momentum = 1.5}), ValueError);
  EXPECT_THROW(SGD({.momentum = -0.1}), ValueError);
  EXPECT_THROW(AdamW({.weight_decay = std::nullopt}), ValueError);
}

TEST(OptimizerBase, GetConfig) {
  const nlohmann::json c = Adam({.learning_rate = 0.001, .clipnorm = 1.0}).get_config();
  EXPECT_EQ(c.at("name"), "adam");
  // Keras writes float(variable.numpy()): the float32 value.
  EXPECT_EQ(c.at("learning_rate").get<double>(), static_cast<double>(0.001f));
  EXPECT_EQ(c.at("clipnorm").get<double>(), 1.0);
  EXPECT_TRUE(c.at("clipvalue").is_null());
  EXPECT_TRUE(c.at("weight_decay").is_null());
  EXPECT_FALSE(c.at("use_ema").get<bool>());

  const nlohmann::json s =
      SGD({.learning_rate = schedules::PiecewiseConstantDecay({.boundaries = {10}, .values = {0.1, 0.01}})})
          .get_config();
  EXPECT_EQ(s.at("learning_rate").at("class_name"), "PiecewiseConstantDecay");
  EXPECT_EQ(s.at("learning_rate").at("module"), "keras.optimizers.schedules");
  EXPECT_EQ(s.at("learning_rate").at("config").at("values"), nlohmann::json({0.1, 0.01}));
}

}  // namespace
}  // namespace keel::optimizers
