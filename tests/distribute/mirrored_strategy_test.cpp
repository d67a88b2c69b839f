// Strategies inside one process (keras-reference §11): MirroredStrategy over two logical CPUs trains like
// one device with the same global batch; BatchNormalization's moving statistics are averaged over the
// replicas; clipping applies to each replica's scaled gradient before the sum; scope() capture rules.
#include <gtest/gtest.h>

#include <cmath>

#include "keel/distribute/strategies.h"
#include "keel/keel.h"

namespace keel {
namespace {

using distribute::MirroredStrategy;
using distribute::OneDeviceStrategy;

void split_cpu_in_two() {
  config::set_logical_device_configuration(config::list_physical_devices("CPU")[0], {{}, {}});
}

struct Data {
  Tensor x, y;
};
Data classification_data(int64_t n) {
  Tensor x = random::normal({n, 6}, 0.0, 1.0, DType::f32, 11);
  std::vector<float> xs = x.to_vector<float>(), ys;
  for (int64_t i = 0; i < n; ++i) ys.push_back(xs[i * 6] + 0.5f * xs[i * 6 + 1] > 0 ? 1.0f : 0.0f);
  return {x, from_vector(ys, {n, 1})};
}

Sequential mlp(double clipvalue = 0) {
  Sequential model({layers::Input({6}), layers::Dense(8, "relu"), layers::Dense(1, "sigmoid")});
  optimizers::SGDOptions sgd{.learning_rate = 0.5};
  if (clipvalue > 0) sgd.clipvalue = clipvalue;
  model.compile({.optimizer = optimizers::SGD(sgd),
                 .loss = "binary_crossentropy",
                 .metrics = {"accuracy"}});
  return model;
}

double max_abs_diff(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    auto va = a[i].to_vector<float>(), vb = b[i].to_vector<float>();
    for (size_t k = 0; k < va.size(); ++k) d = std::max(d, std::abs(static_cast<double>(va[k]) - vb[k]));
  }
  return d;
}

TEST(StrategyShards, SplitTheGlobalBatchEvenlyInReplicaOrder) {
  split_cpu_in_two();
  MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
  using Ranges = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(strategy.extended().local_shards(16), (Ranges{{0, 8}, {8, 16}}));
  EXPECT_EQ(strategy.extended().local_shards(5), (Ranges{{0, 3}, {3, 5}}));
  EXPECT_EQ(strategy.extended().local_shards(1), (Ranges{{0, 1}, {1, 1}}));
  EXPECT_EQ(strategy.num_replicas_in_sync(), 2);
  EXPECT_EQ(strategy.devices(), (std::vector<std::string>{"/device:CPU:0", "/device:CPU:1"}));
}

TEST(StrategyScopeTest, ModelsCreatedOrCompiledInsideCaptureTheStrategy) {
  split_cpu_in_two();
  MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
  Sequential outside = mlp();
  EXPECT_EQ(outside->distribute_strategy(), nullptr);
  {
    auto scope = strategy.scope();
    EXPECT_EQ(current_strategy(), strategy.extended_ptr());
    Sequential inside = mlp();
    EXPECT_EQ(inside->distribute_strategy(), strategy.extended_ptr());
    outside->compile({.optimizer = "sgd", .loss = "mse"});  // compiled inside: captured too
    EXPECT_EQ(outside->distribute_strategy(), strategy.extended_ptr());
    {
      OneDeviceStrategy one("/CPU:0");
      auto inner = one.scope();
      EXPECT_EQ(current_strategy(), one.extended_ptr());
    }
    EXPECT_EQ(current_strategy(), strategy.extended_ptr());
  }
  EXPECT_EQ(current_strategy(), nullptr);
}

TEST(StrategyErrors, NameTheMissingDevice) {
  split_cpu_in_two();
  try {
    MirroredStrategy strategy({"/CPU:0", "/CPU:5"});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'/CPU:5'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("set_logical_device_configuration"), std::string::npos) << e.what();
  }
  EXPECT_THROW(MirroredStrategy({"/CPU:0", "/CPU:0"}), ValueError);
  EXPECT_THROW(OneDeviceStrategy("/GPU:7"), ValueError);
}

TEST(MirroredStrategyTest, TwoReplicasTrainLikeOneDeviceWithTheSameGlobalBatch) {
  split_cpu_in_two();
  random::set_seed(5);
  Data d = classification_data(96);
  Sequential single = mlp();
  MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
  Sequential mirrored = [&] {
    auto scope = strategy.scope();
    return mlp();
  }();
  mirrored.set_weights(single.get_weights());
  const FitOptions options{.batch_size = 16, .epochs = 3, .verbose = 0, .shuffle = false};
  History h1 = single.fit(d.x, d.y, options);
  History h2 = mirrored.fit(d.x, d.y, options);
  EXPECT_LT(max_abs_diff(single.get_weights(), mirrored.get_weights()), 1e-5);
  for (const char* key : {"loss", "accuracy"})
    for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(h1.history.at(key)[e], h2.history.at(key)[e], 1e-5) << key;
  // The weights moved: the comparison is not between two untrained models.
  EXPECT_LT(h1.history.at("loss")[2], h1.history.at("loss")[0]);

  auto e1 = single.evaluate(d.x, d.y, {.batch_size = 20, .verbose = 0});
  auto e2 = mirrored.evaluate(d.x, d.y, {.batch_size = 20, .verbose = 0});
  EXPECT_NEAR(e1.at("loss"), e2.at("loss"), 1e-5);
  EXPECT_DOUBLE_EQ(e1.at("accuracy"), e2.at("accuracy"));

  // Predictions come back in the input's order, including a short last batch of 7 (4 + 3 rows).
  std::vector<float> p1 = single.predict(d.x, {.batch_size = 89, .verbose = 0}).to_vector<float>();
  std::vector<float> p2 = mirrored.predict(d.x, {.batch_size = 89, .verbose = 0}).to_vector<float>();
  ASSERT_EQ(p1.size(), 96u);
  ASSERT_EQ(p2.size(), 96u);
  for (size_t i = 0; i < p1.size(); ++i) EXPECT_NEAR(p1[i], p2[i], 1e-6) << i;
}

