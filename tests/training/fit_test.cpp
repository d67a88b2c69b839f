// fit / evaluate / predict semantics against keras-reference §7.4 and §8: History keys, callback
// order, validation_split taken from the end before shuffling, shuffling reproducible with a seed,
// class_weight, steps_per_epoch, initial_epoch, and the errors users hit first.
#include <gtest/gtest.h>

#include <cmath>

#include "keel/core/naming.h"
#include "keel/keel.h"
#include "test_util.h"

namespace keel {
namespace {

// y = x·w* + 0.5 on 4 features: a linear model can fit it exactly.
struct LinearData {
  Tensor x, y;
};
LinearData linear_data(int64_t n, uint64_t seed = 3) {
  Tensor x = random::normal({n, 4}, 0.0, 1.0, DType::f32, seed);
  Tensor w = from_vector(std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f}, {4, 1});
  return {x, ops::matmul(x, w) + 0.5};
}

Sequential linear_model(double lr = 0.05) {
  Sequential model({layers::Input({4}), layers::Dense(1)});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = lr}), .loss = {"mse"}, .metrics = {"mae"}});
  return model;
}

/// Records every hook call as "hook" or "hook:index".
class HookRecorder : public Callback {
 public:
  std::vector<std::string> calls;
  void on_train_begin(Logs&) override { calls.push_back("train_begin"); }
  void on_train_end(Logs&) override { calls.push_back("train_end"); }
  void on_epoch_begin(int e, Logs&) override { calls.push_back("epoch_begin:" + std::to_string(e)); }
  void on_epoch_end(int e, Logs&) override { calls.push_back("epoch_end:" + std::to_string(e)); }
  void on_train_batch_begin(int64_t b, Logs&) override { calls.push_back("batch_begin:" + std::to_string(b)); }
  void on_train_batch_end(int64_t b, Logs&) override { calls.push_back("batch_end:" + std::to_string(b)); }
  void on_test_begin(Logs&) override { calls.push_back("test_begin"); }
  void on_test_end(Logs&) override { calls.push_back("test_end"); }
  void on_test_batch_begin(int64_t b, Logs&) override { calls.push_back("test_batch_begin:" + std::to_string(b)); }
  void on_test_batch_end(int64_t b, Logs&) override { calls.push_back("test_batch_end:" + std::to_string(b)); }
};

TEST(Fit, ConvergesAndRecordsHistoryWithKerasKeys) {
  random::set_seed(1);
  auto [x, y] = linear_data(256);
  Sequential model = linear_model(0.1);
  History h = model.fit(x, y, {.batch_size = 32, .epochs = 8, .verbose = 0, .validation_split = 0.25});
  std::vector<std::string> keys;
  for (const auto& [k, v] : h.history) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"loss", "mae", "val_loss", "val_mae"}));
  EXPECT_EQ(h.epoch, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  for (const auto& [k, v] : h.history) EXPECT_EQ(v.size(), 8u) << k;
  EXPECT_LT(h.history.at("loss").back(), 1e-3);
  EXPECT_LT(h.history.at("loss").back(), h.history.at("loss").front() / 100);
}

TEST(Fit, ValidationSplitTakesTheLastSamplesBeforeShuffling) {
  random::set_seed(2);
  auto [x, y] = linear_data(10);
  Sequential model = linear_model(0.01);
  // validation_split 0.3 of 10 samples: train on the first 7, validate on the last 3.
  History h = model.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0, .validation_split = 0.3});
  auto last3 = model.evaluate(ops::slice_axis(x, 0, 7, 10), ops::slice_axis(y, 0, 7, 10), {.verbose = 0});
  EXPECT_NEAR(h.history.at("val_loss")[0], last3.at("loss"), 1e-6);
  auto first3 = model.evaluate(ops::slice_axis(x, 0, 0, 3), ops::slice_axis(y, 0, 0, 3), {.verbose = 0});
  EXPECT_GT(std::abs(h.history.at("val_loss")[0] - first3.at("loss")), 1e-4);
}

