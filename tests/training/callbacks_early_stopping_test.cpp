// EarlyStopping (keras-reference §9.1, §9.2): the patience / min_delta / baseline / start_from_epoch
// logic driven with hand-made val_loss sequences (stopped epochs traced by hand through Keras's
// on_epoch_end), weight restoring, the auto-mode direction, and the same callback inside a real fit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "keel/keel.h"
#include "keel/models/model.h"
#include "keel/optimizers/optimizers.h"
#include "keel/training/callbacks.h"
#include "test_util.h"

namespace keel {
namespace {

using callbacks::EarlyStopping;

Sequential sgd_model(double lr = 0.1) {
  Sequential model({layers::Input({4}), layers::Dense(1)});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = lr}), .loss = {"mse"}});
  return model;
}

/// Runs on_train_begin, then on_epoch_end with `monitor` = each value, stopping where fit would.
/// Returns the number of epochs that ran.
int drive(EarlyStopping& es, Trainer& trainer, const std::vector<double>& values,
          const std::string& monitor = "val_loss") {
  es.set_model(&trainer);
  trainer.stop_training = false;
  Logs logs;
  es.on_train_begin(logs);
  int ran = 0;
  for (size_t e = 0; e < values.size() && !trainer.stop_training; ++e, ++ran) {
    Logs epoch_logs{{"loss", 9.0}, {monitor, values[e]}};
    es.on_epoch_end(static_cast<int>(e), epoch_logs);
  }
  es.on_train_end(logs);
  return ran;
}

TEST(CallbacksEarlyStopping, PatienceCountsEpochsWithoutImprovement) {
  Sequential model = sgd_model();
  EarlyStopping es({.patience = 2});
  // e0 best=1.0, e1 best=0.9, e2 wait=1, e3 wait=2 >= patience → stop at 3.
  EXPECT_EQ(drive(es, *model.get(), {1.0, 0.9, 0.95, 0.92, 0.91, 0.8}), 4);
  EXPECT_EQ(es.stopped_epoch(), 3);
  EXPECT_TRUE(model->stop_training);
  EXPECT_EQ(es.best(), 0.9);
  EXPECT_EQ(es.best_epoch(), 1);
}

TEST(CallbacksEarlyStopping, PatienceZeroStopsAtFirstNonImprovingEpochButNeverAtEpochZero) {
  Sequential model = sgd_model();
  EarlyStopping es;                                             // patience 0
  EXPECT_EQ(drive(es, *model.get(), {1.0, 0.5, 0.5, 0.1}), 3);  // 0.5 is not < 0.5
  EXPECT_EQ(es.stopped_epoch(), 2);
  // A single epoch never stops (epoch > 0 is required), so stopped_epoch stays 0.
  EarlyStopping first;
  EXPECT_EQ(drive(first, *model.get(), {1.0}), 1);
  EXPECT_EQ(first.stopped_epoch(), 0);
  EXPECT_FALSE(model->stop_training);
}

TEST(CallbacksEarlyStopping, MinDeltaIsAbsoluteAndMustBeExceeded) {
  Sequential model = sgd_model();
  EarlyStopping es({.min_delta = -0.1, .patience = 1});  // |min_delta| = 0.1
  // 0.95 + 0.1 < 1.0 fails → wait=1 >= 1 → stop at 1.
  EXPECT_EQ(drive(es, *model.get(), {1.0, 0.95, 0.5}), 2);
  EXPECT_EQ(es.stopped_epoch(), 1);
  EXPECT_EQ(es.best(), 1.0);
  EarlyStopping bigger({.min_delta = 0.1, .patience = 1});
  EXPECT_EQ(drive(bigger, *model.get(), {1.0, 0.85, 0.7, 0.65}), 4);  // 0.85, 0.7 beat by > 0.1; 0.65 stops
  EXPECT_EQ(bigger.stopped_epoch(), 3);
}

