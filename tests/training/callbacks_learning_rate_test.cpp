// ReduceLROnPlateau (keras-reference §9.4) and LearningRateScheduler (§9.5): the learning-rate
// sequences they produce, with the rate held in a float32 variable as Keras holds it.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "keel/keel.h"
#include "keel/models/model.h"
#include "keel/optimizers/optimizers.h"
#include "keel/training/callbacks.h"
#include "test_util.h"

namespace keel {
namespace {

using callbacks::LearningRateScheduler;
using callbacks::ReduceLROnPlateau;

Sequential sgd_model(LearningRate lr = 0.1) {
  Sequential model({layers::Input({4}), layers::Dense(1)});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = lr}), .loss = {"mse"}});
  return model;
}

Tensor features() { return random::normal({16, 4}, 0.0, 1.0, DType::f32, 11); }
Tensor targets(const Tensor& x) {
  return ops::matmul(x, from_vector(std::vector<float>{1.0f, -1.0f, 0.5f, 2.0f}, {4, 1}));
}

TEST(CallbacksReduceLROnPlateau, LearningRateSequenceWithCooldownAndMinLr) {
  Sequential model = sgd_model(0.1);
  ReduceLROnPlateau cb({.factor = 0.5, .patience = 2, .min_delta = 0.0, .cooldown = 1, .min_lr = 0.02});
  cb.set_model(model.get());
  Logs begin;
  cb.on_train_begin(begin);
  const std::vector<double> val_loss = {1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6};
  std::vector<double> logged;
  for (size_t e = 0; e < val_loss.size(); ++e) {
    Logs logs{{"val_loss", val_loss[e]}};
    cb.on_epoch_end(static_cast<int>(e), logs);
    logged.push_back(logs.at("learning_rate"));
  }
  // Keras's logic with a float32 rate (reductions at epochs 2, 4 and 7; at 9+ the rate equals
  // float32(min_lr) and is left alone):
  //   /usr/bin/python3: lr = np.float32(0.1); best = inf; wait = cd = 0
  //   for e, cur in enumerate(vals): log float(lr); if cd > 0: cd -= 1; wait = 0
  //     if cur < best: best = cur; wait = 0
  //     elif not cd > 0: wait += 1; if wait >= 2 and float(lr) > np.float32(0.02):
  //       lr = np.float32(max(float(lr) * 0.5, 0.02)); cd = 1; wait = 0
  const std::vector<double> expected = {
      0.10000000149011612,  0.10000000149011612,  0.10000000149011612, 0.05000000074505806,  0.05000000074505806,
      0.02500000037252903,  0.02500000037252903,  0.02500000037252903, 0.019999999552965164, 0.019999999552965164,
      0.019999999552965164, 0.019999999552965164, 0.019999999552965164};
  EXPECT_EQ(logged, expected);
  EXPECT_EQ(model.optimizer().learning_rate(), 0.019999999552965164);
  EXPECT_EQ(cb.best(), 0.5);
  EXPECT_EQ(cb.wait(), 5);  // epochs 8-12 without improvement; never reset: the rate is already at min_lr
}

TEST(CallbacksReduceLROnPlateau, MinDeltaAndModeMax) {
  Sequential model = sgd_model(0.1);
  ReduceLROnPlateau cb({.monitor = "val_score", .factor = 0.1, .patience = 1, .mode = "max", .min_delta = 0.05});
  cb.set_model(model.get());
  Logs begin;
  cb.on_train_begin(begin);
  Logs e0{{"val_score", 0.5}}, e1{{"val_score", 0.54}};
  cb.on_epoch_end(0, e0);
  EXPECT_EQ(cb.best(), 0.5);
  cb.on_epoch_end(1, e1);  // 0.54 − 0.05 > 0.5 fails → wait 1 → reduce
  EXPECT_EQ(e1.at("learning_rate"), 0.10000000149011612);
  EXPECT_FLOAT_EQ(static_cast<float>(model.optimizer().learning_rate()), 0.01f);
  EXPECT_EQ(cb.wait(), 0);
}

TEST(CallbacksReduceLROnPlateau, RateAtMinLrInFloat32IsNotReducedAgain) {
  // float32(0.1) = 0.10000000149 > 0.1, but Keras compares with np.float32(min_lr): no "reduction" to
  // the same rate happens, so no cooldown starts and the wait keeps growing.
  Sequential model = sgd_model(0.1);
  ReduceLROnPlateau cb({.monitor = "loss", .patience = 1, .cooldown = 2, .min_lr = 0.1});
  cb.set_model(model.get());
  Logs begin;
  cb.on_train_begin(begin);
  const std::vector<double> loss = {1.0, 2.0, 2.0, 2.0};
  for (int e = 0; e < 4; ++e) {
    Logs logs{{"loss", loss[e]}};
    cb.on_epoch_end(e, logs);
  }
  EXPECT_EQ(cb.wait(), 3);
  EXPECT_EQ(cb.cooldown_counter(), 0);
  EXPECT_EQ(model.optimizer().learning_rate(), 0.10000000149011612);
}