TEST(Fit, EpochLossIsTheBatchSizeWeightedMeanOfBatchLosses) {
  random::set_seed(3);
  auto [x, y] = linear_data(10);
  Sequential model = linear_model(0.0);  // learning rate 0: weights stay put, so every batch sees the same model
  Tensor pred = model.predict(x, {.verbose = 0});
  std::vector<float> p = pred.to_vector<float>(), t = y.to_vector<float>();
  double sum = 0;
  for (size_t i = 0; i < p.size(); ++i) sum += (p[i] - t[i]) * (p[i] - t[i]);
  History h = model.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0, .shuffle = false});
  EXPECT_NEAR(h.history.at("loss")[0], sum / 10, 1e-5);
}

TEST(Fit, CallbackHooksRunInKerasOrder) {
  random::set_seed(4);
  auto [x, y] = linear_data(8);
  Sequential model = linear_model();
  auto rec = std::make_shared<HookRecorder>();
  model.fit(x, y, {.batch_size = 3, .epochs = 2, .verbose = 0, .callbacks = {rec}, .validation_split = 0.25});
  // 6 training samples in batches of 3, 2 validation samples in one batch.
  std::vector<std::string> expected = {"train_begin"};
  for (int e = 0; e < 2; ++e) {
    for (std::string s : {"epoch_begin:", "batch_begin:0", "batch_end:0", "batch_begin:1", "batch_end:1"})
      expected.push_back(s.back() == ':' ? s + std::to_string(e) : s);
    for (std::string s : {"test_begin", "test_batch_begin:0", "test_batch_end:0", "test_end"}) expected.push_back(s);
    expected.push_back("epoch_end:" + std::to_string(e));
  }
  expected.push_back("train_end");
  EXPECT_EQ(rec->calls, expected);
}

TEST(Fit, ShuffleIsReproducibleWithASeedAndDiffersWithout) {
  auto run = [](uint64_t seed) {
    auto [x, y] = linear_data(64);
    random::set_seed(seed);
    Sequential model({layers::Input({4}), layers::Dense(1, {.kernel_initializer = "ones"})});
    model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.05}), .loss = {"mse"}});
    model.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0});
    return model.get_weights()[0].to_vector<float>();
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(Fit, ShuffleFalseEqualsManualMiniBatchSgd) {
  random::set_seed(5);
  auto [x, y] = linear_data(6);
  Sequential model({layers::Input({4}), layers::Dense(1, {.kernel_initializer = "zeros"})});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.1}), .loss = {"mse"}});
  model.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0, .shuffle = false});
  // Manual: two steps of SGD on mse over rows [0,4) then [4,6).
  std::vector<double> w(4, 0.0);
  double b = 0;
  auto xv = x.to_vector<float>(), yv = y.to_vector<float>();
  for (auto [lo, hi] : {std::pair{0, 4}, std::pair{4, 6}}) {
    std::vector<double> gw(4, 0.0);
    double gb = 0;
    for (int i = lo; i < hi; ++i) {
      double pred = b;
      for (int j = 0; j < 4; ++j) pred += w[j] * xv[i * 4 + j];
      const double g = 2 * (pred - yv[i]) / (hi - lo);
      for (int j = 0; j < 4; ++j) gw[j] += g * xv[i * 4 + j];
      gb += g;
    }
    for (int j = 0; j < 4; ++j) w[j] -= 0.1 * gw[j];
    b -= 0.1 * gb;
  }
  auto got = model.get_weights();
  auto kw = got[0].to_vector<float>();
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(kw[j], w[j], 1e-5);
  EXPECT_NEAR(got[1].item<float>(), b, 1e-5);
}