TEST(MirroredStrategyTest, ClipsEachReplicasScaledGradientBeforeTheSum) {
  // Keras clips per replica, before the all-reduce: with a tiny clipvalue every gradient entry saturates,
  // so two replicas move each weight by 2 · lr · clipvalue where one device moves it by lr · clipvalue.
  split_cpu_in_two();
  random::set_seed(6);
  Data d = classification_data(32);
  const double clip = 1e-4, lr = 0.5;
  Sequential single = mlp(clip);
  MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
  Sequential mirrored = [&] {
    auto scope = strategy.scope();
    return mlp(clip);
  }();
  // Large weights make every gradient entry far larger than the clip value on both halves of the batch.
  std::vector<Tensor> start = single.get_weights();
  mirrored.set_weights(start);
  single.train_on_batch(d.x, d.y);
  mirrored.train_on_batch(d.x, d.y);
  auto w0 = start[2].to_vector<float>();  // the output kernel: every entry gets a gradient
  auto w1 = single.get_weights()[2].to_vector<float>(), w2 = mirrored.get_weights()[2].to_vector<float>();
  int saturated = 0;
  for (size_t i = 0; i < w0.size(); ++i) {
    const double step1 = std::abs(w1[i] - w0[i]), step2 = std::abs(w2[i] - w0[i]);
    EXPECT_LE(step1, lr * clip + 1e-7);  // 1e-7: rounding of w − step at |w| < 1
    if (std::abs(step1 - lr * clip) < 1e-7 && std::abs(step2 - 2 * lr * clip) < 1e-7) ++saturated;
  }
  EXPECT_GT(saturated, 0);
}

TEST(MirroredStrategyTest, AveragesBatchNormMovingStatisticsOverReplicas) {
  split_cpu_in_two();
  random::set_seed(7);
  Tensor x = random::normal({8, 3}, 1.0, 2.0, DType::f32, 21);
  Tensor y = zeros({8, 1});
  MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
  auto scope = strategy.scope();
  Sequential model({layers::Input({3}), layers::BatchNormalization(), layers::Dense(1)});
  model.compile({.optimizer = "sgd", .loss = "mse"});
  model.train_on_batch(x, y);
  // Replica r normalises its own 4 rows (per-replica statistics) and updates
  //   moving = 0.99 · moving + 0.01 · stat_r;  the replicas' results are averaged.
  std::vector<Tensor> w = model.get_weights();  // gamma, beta, moving_mean, moving_variance, kernel, bias
  auto xs = x.to_vector<float>();
  auto mm = w[2].to_vector<float>(), mv = w[3].to_vector<float>();
  for (int c = 0; c < 3; ++c) {
    double mean_avg = 0, var_avg = 0;
    for (int r = 0; r < 2; ++r) {
      double m = 0, v = 0;
      for (int i = 0; i < 4; ++i) m += xs[(r * 4 + i) * 3 + c] / 4.0;
      for (int i = 0; i < 4; ++i) v += std::pow(xs[(r * 4 + i) * 3 + c] - m, 2) / 4.0;
      mean_avg += (0.99 * 0.0 + 0.01 * m) / 2;
      var_avg += (0.99 * 1.0 + 0.01 * v) / 2;
    }
    EXPECT_NEAR(mm[c], mean_avg, 1e-6) << c;
    EXPECT_NEAR(mv[c], var_avg, 1e-6) << c;
  }
}

TEST(MirroredStrategyTest, SynchronizedBatchNormIsRefusedRatherThanSilentlyPerReplica) {
  split_cpu_in_two();
  MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
  auto scope = strategy.scope();
  Sequential model({layers::Input({3}), layers::BatchNormalization({.synchronized = true, .name = "sync_bn"}),
                    layers::Dense(1)});
  model.compile({.optimizer = "sgd", .loss = "mse"});
  try {
    model.train_on_batch(zeros({4, 3}), zeros({4, 1}));
    FAIL() << "expected UnimplementedError";
  } catch (const UnimplementedError& e) {
    EXPECT_NE(std::string(e.what()).find("'sync_bn'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("2 replicas"), std::string::npos) << e.what();
  }
}

TEST(OneDeviceStrategyTest, TrainsExactlyLikeNoStrategy) {
  random::set_seed(8);
  Data d = classification_data(40);
  Sequential plain = mlp();
  OneDeviceStrategy strategy("/CPU:0");
  Sequential one = [&] {
    auto scope = strategy.scope();
    return mlp();
  }();
  one.set_weights(plain.get_weights());
  const FitOptions options{.batch_size = 8, .epochs = 2, .verbose = 0, .shuffle = false};
  plain.fit(d.x, d.y, options);
  one.fit(d.x, d.y, options);
  EXPECT_EQ(max_abs_diff(plain.get_weights(), one.get_weights()), 0.0);
}

}  // namespace
}  // namespace keel