TEST(CallbacksReduceLROnPlateau, RejectsFactorOfOneOrMoreAndPrintsReductions) {
  testing::expect_error<ValueError>([] { ReduceLROnPlateau({.factor = 1.0}); },
                                    "ReduceLROnPlateau does not support a factor >= 1.0. Received factor=1.0");
  Sequential model = sgd_model(0.1);
  ReduceLROnPlateau cb({.monitor = "loss", .factor = 0.5, .patience = 1, .verbose = 1});
  cb.set_model(model.get());
  Logs begin;
  cb.on_train_begin(begin);
  Logs e0{{"loss", 1.0}}, e1{{"loss", 2.0}};
  cb.on_epoch_end(0, e0);
  ::testing::internal::CaptureStdout();
  cb.on_epoch_end(1, e1);
  // Python: float(np.float32(0.1)) * 0.5 → 0.05000000074505806
  EXPECT_EQ(::testing::internal::GetCapturedStdout(),
            "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.05000000074505806.\n");
}

TEST(CallbacksReduceLROnPlateau, InsideFitAddsLearningRateToHistory) {
  random::set_seed(5);
  Tensor x = features(), y = targets(x);
  Sequential model = sgd_model(0.1);
  // No loss change beats min_delta after epoch 0, so each later epoch reduces the rate once.
  ReduceLROnPlateau cb({.monitor = "loss", .factor = 0.5, .patience = 1, .min_delta = 1e9});
  History h = model.fit(x, y, {.batch_size = 4, .epochs = 4, .verbose = 0, .callbacks = {cb}});
  EXPECT_EQ(h.history.at("learning_rate"),
            (std::vector<double>{0.10000000149011612, 0.10000000149011612, 0.05000000074505806, 0.02500000037252903}));
  EXPECT_EQ(model.optimizer().learning_rate(), 0.012500000186264515);
}

TEST(CallbacksReduceLROnPlateau, ScheduledRateCannotBeSet) {
  Sequential model = sgd_model(
      optimizers::schedules::ExponentialDecay({.initial_learning_rate = 0.1, .decay_steps = 10, .decay_rate = 0.5}));
  ReduceLROnPlateau cb({.monitor = "loss", .patience = 0});
  cb.set_model(model.get());
  Logs e0{{"loss", 1.0}}, e1{{"loss", 2.0}};
  cb.on_epoch_end(0, e0);                  // an improvement: nothing to set
  EXPECT_EQ(e0.at("learning_rate"), 0.1);  // the schedule's rate at step 0
  testing::expect_error<ValueError>([&] { cb.on_epoch_end(1, e1); }, "not settable");
}

TEST(CallbacksLearningRateScheduler, SetsTheRateAtEpochBeginAndLogsIt) {
  random::set_seed(5);
  Tensor x = features(), y = targets(x);
  Sequential model = sgd_model(0.1);
  std::vector<double> seen;
  LearningRateScheduler cb([&](int epoch, double lr) {
    seen.push_back(lr);
    return epoch < 2 ? lr : lr * 0.5;
  });
  History h = model.fit(x, y, {.batch_size = 4, .epochs = 4, .verbose = 0, .callbacks = {cb}});
  // float(np.float32(r)) for r = 0.1, 0.1, 0.05, 0.025
  const std::vector<double> expected = {0.10000000149011612, 0.10000000149011612, 0.05000000074505806,
                                        0.02500000037252903};
  EXPECT_EQ(h.history.at("learning_rate"), expected);
  // The schedule sees the rate in force before its own update.
  EXPECT_EQ(seen, (std::vector<double>{expected[0], expected[0], expected[1], expected[2]}));
}

TEST(CallbacksLearningRateScheduler, EpochOnlyScheduleAndTheRateReallyDrivesTraining) {
  random::set_seed(5);
  Tensor x = features(), y = targets(x);
  Sequential model = sgd_model(0.1);
  const std::vector<Tensor> before = model.get_weights();
  // A zero rate: SGD leaves the weights as they were.
  LearningRateScheduler frozen([](int) { return 0.0; });
  History h = model.fit(x, y, {.batch_size = 4, .epochs = 2, .verbose = 0, .callbacks = {frozen}});
  EXPECT_EQ(h.history.at("learning_rate"), (std::vector<double>{0.0, 0.0}));
  const std::vector<Tensor> after = model.get_weights();
  for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i].to_vector<float>(), before[i].to_vector<float>());
  // And a non-zero one moves them.
  model.fit(
      x, y,
      {.batch_size = 4, .epochs = 1, .verbose = 0, .callbacks = {LearningRateScheduler([](int) { return 0.1; })}});
  EXPECT_NE(model.get_weights()[0].to_vector<float>(), before[0].to_vector<float>());
}

TEST(CallbacksLearningRateScheduler, VerboseMessageAndErrors) {
  Sequential model = sgd_model(0.1);
  LearningRateScheduler cb([](int epoch) { return 1e-5 * (epoch + 1); }, {.verbose = 1});
  cb.set_model(model.get());
  Logs logs;
  ::testing::internal::CaptureStdout();
  cb.on_epoch_begin(0, logs);
  cb.on_epoch_begin(2, logs);
  // Python: f"{1e-5 * 1}", f"{1e-5 * 3}" → 1e-05, 3.0000000000000004e-05
  EXPECT_EQ(::testing::internal::GetCapturedStdout(),
            "\nEpoch 1: LearningRateScheduler setting learning rate to 1e-05.\n"
            "\nEpoch 3: LearningRateScheduler setting learning rate to 3.0000000000000004e-05.\n");
  testing::expect_error<ValueError>([] { LearningRateScheduler(LearningRateScheduler::Schedule()); },
                                    "`schedule` must be a function");
}

}  // namespace
}  // namespace keel