TEST(Fit, ClassWeightScalesEachSamplesLoss) {
  random::set_seed(6);
  Tensor x = random::normal({8, 3}, 0.0, 1.0, DType::f32, 11);
  Tensor y = from_vector(std::vector<float>{0, 1, 1, 0, 1, 0, 0, 1}, {8, 1});
  Sequential model({layers::Input({3}), layers::Dense(1, "sigmoid")});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.0}), .loss = {"binary_crossentropy"}});
  std::vector<float> p = model.predict(x, {.verbose = 0}).to_vector<float>();
  std::vector<float> t = y.to_vector<float>();
  double sum = 0;
  for (size_t i = 0; i < 8; ++i) {
    const double q = std::clamp<double>(p[i], 1e-7, 1 - 1e-7);
    const double l = -(t[i] * std::log(q) + (1 - t[i]) * std::log(1 - q));
    sum += (t[i] == 1 ? 3.0 : 0.5) * l;
  }
  History h = model.fit(x, y, {.batch_size = 8, .epochs = 1, .verbose = 0, .class_weight = {{0, 0.5}, {1, 3.0}}});
  EXPECT_NEAR(h.history.at("loss")[0], sum / 8, 1e-4);
}

TEST(Fit, StepsPerEpochContinuesThroughTheDataAndInitialEpochSkipsEpochs) {
  random::set_seed(7);
  auto [x, y] = linear_data(10);
  Sequential model = linear_model();
  auto rec = std::make_shared<HookRecorder>();
  History h = model.fit(x, y, {.batch_size = 4, .epochs = 4, .verbose = 0, .callbacks = {rec}, .initial_epoch = 1,
                               .steps_per_epoch = 2});
  EXPECT_EQ(h.epoch, (std::vector<int>{1, 2, 3}));
  int batches = 0;
  for (const auto& c : rec->calls) batches += c.rfind("batch_end:", 0) == 0;
  EXPECT_EQ(batches, 6);
}

TEST(Fit, TrainOnBatchTestOnBatchAndPredictOnBatch) {
  random::set_seed(8);
  auto [x, y] = linear_data(16);
  Sequential model = linear_model(0.1);
  auto before = model.test_on_batch(x, y).at("loss");
  for (int i = 0; i < 20; ++i) model.train_on_batch(x, y);
  auto after = model.test_on_batch(x, y).at("loss");
  EXPECT_LT(after, before / 10);
  EXPECT_EQ(model.predict_on_batch(x).shape(), (Shape{16, 1}));
  EXPECT_EQ(model.predict(x, {.batch_size = 5, .verbose = 0}).shape(), (Shape{16, 1}));
}

TEST(Fit, LazySequentialBuildsFromTheFirstBatch) {
  random::set_seed(9);
  auto [x, y] = linear_data(32);
  Sequential model({layers::Dense(8, "relu"), layers::Dense(1)});
  EXPECT_FALSE(model->built());
  model.compile({.optimizer = "adam", .loss = {"mse"}});
  model.fit(x, y, {.batch_size = 16, .epochs = 1, .verbose = 0});
  EXPECT_TRUE(model->built());
  EXPECT_EQ(model.count_params(), 4 * 8 + 8 + 8 + 1);
  EXPECT_EQ(model.outputs()[0].shape, (Shape{kUnknownDim, 1}));
}

