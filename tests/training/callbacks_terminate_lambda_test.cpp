// TerminateOnNaN (keras-reference §9.6) and LambdaCallback: driven through real fit / evaluate /
// predict calls, with a NaN planted in one training batch.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "keel/keel.h"
#include "keel/models/model.h"
#include "keel/optimizers/optimizers.h"
#include "keel/training/callbacks.h"
#include "test_util.h"

namespace keel {
namespace {

using callbacks::LambdaCallback;
using callbacks::TerminateOnNaN;

Sequential sgd_model() {
  Sequential model({layers::Input({4}), layers::Dense(1)});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.1}), .loss = {"mse"}});
  return model;
}

/// 8 samples in batches of 2; sample 5 (batch 2) holds a NaN feature when `nan` is set.
struct Data {
  Tensor x, y;
};
Data data(bool nan) {
  std::vector<float> xs(32);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
  if (nan) xs[5 * 4 + 2] = std::numeric_limits<float>::quiet_NaN();
  Tensor x = from_vector(xs, {8, 4});
  return {x, ops::sum(x, {1}, true)};
}

TEST(CallbacksTerminateOnNaN, StopsAfterTheBatchWithTheNaNLoss) {
  random::set_seed(1);
  Sequential model = sgd_model();
  auto [x, y] = data(true);
  int batches = 0;
  std::vector<double> batch_losses;
  LambdaCallback count({.on_train_batch_end = [&](int64_t, Logs& logs) {
    ++batches;
    batch_losses.push_back(logs.at("loss"));
  }});
  ::testing::internal::CaptureStdout();
  History h = model.fit(
      x, y, {.batch_size = 2, .epochs = 5, .verbose = 0, .callbacks = {count, TerminateOnNaN()}, .shuffle = false});
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "Batch 2: Invalid loss, terminating training\n");
  EXPECT_EQ(batches, 3);
  ASSERT_EQ(batch_losses.size(), 3u);
  EXPECT_TRUE(std::isfinite(batch_losses[1]));
  EXPECT_TRUE(std::isnan(batch_losses[2]));
  EXPECT_EQ(h.epoch, std::vector<int>{0});  // the epoch ends, no further epoch starts
}

TEST(CallbacksTerminateOnNaN, RaiseErrorThrowsAndCleanDataTrainsOn) {
  random::set_seed(1);
  Sequential model = sgd_model();
  auto [x, y] = data(true);
  testing::expect_error<RuntimeError>(
      [&] {
        model.fit(x, y,
                  {.batch_size = 2,
                   .epochs = 5,
                   .verbose = 0,
                   .callbacks = {TerminateOnNaN({.raise_error = true})},
                   .shuffle = false});
      },
      "NaN or Inf loss encountered at batch 2. Loss value: nan. Terminating training immediately.");
  Sequential clean = sgd_model();
  auto [cx, cy] = data(false);
  History h = clean.fit(cx, cy, {.batch_size = 2, .epochs = 3, .verbose = 0, .callbacks = {TerminateOnNaN()}});
  EXPECT_EQ(h.epoch.size(), 3u);
}

TEST(CallbacksTerminateOnNaN, InfiniteLossAlsoStopsAndOtherKeysAreIgnored) {
  Sequential model = sgd_model();
  TerminateOnNaN cb;
  cb.set_model(model.get());
  Logs no_loss{{"mae", std::numeric_limits<double>::quiet_NaN()}};
  cb.on_train_batch_end(0, no_loss);
  EXPECT_FALSE(model->stop_training);
  Logs inf{{"loss", -std::numeric_limits<double>::infinity()}};
  ::testing::internal::CaptureStdout();
  cb.on_train_batch_end(7, inf);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "Batch 7: Invalid loss, terminating training\n");
  EXPECT_TRUE(model->stop_training);
}

