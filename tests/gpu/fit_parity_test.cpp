// A short training run follows the same trajectory on the GPU as on the CPU: one small Sequential model,
// the same initial weights and batches, 20 Adam steps; every step's loss agrees within 1e-4. And model.fit
// on arrays that live on the GPU.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "gpu/gpu_test_util.h"
#include "keel/keel.h"
#include "ops/op_cases.h"

namespace keel {
namespace {

constexpr int kSteps = 20;
constexpr int64_t kBatch = 16, kSamples = 64;

Sequential make_model() {
  Sequential model({layers::Input({8}), layers::Dense(16, "relu"), layers::Dense(4, "softmax")});
  model.compile({.optimizer = optimizers::Adam({.learning_rate = 0.01}), .loss = {"categorical_crossentropy"}});
  return model;
}

struct Data {
  Tensor x, y;
};

Data make_data() {
  DeviceScope on_cpu(Device::cpu());
  Tensor x = random::normal({kSamples, 8}, 0.0, 1.0, DType::f32, 11);
  // Labels from a fixed linear rule, so the model has something to learn.
  Tensor w = random::normal({8, 4}, 0.0, 1.0, DType::f32, 12);
  Tensor y = ops::one_hot(ops::argmax(ops::matmul(x, w), -1), 4);
  return {x, y};
}

/// Per-step training losses of `model` on `device`, batches taken in order from `data`.
std::vector<double> train(const Sequential& model, const Data& data, Device device) {
  std::vector<double> losses;
  for (int step = 0; step < kSteps; ++step) {
    const int64_t start = (step * kBatch) % kSamples;
    Tensor xb = ops::slice_axis(data.x, 0, start, start + kBatch).contiguous().to(device);
    Tensor yb = ops::slice_axis(data.y, 0, start, start + kBatch).contiguous().to(device);
    DeviceScope scope(device);
    losses.push_back(model.train_on_batch(xb, yb).at("loss"));
  }
  return losses;
}

TEST(GpuFit, TwentyStepsFollowTheCpuLosses) {
  KEEL_REQUIRE_GPU();
  const Data data = make_data();
  std::vector<double> cpu_losses, gpu_losses;
  std::vector<Tensor> initial;
  {
    DeviceScope on_cpu(Device::cpu());
    random::set_seed(5);
    Sequential model = make_model();
    for (const Tensor& w : model.get_weights()) initial.push_back(w.detach().clone());
    cpu_losses = train(model, data, Device::cpu());
  }
  {
    DeviceScope on_gpu("/GPU:0");
    random::set_seed(5);
    Sequential model = make_model();
    std::vector<Tensor> on_device;
    for (const Tensor& w : initial) on_device.push_back(w.to(Device::cuda(0)));
    model.set_weights(on_device);
    for (const Variable& v : model.weights()) EXPECT_EQ(v.value().device(), Device::cuda(0)) << v.name();
    gpu_losses = train(model, data, Device::cuda(0));
  }
  ASSERT_EQ(gpu_losses.size(), cpu_losses.size());
  for (size_t i = 0; i < cpu_losses.size(); ++i) EXPECT_NEAR(gpu_losses[i], cpu_losses[i], 1e-4) << "step " << i;
  EXPECT_LT(cpu_losses.back(), cpu_losses.front());  // it did train
}

// model.fit as a user calls it, on arrays made where new tensors go by default (GPU:0, as in TensorFlow):
// shuffled batches and class weights are gathered on the GPU, the validation split is cut there, and every
// epoch's logs and the predictions follow the same run on the CPU.
struct FitRun {
  std::map<std::string, std::vector<double>> history;
  Tensor predictions;
};

FitRun fit_on(Device device, const std::vector<Tensor>& initial, const Data& data) {
  DeviceScope scope(device);
  random::set_seed(5);
  Sequential model = make_model();
  std::vector<Tensor> weights;
  for (const Tensor& w : initial) weights.push_back(w.to(device));
  model.set_weights(weights);
  const Tensor x = data.x.to(device), y = data.y.to(device);
  EXPECT_EQ(x.device(), device);
  History h = model.fit(x, y, {.batch_size = 16, .epochs = 3, .verbose = 0, .validation_split = 0.25,
                               .shuffle = true, .class_weight = {{0, 1.0}, {1, 2.0}, {2, 0.5}, {3, 1.0}}});
  Tensor p = model.predict(x, {.verbose = 0});
  return {h.history, p.device().is_cpu() ? p : p.to(Device::cpu())};
}

TEST(GpuFit, FitOnArraysPlacedOnTheGpuFollowsTheCpu) {
  KEEL_REQUIRE_GPU();
  const Data data = make_data();
  std::vector<Tensor> initial;
  {
    DeviceScope on_cpu(Device::cpu());
    random::set_seed(5);
    for (const Tensor& w : make_model().get_weights()) initial.push_back(w.detach().clone());
  }
  const FitRun cpu = fit_on(Device::cpu(), initial, data);
  const FitRun gpu = fit_on(Device::cuda(0), initial, data);
  ASSERT_EQ(gpu.history.size(), cpu.history.size());
  for (const auto& [name, values] : cpu.history) {
    ASSERT_TRUE(gpu.history.contains(name)) << name;
    ASSERT_EQ(gpu.history.at(name).size(), values.size()) << name;
    for (size_t e = 0; e < values.size(); ++e) EXPECT_NEAR(gpu.history.at(name)[e], values[e], 1e-4) << name << " epoch " << e;
  }
  EXPECT_TRUE(testing::all_close(gpu.predictions, cpu.predictions, 1e-4, 1e-5));
}

}  // namespace
}  // namespace keel
