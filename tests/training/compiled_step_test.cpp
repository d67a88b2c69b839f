// The compiled train step (Note [Compiled train step] in src/training/compiled_step.h): fit, evaluate and
// predict replay recorded kernel plans and must give what op-by-op execution (run_eagerly) gives, for
// each model of the benchmark suite (at small sizes), for Dropout and BatchNormalization, with an
// optimizer that updates in place (Adam, SGD with momentum) and one that assigns (RMSprop), across the
// last partial batch (a second plan) and across weights changed between steps. Steps the recorder
// refuses run eagerly and say why.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "keel/keel.h"

namespace keel {
namespace {

struct Data {
  Tensor x, y;
};

// 70 samples: batches of 16 leave a last batch of 6, which needs its own plan.
constexpr int64_t kSamples = 70;

Data binary_data(int64_t features) {
  Tensor x = random::normal({kSamples, features}, 0.0, 1.0, DType::f32, 101);
  Tensor y = ops::cast(ops::greater(ops::sum(x, {1}, true), scalar_tensor(0.0)), DType::f32);
  return {x, y};
}

Data class_data(const Shape& sample, int64_t classes) {
  Shape shape{kSamples};
  shape.insert(shape.end(), sample.begin(), sample.end());
  Tensor x = random::normal(shape, 0.0, 1.0, DType::f32, 102);
  std::vector<int64_t> labels(kSamples);
  for (int64_t i = 0; i < kSamples; ++i) labels[i] = (i * 7) % classes;
  return {x, from_vector(labels, {kSamples})};
}

using ModelFactory = std::function<Sequential(bool run_eagerly)>;

struct Run {
  History history;
  std::vector<Tensor> weights;
  Trainer::StepStats stats, test_stats, predict_stats;
  std::map<std::string, double> evaluation;
  Tensor predictions;
};

Run fit(const ModelFactory& make, const Data& data, bool run_eagerly, int epochs = 3,
        std::vector<CallbackArg> callbacks = {}) {
  random::set_seed(7);
  Sequential model = make(run_eagerly);
  Run r;
  r.history = model.fit(data.x, data.y, {.batch_size = 16, .epochs = epochs, .verbose = 0, .callbacks = callbacks});
  r.weights = model.get_weights();
  r.stats = model->train_step_stats();
  r.evaluation = model.evaluate(data.x, data.y, {.batch_size = 16, .verbose = 0});
  r.predictions = model.predict(data.x, {.batch_size = 16, .verbose = 0});
  r.test_stats = model->test_step_stats();
  r.predict_stats = model->predict_step_stats();
  return r;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  std::vector<double> x = a.astype(DType::f64).to_vector<double>(), y = b.astype(DType::f64).to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::abs(x[i] - y[i]));
  return m;
}

// Compiled and eager runs end with the same weights and log the same epochs; the compiled run replayed.
void expect_compiled_matches_eager(const ModelFactory& make, const Data& data, std::vector<CallbackArg> callbacks = {}) {
  const Run eager = fit(make, data, /*run_eagerly=*/true, 3, callbacks);
  const Run compiled = fit(make, data, /*run_eagerly=*/false, 3, callbacks);
  EXPECT_EQ(eager.stats.replayed, 0);
  EXPECT_EQ(eager.stats.eager, 15);  // 3 epochs of 5 batches
  // Per signature: one eager step, one recorded; the other 11 steps replay.
  EXPECT_EQ(compiled.stats.replayed, 11) << compiled.stats.not_compiled_because;
  EXPECT_EQ(compiled.stats.eager, 4);
  ASSERT_EQ(compiled.weights.size(), eager.weights.size());
  for (size_t i = 0; i < eager.weights.size(); ++i)
    EXPECT_LE(max_abs_diff(compiled.weights[i], eager.weights[i]), 1e-6) << "weight " << i;
  for (const auto& [name, values] : eager.history.history) {
    ASSERT_TRUE(compiled.history.history.contains(name)) << name;
    for (size_t e = 0; e < values.size(); ++e)
      EXPECT_NEAR(compiled.history.history.at(name)[e], values[e], 1e-6) << name << ", epoch " << e;
  }
  // evaluate and predict on 5 batches (16 x 4 + 6): the second batch of 16 is recorded, two replay.
  EXPECT_EQ(compiled.test_stats.replayed, 2) << compiled.test_stats.not_compiled_because;
  EXPECT_EQ(compiled.predict_stats.replayed, 2) << compiled.predict_stats.not_compiled_because;
  EXPECT_EQ(eager.test_stats.replayed + eager.predict_stats.replayed, 0);
  for (const auto& [name, value] : eager.evaluation) EXPECT_NEAR(compiled.evaluation.at(name), value, 1e-6) << name;
  EXPECT_LE(max_abs_diff(compiled.predictions, eager.predictions), 1e-6);
}

TEST(CompiledTrainStep, SmallBinaryClassifierMatchesEager) {
  expect_compiled_matches_eager(
      [](bool eager) {
        Sequential m({layers::Input({8}), layers::Dense(16, "relu"), layers::Dense(16, "relu"),
                      layers::Dense(1, "sigmoid")});
        m.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}, .run_eagerly = eager});
        return m;
      },
      binary_data(8));
}