TEST(CallbacksEarlyStopping, BaselineKeepsTheWaitRunningUntilBeaten) {
  Sequential model = sgd_model();
  EarlyStopping es({.patience = 2, .baseline = 0.5});
  // e0..e2 improve but never beat 0.5, so wait grows 1,2,3 (improving epochs return before the stop
  // test); e3 does not improve and wait=4 >= 2 → stop at 3.
  EXPECT_EQ(drive(es, *model.get(), {1.0, 0.9, 0.8, 0.85, 0.1}), 4);
  EXPECT_EQ(es.stopped_epoch(), 3);
  EXPECT_EQ(es.wait(), 4);
  EXPECT_EQ(es.best(), 0.8);
  // Beating the baseline resets the wait.
  EarlyStopping beaten({.patience = 2, .baseline = 0.5});
  EXPECT_EQ(drive(beaten, *model.get(), {0.4, 0.45, 0.3, 0.35, 0.36, 0.37}), 5);
  EXPECT_EQ(beaten.stopped_epoch(), 4);
}

TEST(CallbacksEarlyStopping, StartFromEpochSkipsTheWarmUp) {
  Sequential model = sgd_model();
  EarlyStopping es({.start_from_epoch = 2});
  EXPECT_EQ(drive(es, *model.get(), {1.0, 2.0, 3.0, 4.0, 5.0}), 4);  // e2 is the first monitored epoch
  EXPECT_EQ(es.stopped_epoch(), 3);
  EXPECT_EQ(es.best(), 3.0);
}

TEST(CallbacksEarlyStopping, ModeMaxAndAutoForAMaximisedMetric) {
  Sequential model = sgd_model();
  EarlyStopping es({.monitor = "val_score", .patience = 1, .mode = "max"});
  EXPECT_EQ(drive(es, *model.get(), {0.1, 0.2, 0.15}, "val_score"), 3);
  EXPECT_EQ(es.stopped_epoch(), 2);
  EXPECT_EQ(es.best(), 0.2);
  // An unknown mode falls back to auto; loss-like names need no model metrics.
  EarlyStopping fallback({.monitor = "loss", .mode = "maximum"});
  EXPECT_EQ(fallback.mode(), "auto");
}

TEST(CallbacksEarlyStopping, AutoModeWithAnUnknownMetricAsksForAMode) {
  Sequential model = sgd_model();
  EarlyStopping es({.monitor = "val_score"});
  es.set_model(model.get());
  Logs logs{{"val_score", 1.0}};
  testing::expect_error<ValueError>([&] { es.on_epoch_end(0, logs); }, "monitor=val_score", "mode='max'", "mode='min'");
}

TEST(CallbacksEarlyStopping, MissingMonitorIsSkipped) {
  Sequential model = sgd_model();
  EarlyStopping es({.patience = 0});
  es.set_model(model.get());
  Logs begin;
  es.on_train_begin(begin);
  ::testing::internal::CaptureStderr();
  for (int e = 0; e < 3; ++e) {
    Logs logs{{"loss", 1.0 + e}};
    es.on_epoch_end(e, logs);
  }
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(model->stop_training);
  EXPECT_FALSE(es.best().has_value());
  EXPECT_NE(err.find("`val_loss` which is not available. Available metrics are: loss"), std::string::npos) << err;
}

TEST(CallbacksEarlyStopping, RestoresTheBestEpochsWeightsAndPrints) {
  Sequential model = sgd_model();
  auto weights_filled = [](float v) { return std::vector<Tensor>{full({4, 1}, v), full({1}, v)}; };
  EarlyStopping es({.patience = 2, .verbose = 1, .restore_best_weights = true});
  es.set_model(model.get());
  Logs logs;
  es.on_train_begin(logs);
  const std::vector<double> val_loss = {1.0, 0.5, 0.7, 0.8};
  for (int e = 0; e < 4; ++e) {
    model.set_weights(weights_filled(static_cast<float>(e)));  // the weights "after epoch e"
    Logs epoch_logs{{"val_loss", val_loss[e]}};
    es.on_epoch_end(e, epoch_logs);
  }
  EXPECT_EQ(es.stopped_epoch(), 3);
  ::testing::internal::CaptureStdout();
  es.on_train_end(logs);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(),
            "Epoch 4: early stopping\nRestoring model weights from the end of the best epoch: 2.\n");
  for (const Tensor& w : model.get_weights())
    for (float v : w.to_vector<float>()) EXPECT_EQ(v, 1.0f);
}