TEST(CallbacksLambdaCallback, CallsEachFunctionAtItsHookAndCanAddLogs) {
  random::set_seed(1);
  Sequential model = sgd_model();
  auto [x, y] = data(false);
  std::vector<std::string> calls;
  LambdaCallback cb({
      .on_epoch_begin = [&](int e, Logs&) { calls.push_back("epoch_begin:" + std::to_string(e)); },
      .on_epoch_end =
          [&](int e, Logs& logs) {
            calls.push_back("epoch_end:" + std::to_string(e));
            logs["twice_loss"] = 2 * logs.at("loss");  // History sees keys user callbacks add
          },
      .on_train_begin = [&](Logs&) { calls.push_back("train_begin"); },
      .on_train_end = [&](Logs& logs) { calls.push_back("train_end:" + std::to_string(logs.count("val_loss"))); },
      .on_train_batch_begin = [&](int64_t b, Logs&) { calls.push_back("batch_begin:" + std::to_string(b)); },
      .on_train_batch_end = [&](int64_t b, Logs&) { calls.push_back("batch_end:" + std::to_string(b)); },
      .on_batch_end = [&](int64_t, Logs&) { calls.push_back("legacy batch_end"); },  // shadowed
      .on_test_begin = [&](Logs&) { calls.push_back("test_begin"); },
      .on_test_end = [&](Logs&) { calls.push_back("test_end"); },
      .on_test_batch_end = [&](int64_t b, Logs&) { calls.push_back("test_batch_end:" + std::to_string(b)); },
  });
  History h = model.fit(
      x, y, {.batch_size = 4, .epochs = 2, .verbose = 0, .callbacks = {cb}, .validation_split = 0.5, .shuffle = false});
  // 4 training samples = 1 batch of 4; 4 validation samples = 1 batch.
  const std::vector<std::string> expected = {"train_begin",      "epoch_begin:0",    "batch_begin:0", "batch_end:0",
                                             "test_begin",       "test_batch_end:0", "test_end",      "epoch_end:0",
                                             "epoch_begin:1",    "batch_begin:0",    "batch_end:0",   "test_begin",
                                             "test_batch_end:0", "test_end",         "epoch_end:1",   "train_end:1"};
  EXPECT_EQ(calls, expected);
  ASSERT_EQ(h.history.at("twice_loss").size(), 2u);
  for (int e = 0; e < 2; ++e) EXPECT_EQ(h.history.at("twice_loss")[e], 2 * h.history.at("loss")[e]);
}

TEST(CallbacksLambdaCallback, LegacyBatchNamesAndPredictHooks) {
  random::set_seed(1);
  Sequential model = sgd_model();
  auto [x, y] = data(false);
  int batch_begins = 0, batch_ends = 0;
  LambdaCallback legacy({.on_batch_begin = [&](int64_t, Logs&) { ++batch_begins; },
                         .on_batch_end = [&](int64_t, Logs& logs) { batch_ends += logs.count("loss") ? 1 : 0; }});
  model.fit(x, y, {.batch_size = 2, .epochs = 3, .verbose = 0, .callbacks = {legacy}});
  EXPECT_EQ(batch_begins, 12);  // 4 batches × 3 epochs, through the default on_train_batch_* bodies
  EXPECT_EQ(batch_ends, 12);

  std::vector<std::string> calls;
  LambdaCallback predict_hooks({
      .on_predict_begin = [&](Logs&) { calls.push_back("predict_begin"); },
      .on_predict_end = [&](Logs&) { calls.push_back("predict_end"); },
      .on_predict_batch_begin = [&](int64_t b, Logs&) { calls.push_back("begin:" + std::to_string(b)); },
      .on_predict_batch_end = [&](int64_t b, Logs&) { calls.push_back("end:" + std::to_string(b)); },
  });
  model.predict(x, {.batch_size = 4, .verbose = 0, .callbacks = {predict_hooks}});
  EXPECT_EQ(calls, (std::vector<std::string>{"predict_begin", "begin:0", "end:0", "begin:1", "end:1", "predict_end"}));

  // Empty functions are skipped: a default LambdaCallback is a no-op.
  History h = model.fit(x, y, {.batch_size = 4, .epochs = 1, .verbose = 0, .callbacks = {LambdaCallback()}});
  EXPECT_EQ(h.epoch.size(), 1u);
}

}  // namespace
}  // namespace keel