TEST(CompiledTrainStep, SoftmaxMlpWithSparseLabelsMatchesEager) {
  expect_compiled_matches_eager(
      [](bool eager) {
        Sequential m({layers::Input({12}), layers::Dense(32, "relu"), layers::Dense(32, "relu"),
                      layers::Dense(5, "softmax")});
        m.compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"},
                   .run_eagerly = eager});
        return m;
      },
      class_data({12}, 5));
}

TEST(CompiledTrainStep, ConvnetWithDropoutMatchesEager) {
  // The suite's mnist_convnet at 10x10: every replay draws a new dropout mask, as eager steps do.
  expect_compiled_matches_eager(
      [](bool eager) {
        Sequential m({layers::Input({10, 10, 1}), layers::Conv2D(4, {3, 3}, {.activation = "relu"}),
                      layers::MaxPooling2D({2, 2}), layers::Conv2D(6, {3, 3}, {.activation = "relu"}),
                      layers::Flatten(), layers::Dropout(0.5), layers::Dense(3, "softmax")});
        m.compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"},
                   .run_eagerly = eager});
        return m;
      },
      class_data({10, 10, 1}, 3));
}

TEST(CompiledTrainStep, RegularizedModelMatchesEager) {
  // Weight and activity penalties are part of the recorded loss; constraints run after each update.
  expect_compiled_matches_eager(
      [](bool eager) {
        Sequential m({layers::Input({8}),
                      layers::Dense(16, {.activation = "relu",
                                         .kernel_regularizer = regularizers::L1L2({.l1 = 1e-3, .l2 = 1e-2}),
                                         .activity_regularizer = regularizers::L2(1e-3),
                                         .kernel_constraint = constraints::MaxNorm({.max_value = 0.5})}),
                      layers::ActivityRegularization({.l1 = 1e-3}),
                      layers::Dense(1, {.activation = "sigmoid", .bias_regularizer = "l2",
                                        .kernel_constraint = constraints::NonNeg()})});
        m.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}, .run_eagerly = eager});
        return m;
      },
      binary_data(8));
}

ModelFactory batch_norm_model(std::function<OptimizerArg()> optimizer) {
  return [optimizer](bool eager) {
    Sequential m({layers::Input({6}), layers::Dense(16, "relu"), layers::BatchNormalization(), layers::Dropout(0.3),
                  layers::Dense(1)});
    m.compile({.optimizer = optimizer(), .loss = "mse", .run_eagerly = eager});
    return m;
  };
}

TEST(CompiledTrainStep, BatchNormalizationAndDropoutWithMomentumMatchEager) {
  // BatchNormalization assigns its moving statistics inside the step: they must follow eager too.
  expect_compiled_matches_eager(batch_norm_model([]() -> OptimizerArg { return optimizers::SGD({.learning_rate = 0.05, .momentum = 0.9}); }),
                                binary_data(6));
}

TEST(CompiledTrainStep, OptimizerThatAssignsNewValuesMatchesEager) {
  expect_compiled_matches_eager(batch_norm_model([]() -> OptimizerArg { return optimizers::RMSprop(); }), binary_data(6));
}

TEST(CompiledTrainStep, WeightsChangedBetweenStepsAreSeenByTheReplay) {
  // A callback replaces the weights after every batch (halving them): replays must read the new values.
  auto halve = std::make_shared<Sequential>();
  auto make = [halve](bool eager) {
    *halve = Sequential({layers::Input({8}), layers::Dense(8, "tanh"), layers::Dense(1)});
    halve->compile({.optimizer = "adam", .loss = "mse", .run_eagerly = eager});
    return *halve;
  };
  callbacks::LambdaCallbackOptions on_batch;
  on_batch.on_train_batch_end = [halve](int64_t, Logs&) {
    std::vector<Tensor> w = halve->get_weights();
    for (Tensor& t : w) t = t * 0.5;
    halve->set_weights(w);
  };
  expect_compiled_matches_eager(make, binary_data(8), {std::make_shared<callbacks::LambdaCallback>(on_batch)});
}