TEST(Fit, MultiInputMultiOutputFunctionalModelLogsPerOutputLosses) {
  naming::reset_names();
  random::set_seed(10);
  auto a = layers::Input({3}, {.name = "a"});
  auto b = layers::Input({2}, {.name = "b"});
  auto joined = layers::Concatenate()({a, b});
  auto h = layers::Dense(8, "relu")(joined);
  auto out1 = layers::Dense(1, {.name = "reg"})(h);
  auto out2 = layers::Dense(3, {.activation = "softmax", .name = "cls"})(h);
  Model model({a, b}, {out1, out2});
  model.compile({.optimizer = "adam", .loss = {"mse", "sparse_categorical_crossentropy"}, .loss_weights = {1.0, 0.5},
                 .metrics = {"accuracy"}});
  Tensor xa = random::normal({20, 3}, 0, 1, DType::f32, 1), xb = random::normal({20, 2}, 0, 1, DType::f32, 2);
  Tensor y1 = random::normal({20, 1}, 0, 1, DType::f32, 3);
  Tensor y2 = from_vector(std::vector<int64_t>(20, 2), {20});
  History hist = model.fit({xa, xb}, {y1, y2}, {.batch_size = 20, .epochs = 1, .verbose = 0});
  for (const char* k : {"loss", "reg_loss", "cls_loss", "reg_accuracy", "cls_accuracy"})
    EXPECT_TRUE(hist.history.count(k)) << k;
  // The total is Σ loss_weight · output loss.
  EXPECT_NEAR(hist.history.at("loss")[0],
              hist.history.at("reg_loss")[0] + 0.5 * hist.history.at("cls_loss")[0], 1e-4);
  auto preds = model.predict_outputs({xa, xb}, {.verbose = 0});
  ASSERT_EQ(preds.size(), 2u);
  EXPECT_EQ(preds[1].shape(), (Shape{20, 3}));
}

// --- errors ---

TEST(FitErrors, FitBeforeCompile) {
  auto [x, y] = linear_data(4);
  Sequential model({layers::Input({4}), layers::Dense(1)});
  testing::expect_error<ValueError>([&] { model.fit(x, y, {.verbose = 0}); }, "compile()");
}

TEST(FitErrors, LengthMismatchListsEachArraysSize) {
  Sequential model = linear_model();
  Tensor x = zeros({10, 4}), y = zeros({9, 1});
  testing::expect_error<ValueError>([&] { model.fit(x, y, {.verbose = 0}); }, "'x' sizes: 10");
  testing::expect_error<ValueError>([&] { model.fit(x, y, {.verbose = 0}); }, "'y' sizes: 9");
}

TEST(FitErrors, WrongInputShapeNamesTheLayerAndBothShapes) {
  naming::reset_names();
  Sequential model({layers::Input({4}), layers::Dense(1)});
  model.compile({.optimizer = "sgd", .loss = {"mse"}});
  testing::expect_error<ShapeError>([&] { model.fit(zeros({8, 5}), zeros({8, 1}), {.verbose = 0}); }, "sequential",
                                    "(None, 4)", "(8, 5)");
}

TEST(FitErrors, UnknownIdentifiers) {
  Sequential model({layers::Input({4}), layers::Dense(1)});
  testing::expect_error<ValueError>([&] { model.compile({.optimizer = "adamm", .loss = {"mse"}}); }, "adamm");
  model.compile({.optimizer = "adam", .loss = {"msee"}});
  testing::expect_error<ValueError>([&] { model.fit(zeros({4, 4}), zeros({4, 1}), {.verbose = 0}); }, "msee");
  model.compile({.optimizer = "adam", .loss = {"mse"}, .metrics = {"accuracyy"}});
  testing::expect_error<ValueError>([&] { model.fit(zeros({4, 4}), zeros({4, 1}), {.verbose = 0}); }, "accuracyy");
}

TEST(FitErrors, SparseLabelsOutOfRange) {
  Sequential model({layers::Input({4}), layers::Dense(3, "softmax")});
  model.compile({.optimizer = "adam", .loss = {"sparse_categorical_crossentropy"}});
  Tensor y = from_vector(std::vector<int64_t>{0, 1, 7, 2}, {4});
  testing::expect_error<ValueError>([&] { model.fit(zeros({4, 4}), y, {.verbose = 0}); }, "7");
}

TEST(FitErrors, BatchSizeMustBePositiveAndDataNonEmpty) {
  Sequential model = linear_model();
  auto [x, y] = linear_data(4);
  testing::expect_error<ValueError>([&] { model.fit(x, y, {.batch_size = 0, .verbose = 0}); }, "batch_size");
  testing::expect_error<ValueError>([&] { model.fit(x, y, {.batch_size = -3, .verbose = 0}); }, "batch_size");
  testing::expect_error<ValueError>([&] { model.fit(zeros({0, 4}), zeros({0, 1}), {.verbose = 0}); }, "no data");
  auto empty = data::Dataset::from_tensor_slices({zeros({0, 4}), zeros({0, 1})}).batch(2);
  testing::expect_error<ValueError>([&] { model.fit(empty, {.verbose = 0}); }, "no data");
}

