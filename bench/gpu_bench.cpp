// Keel on GPU:0, for scripts/gpu-check: train steps at batch 128 of the MLP 784-512-512-10 and of the Keras
// mnist_convnet, and 4096x4096x4096 GEMMs (float32 exact, float32 with TF32, bfloat16). bench/gpu_bench_torch.py
// times the same work in PyTorch. Each line reads "RESULT <name> <median ms> <unit>" (nan when the step
// failed; the reason follows on a "# " line), and gpu-check joins the two outputs into one table.
//
// A train step is train_on_batch, which returns the loss as a number and so waits for the GPU, exactly as
// the PyTorch side does with loss.item(). Inputs are random (never zeros: they hide unwritten outputs and
// can run faster than real data), made on the CPU and copied over once.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <keel/keel.h>

using namespace keel;

namespace {

void sync() {
  const cudaError_t e = cudaDeviceSynchronize();
  if (e != cudaSuccess) throw RuntimeError(std::string("cudaDeviceSynchronize: ") + cudaGetErrorString(e));
}

/// Median wall time of `iters` calls of `step`, over `samples` samples, after `warmup` calls.
double median_ms(const std::function<void()>& step, int warmup, int samples, int iters) {
  for (int i = 0; i < warmup; ++i) step();
  sync();
  std::vector<double> ms;
  for (int s = 0; s < samples; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) step();
    sync();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / iters);
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

void report(const char* name, const char* unit, const std::function<double()>& run) {
  try {
    std::printf("RESULT %s %.4f %s\n", name, run(), unit);
  } catch (const std::exception& e) {
    std::printf("RESULT %s nan %s\n# %s: %s\n", name, unit, name, e.what());
  }
  std::fflush(stdout);
}

Tensor on_gpu(const Tensor& t) { return t.to(Device::cuda(0)); }

/// Random one-hot labels for `n` samples of `classes` classes, on the GPU.
Tensor labels(int64_t n, int64_t classes, uint64_t seed) {
  DeviceScope on_cpu(Device::cpu());
  Tensor u = random::uniform({n}, 0.0, static_cast<double>(classes), DType::f32, seed);
  return on_gpu(ops::one_hot(u.astype(DType::i64), classes));
}

Tensor random_input(const Shape& shape, uint64_t seed) {
  DeviceScope on_cpu(Device::cpu());
  return on_gpu(random::uniform(shape, 0.0, 1.0, DType::f32, seed));
}

double train_step_ms(Sequential& model, const Tensor& x, const Tensor& y) {
  model.compile({.optimizer = "adam", .loss = "categorical_crossentropy"});
  return median_ms([&] { model.train_on_batch(x, y); }, 10, 30, 5);
}

double mlp_step() {
  random::set_seed(1);
  Sequential model(
      {layers::Input({784}), layers::Dense(512, "relu"), layers::Dense(512, "relu"), layers::Dense(10, "softmax")});
  return train_step_ms(model, random_input({128, 784}, 2), labels(128, 10, 3));
}

double convnet_step() {
  random::set_seed(1);
  Sequential model({layers::Input({28, 28, 1}), layers::Conv2D(32, {3, 3}, {.activation = "relu"}),
                    layers::MaxPooling2D({2, 2}), layers::Conv2D(64, {3, 3}, {.activation = "relu"}),
                    layers::MaxPooling2D({2, 2}), layers::Flatten(), layers::Dropout(0.5),
                    layers::Dense(10, "softmax")});
  return train_step_ms(model, random_input({128, 28, 28, 1}, 4), labels(128, 10, 5));
}

/// TFLOP/s of an n x n x n matrix product in `dtype`.
double gemm_tflops(DType dtype, int64_t n = 4096) {
  NoGradGuard no_grad;
  // Two input pairs, alternated, so repeated products do not just re-read one pair from L2.
  Tensor a[2] = {random_input({n, n}, 6).astype(dtype), random_input({n, n}, 7).astype(dtype)};
  Tensor b[2] = {random_input({n, n}, 8).astype(dtype), random_input({n, n}, 9).astype(dtype)};
  int k = 0;
  const double ms = median_ms(
      [&] {
        Tensor c = ops::matmul(a[k], b[k]);
        k ^= 1;
      },
      3, 15, 10);
  return 2.0 * n * n * n / (ms * 1e-3) / 1e12;
}

}  // namespace

int main() {
  const std::vector<config::PhysicalDevice> gpus = config::list_physical_devices("GPU");
  if (gpus.empty()) {
    std::fprintf(stderr, "keel_gpu_bench: no CUDA device visible; run it on a machine with a GPU\n");
    return 2;
  }
  DeviceScope scope("/GPU:0");
  report("mlp_784_512_512_10_train_step_b128", "ms", mlp_step);
  report("mnist_convnet_train_step_b128", "ms", convnet_step);
  report("gemm4096_f32", "TFLOP/s", [] { return gemm_tflops(DType::f32); });
  report("gemm4096_f32_tf32", "TFLOP/s", [] {
    struct Tf32On {
      Tf32On() { config::enable_tensor_float_32_execution(true); }
      ~Tf32On() { config::enable_tensor_float_32_execution(false); }
    } tf32;
    return gemm_tflops(DType::f32);
  });
  report("gemm4096_bf16", "TFLOP/s", [] { return gemm_tflops(DType::bf16); });
  return 0;
}