TEST(CompiledTrainStep, AdamStillUpdatesTheWeightsInPlace) {
  // The plan keeps no reference to the weights between steps, so the fused update needs no new buffers.
  const Data data = binary_data(8);
  random::set_seed(3);
  Sequential m({layers::Input({8}), layers::Dense(4, "relu"), layers::Dense(1, "sigmoid")});
  m.compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  std::vector<const void*> buffers;
  callbacks::LambdaCallbackOptions on_batch;
  on_batch.on_train_batch_end = [&](int64_t, Logs&) { buffers.push_back(m.weights()[0].value().storage().get()); };
  m.fit(data.x, data.y, {.batch_size = 16, .epochs = 2, .verbose = 0,
                         .callbacks = {std::make_shared<callbacks::LambdaCallback>(on_batch)}});
  EXPECT_GT(m->train_step_stats().replayed, 0);
  ASSERT_EQ(buffers.size(), 10u);
  for (size_t i = 1; i < buffers.size(); ++i) EXPECT_EQ(buffers[i], buffers[0]) << "after step " << i;
}

TEST(CompiledTrainStep, UserArraysAreNotWrittenByReplays) {
  const Data data = binary_data(8);
  const std::vector<float> x_before = data.x.to_vector<float>(), y_before = data.y.to_vector<float>();
  random::set_seed(3);
  Sequential m({layers::Input({8}), layers::Dense(4, "relu"), layers::Dense(1, "sigmoid")});
  m.compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  m.fit(data.x, data.y, {.batch_size = 16, .epochs = 3, .verbose = 0, .shuffle = false});  // batches are views
  EXPECT_GT(m->train_step_stats().replayed, 0);
  EXPECT_EQ(data.x.to_vector<float>(), x_before);
  EXPECT_EQ(data.y.to_vector<float>(), y_before);
}

TEST(CompiledTrainStep, RunFunctionsEagerlyTurnsItOff) {
  const Data data = binary_data(8);
  config::run_functions_eagerly(true);
  random::set_seed(3);
  Sequential m({layers::Input({8}), layers::Dense(4, "relu"), layers::Dense(1, "sigmoid")});
  m.compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  m.fit(data.x, data.y, {.batch_size = 16, .epochs = 2, .verbose = 0});
  config::run_functions_eagerly(false);
  EXPECT_EQ(m->train_step_stats().replayed, 0);
  EXPECT_EQ(m->train_step_stats().eager, 10);
}

TEST(CompiledTrainStep, StepsThatReadValuesOnTheHostRunEagerlyAndSayWhy) {
  // The hinge loss looks at the labels on the host to decide whether to map {0, 1} to {-1, 1}.
  const Data data = binary_data(8);
  random::set_seed(3);
  Sequential m({layers::Input({8}), layers::Dense(4, "relu"), layers::Dense(1, "tanh")});
  m.compile({.optimizer = "adam", .loss = "hinge"});
  m.fit(data.x, data.y, {.batch_size = 16, .epochs = 2, .verbose = 0});
  EXPECT_EQ(m->train_step_stats().replayed, 0);
  EXPECT_EQ(m->train_step_stats().eager, 10);
  EXPECT_NE(m->train_step_stats().not_compiled_because.find("read tensor values on the host"), std::string::npos)
      << m->train_step_stats().not_compiled_because;
}

TEST(CompiledTrainStep, BadLabelInAReplayedStepIsAClearError) {
  Data data = class_data({4}, 3);
  std::vector<int64_t> labels = data.y.to_vector<int64_t>();
  labels[60] = 7;  // in the 4th batch: after the recorded step, so a replay meets it
  data.y = from_vector(labels, {kSamples});
  random::set_seed(3);
  Sequential m({layers::Input({4}), layers::Dense(3, "softmax")});
  m.compile({.optimizer = "adam", .loss = "sparse_categorical_crossentropy"});
  try {
    m.fit(data.x, data.y, {.batch_size = 16, .epochs = 1, .verbose = 0, .shuffle = false});
    FAIL() << "fit accepted label 7 for 3 classes";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("label 7"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace keel