// Issue 20: each count names itself, and none is divided by before it is checked.
TEST(FitErrors, StepCountsArePositiveAndNamedAsTheUserWroteThem) {
  using testing::expect_error;
  Sequential model = linear_model();
  auto [x, y] = linear_data(8);
  // Without batch_size, fit derives it from steps_per_epoch: 0 used to be a division by zero (SIGFPE).
  expect_error<ValueError>([&] { model.fit(x, y, {.verbose = 0, .steps_per_epoch = 0}); },
                           "steps_per_epoch must be a positive integer; received steps_per_epoch=0");
  auto ds = data::Dataset::from_tensor_slices({x, y}).batch(4);
  for (int64_t steps : {0, -1})
    expect_error<ValueError>([&] { model.fit(ds, {.verbose = 0, .steps_per_epoch = steps}); },
                             "steps_per_epoch must be a positive integer; received steps_per_epoch=" +
                                 std::to_string(steps));
  expect_error<ValueError>([&] { model.evaluate(x, y, {.verbose = 0, .steps = 0}); },
                           "steps must be a positive integer; received steps=0");
  expect_error<ValueError>([&] { model.predict(x, {.verbose = 0, .steps = 0}); },
                           "steps must be a positive integer; received steps=0");
  expect_error<ValueError>([&] { model.evaluate(ds, {.verbose = 0, .steps = -2}); }, "received steps=-2");
  expect_error<ValueError>(
      [&] {
        model.fit(x, y, {.verbose = 0, .validation_data = ValidationData{x, y}, .validation_steps = 0});
      },
      "validation_steps must be a positive integer; received validation_steps=0");
  expect_error<ValueError>([&] { model.fit(x, y, {.verbose = 0, .validation_split = 0.5, .validation_freq = 0}); },
                           "validation_freq must be a positive integer; received validation_freq=0");
}

TEST(FitErrors, EmptyBatchIsNamedNotAnAutogradError) {
  Sequential model = linear_model();
  testing::expect_error<ValueError>([&] { model.train_on_batch(zeros({0, 4}), zeros({0, 1})); },
                                    {"train_on_batch", "the batch is empty", "(0, 4)"});
  testing::expect_error<ValueError>([&] { model.test_on_batch(zeros({0, 4}), zeros({0, 1})); },
                                    {"test_on_batch", "the batch is empty"});
}

TEST(FitErrors, NanLossWithoutTerminateOnNanKeepsGoingAndReportsNan) {
  Sequential model = linear_model(1e30);
  auto [x, y] = linear_data(16);
  History h = model.fit(x, y, {.batch_size = 4, .epochs = 2, .verbose = 0});
  EXPECT_TRUE(std::isnan(h.history.at("loss").back()) || std::isinf(h.history.at("loss").back()));
}

TEST(Fit, DatasetInputTrainsLikeArrays) {
  random::set_seed(12);
  auto [x, y] = linear_data(64);
  Sequential model = linear_model(0.1);
  auto ds = data::Dataset::from_tensor_slices({x, y}).shuffle(64, 3).batch(16).prefetch(2);
  History h = model.fit(ds, {.epochs = 5, .verbose = 0, .validation_data = data::Dataset::from_tensor_slices({x, y}).batch(32)});
  EXPECT_LT(h.history.at("loss").back(), h.history.at("loss").front());
  EXPECT_TRUE(h.history.count("val_loss"));
  EXPECT_EQ(model.predict(data::Dataset::from_tensor_slices({x}).batch(10), {.verbose = 0}).shape(), (Shape{64, 1}));
}

}  // namespace
}  // namespace keel