TEST(CallbacksEarlyStopping, RestoresEvenWhenTrainingWasNotStoppedAndResetsBetweenRuns) {
  Sequential model = sgd_model();
  EarlyStopping es({.patience = 5, .restore_best_weights = true});
  es.set_model(model.get());
  for (int run = 0; run < 2; ++run) {
    Logs logs;
    es.on_train_begin(logs);
    EXPECT_FALSE(es.best().has_value());
    const std::vector<double> val_loss = {3.0, 1.0, 2.0};
    for (int e = 0; e < 3; ++e) {
      model.set_weights({full({4, 1}, 10.0f * run + e), full({1}, 10.0f * run + e)});
      Logs epoch_logs{{"val_loss", val_loss[e] + run}};
      es.on_epoch_end(e, epoch_logs);
    }
    EXPECT_EQ(es.stopped_epoch(), 0);
    es.on_train_end(logs);
    EXPECT_EQ(model.get_weights()[1].to_vector<float>(), std::vector<float>{10.0f * run + 1});
    EXPECT_EQ(es.best(), 1.0 + run);
  }
}

// --- inside model.fit ---

Tensor features() { return random::normal({16, 4}, 0.0, 1.0, DType::f32, 7); }
Tensor targets(const Tensor& x) {
  return ops::matmul(x, from_vector(std::vector<float>{1.0f, -1.0f, 0.5f, 2.0f}, {4, 1}));
}

TEST(CallbacksEarlyStopping, StopsFitAndRestoresTheFirstEpochsWeights) {
  random::set_seed(3);
  Sequential model = sgd_model(0.05);
  Tensor x = features(), y = targets(x);
  // A min_delta no loss change can beat: only epoch 0 "improves" (best was unset), so with patience 2
  // training stops at epoch 2 and the weights after epoch 0 come back.
  auto es = std::make_shared<EarlyStopping>(callbacks::EarlyStoppingOptions{
      .monitor = "loss", .min_delta = 1e9, .patience = 2, .verbose = 1, .restore_best_weights = true});
  std::vector<Tensor> after_epoch0, after_last;
  callbacks::LambdaCallback capture({.on_epoch_end = [&](int epoch, Logs&) {
    if (epoch == 0) after_epoch0 = model.get_weights();
    after_last = model.get_weights();
  }});
  ::testing::internal::CaptureStdout();
  History h = model.fit(x, y, {.batch_size = 4, .epochs = 10, .verbose = 0, .callbacks = {capture, es}});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(h.epoch, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(es->stopped_epoch(), 2);
  EXPECT_EQ(out, "Epoch 3: early stopping\nRestoring model weights from the end of the best epoch: 1.\n");
  // Training changed the weights after epoch 0, and the callback put epoch 0's back.
  ASSERT_EQ(after_epoch0.size(), 2u);
  EXPECT_NE(after_last[0].to_vector<float>(), after_epoch0[0].to_vector<float>());
  std::vector<Tensor> now = model.get_weights();
  for (size_t i = 0; i < now.size(); ++i) EXPECT_EQ(now[i].to_vector<float>(), after_epoch0[i].to_vector<float>());
}

TEST(CallbacksEarlyStopping, FitTakesTheDirectionFromCompiledMetrics) {
  random::set_seed(3);
  Tensor x = features(), y = targets(x);
  Sequential model({layers::Input({4}), layers::Dense(1)});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.05}), .loss = {"mse"}, .metrics = {"mae"}});
  // auto resolves val_mae to "min" through the compiled metric, so best() is the smallest value seen.
  auto es = std::make_shared<EarlyStopping>(callbacks::EarlyStoppingOptions{.monitor = "val_mae", .patience = 100});
  History h =
      model.fit(x, y, {.batch_size = 4, .epochs = 6, .verbose = 0, .callbacks = {es}, .validation_split = 0.25});
  const auto& mae = h.history.at("val_mae");
  ASSERT_EQ(mae.size(), 6u);
  EXPECT_NE(*std::min_element(mae.begin(), mae.end()), *std::max_element(mae.begin(), mae.end()));
  EXPECT_EQ(es->best(), *std::min_element(mae.begin(), mae.end()));
  EXPECT_EQ(es->stopped_epoch(), 0);

  EarlyStopping unknown({.monitor = "val_score"});
  testing::expect_error<ValueError>(
      [&] { model.fit(x, y, {.epochs = 2, .verbose = 0, .callbacks = {unknown}, .validation_split = 0.25}); },
      "EarlyStopping callback received monitor=val_score", "mode='max'");
}

}  // namespace
}  // namespace keel
