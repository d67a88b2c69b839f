// The cuBLAS/cuDNN-backed CUDA kernels (matmul.cu, conv.cu, pooling.cu, softmax.cu, batch_norm.cu) against
// the CPU on what the small op-table cases do not reach: realistic sizes (other cuDNN algorithms, several
// batch-norm chunks per channel), ties in max pooling (the gradient goes to the first maximum), batch
// broadcasting that cuBLAS cannot stride through, exact float32 GEMM with TF32 off, and float16/bfloat16
// GEMM with float32 accumulation. Forward results and gradients of sum(f(x)·w) must agree.
#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <random>
#include <vector>

#include "gpu/gpu_test_util.h"
#include "keel/keel.h"
#include "ops/dispatch.h"
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;
const Device kCpu = Device::cpu(), kGpu = Device::cuda(0);

Tensor host(const Tensor& t) {
  if (t.device().is_cpu()) return t;
  DeviceScope on_gpu(t.device());
  return t.contiguous().to(kCpu);
}

struct Run {
  Tensor y;
  V grads;
};

// f on `device` with copies of the inputs (made wherever the test made them: by default on the GPU, as
// TensorFlow places new tensors), and the gradients of sum(f·w) for inputs `wrt`.
// `reference` runs the CPU side on the reference kernels (double accumulation) instead of oneDNN.
Run run_on(Device device, const std::function<Tensor(const V&)>& f, const V& inputs, const std::vector<size_t>& wrt,
           bool reference = false) {
  DeviceScope scope(device);
  std::optional<ReferenceKernelsScope> reference_kernels;
  if (reference && device.is_cpu()) reference_kernels.emplace();
  V in;
  for (const Tensor& t : inputs) in.push_back(t.device() == device ? t.clone() : t.to(device));
  for (size_t k : wrt) in[k].requires_grad_();
  Tensor y = f(in);
  if (wrt.empty()) return Run{host(y), {}};
  Tensor w;
  {
    DeviceScope on_cpu(kCpu);
    w = rand_uniform(y.shape(), y.dtype(), 777, 0.5, 1.5);
  }
  ops::sum(ops::multiply(y, w.to(device))).backward();
  Run r{host(y.detach()), {}};
  for (size_t k : wrt) r.grads.push_back(in[k].grad().defined() ? host(in[k].grad()) : Tensor());
  return r;
}

void expect_parity(const std::function<Tensor(const V&)>& f, const V& inputs, const std::vector<size_t>& wrt,
                   double rtol, double atol, bool cpu_reference = false) {
  const Run cpu = run_on(kCpu, f, inputs, wrt, cpu_reference);
  const Run gpu = run_on(kGpu, f, inputs, wrt);
  EXPECT_TRUE(all_close(gpu.y, cpu.y, rtol, atol)) << "forward";
  for (size_t i = 0; i < wrt.size(); ++i) {
    ASSERT_TRUE(gpu.grads[i].defined()) << "no gradient for input " << wrt[i];
    EXPECT_TRUE(all_close(gpu.grads[i], cpu.grads[i], rtol, atol)) << "gradient of input " << wrt[i];
  }
}

// Values from {0, 1, 2}: most pooling windows hold ties.
Tensor tied_values(const Shape& s, uint64_t seed) {
  std::mt19937 gen(seed);
  std::vector<float> v(shape_numel(s));
  for (float& x : v) x = static_cast<float>(gen() % 3);
  return from_vector(v, s, kCpu);
}

TEST(CudaDnnKernels, MaxPoolTiesSendTheGradientToTheFirstMaximum) {
  KEEL_REQUIRE_GPU();
  const V x{tied_values({2, 7, 6, 3}, 1)};
  // Overlapping windows sum several upstream values in another order: allow float32 rounding.
  expect_parity([](const V& in) { return ops::max_pool2d(in[0], {2}); }, x, {0}, 0, 1e-6);
  expect_parity([](const V& in) { return ops::max_pool2d(in[0], {3}, {{2}, "same"}); }, x, {0}, 1e-6, 1e-6);
  expect_parity([](const V& in) { return ops::max_pool2d(in[0], {3}, {{1}, "valid"}); }, x, {0}, 1e-6, 1e-6);
}

TEST(CudaDnnKernels, PoolingAtConvnetSize) {
  KEEL_REQUIRE_GPU();
  const V x{rand_uniform({16, 26, 26, 32}, DType::f32, 2)};
  expect_parity([](const V& in) { return ops::max_pool2d(in[0], {2}); }, x, {0}, 1e-6, 1e-6);
  expect_parity([](const V& in) { return ops::avg_pool2d(in[0], {3}, {{2}, "same"}); }, x, {0}, 1e-5, 1e-6);
}

TEST(CudaDnnKernels, ConvWithAsymmetricSamePaddingAtConvnetSize) {
  KEEL_REQUIRE_GPU();
  // 28 with stride 2 and a 3x3 kernel: TensorFlow pads 0 before and 1 after on both axes.
  const V in{rand_uniform({8, 28, 28, 16}, DType::f32, 3), rand_uniform({3, 3, 16, 32}, DType::f32, 4, -0.2, 0.2)};
  expect_parity([](const V& v) { return ops::conv2d(v[0], v[1], {{2}, "same"}); }, in, {0, 1}, 1e-4, 1e-4);
  expect_parity([](const V& v) { return ops::conv2d(v[0], v[1], {{1}, "same", {2}}); }, in, {0, 1}, 1e-4, 1e-4);
  const V grouped{rand_uniform({4, 15, 15, 16}, DType::f32, 5), rand_uniform({3, 3, 4, 32}, DType::f32, 6)};
  expect_parity([](const V& v) { return ops::conv2d(v[0], v[1], {{2}, "same", {1}, 4}); }, grouped, {0, 1}, 1e-4, 1e-4);
}

TEST(CudaDnnKernels, ConvTransposeAtConvnetSize) {
  KEEL_REQUIRE_GPU();
  const V in{rand_uniform({4, 14, 14, 32}, DType::f32, 7), rand_uniform({3, 3, 16, 32}, DType::f32, 8, -0.2, 0.2)};
  expect_parity([](const V& v) { return ops::conv2d_transpose(v[0], v[1], {{2}, "same"}); }, in, {0, 1}, 1e-4, 1e-4);
  expect_parity(
      [](const V& v) {
        return ops::conv2d_transpose(v[0], v[1], {{2}, "valid"}, {{1}});
      },
      in, {0, 1}, 1e-4, 1e-4);
}

TEST(CudaDnnKernels, BatchNormWithSeveralChunksPerChannel) {
  KEEL_REQUIRE_GPU();
  // Channels last with 6000 rows (6 chunks per channel), and channels-first images (inner 900). The
  // statistics are checked on data far from zero (mean 10: a one-pass variance would lose digits); the
  // gradients on centred data against the reference kernels: with mean 10, dgamma = r·Σdy·(x - mean) moves
  // by r·Σdy·δ for a mean off by δ, so one float32 ulp of the mean (1e-6) shifts it by ~1e-2, and oneDNN's
  // channels-last mean (off by ~1.5e-6 relative) by 1.7 % (seen on an H200 machine: GPU 9.3104, oneDNN
  // 9.1525, float64 9.3106).
  for (double centre : {10.0, 0.0}) {
    const V last{rand_uniform({6000, 5}, DType::f32, 9, centre - 1, centre + 1),
                 rand_uniform({5}, DType::f32, 10, 0.5, 1.5), rand_uniform({5}, DType::f32, 11)};
    const V first{rand_uniform({6, 4, 30, 30}, DType::f32, 12, centre - 1, centre + 1),
                  rand_uniform({4}, DType::f32, 13, 0.5, 1.5), rand_uniform({4}, DType::f32, 14)};
    for (auto [inputs, axis] : {std::pair{&last, int64_t{-1}}, std::pair{&first, int64_t{1}}}) {
      const int64_t ax = axis;
      if (centre == 0.0) {
        expect_parity([ax](const V& v) { return ops::batch_norm_train(v[0], v[1], v[2], ax).y; }, *inputs, {0, 1, 2},
                      1e-4, 1e-4, /*cpu_reference=*/true);
        continue;
      }
      for (int stat = 0; stat < 2; ++stat) {
        auto f = [ax, stat](const V& v) {
          auto r = ops::batch_norm_train(v[0], v[1], v[2], ax);
          return stat == 0 ? r.mean : r.variance;
        };
        expect_parity(f, *inputs, {}, 1e-5, 1e-6);
      }
    }
  }
}

TEST(CudaDnnKernels, MatMulBroadcastsBatchesCuBlasCannotStride) {
  KEEL_REQUIRE_GPU();
  const V in{rand_uniform({2, 1, 3, 4}, DType::f32, 15), rand_uniform({5, 4, 2}, DType::f32, 16)};
  expect_parity([](const V& v) { return ops::matmul(v[0], v[1]); }, in, {0, 1}, 1e-5, 1e-6);
  // A transposed (column-major) batch against a shared matrix (batch stride 0).
  const V views{rand_uniform({3, 6, 4}, DType::f32, 17), rand_uniform({6, 5}, DType::f32, 18)};
  expect_parity(
      [](const V& v) {
        return ops::matmul(ops::transpose(v[0], {0, 2, 1}), v[1]);
      },
      views, {0, 1}, 1e-5, 1e-6);
}

TEST(CudaDnnKernels, Float32MatMulIsExactWithTf32Off) {
  KEEL_REQUIRE_GPU();
  // TF32's 10-bit mantissa would put errors near 1e-3 on these sums of 512 products; float32 stays ~1e-5.
  const V in{rand_uniform({256, 512}, DType::f32, 19), rand_uniform({512, 256}, DType::f32, 20)};
  expect_parity([](const V& v) { return ops::matmul(v[0], v[1]); }, in, {0, 1}, 1e-5, 1e-4);
  const V dense_in{rand_uniform({128, 512}, DType::f32, 21), rand_uniform({512, 64}, DType::f32, 22),
                   rand_uniform({64}, DType::f32, 23)};
  expect_parity([](const V& v) { return ops::dense(v[0], v[1], v[2]); }, dense_in, {0, 1, 2}, 1e-5, 1e-4);
}

TEST(CudaDnnKernels, HalfPrecisionMatMulAccumulatesInFloat32) {
  KEEL_REQUIRE_GPU();
  for (DType dt : {DType::f16, DType::bf16}) {
    Tensor a, b, bias, expected;
    {
      DeviceScope on_cpu(kCpu);
      a = rand_uniform({64, 256}, DType::f32, 24).astype(dt);
      b = rand_uniform({256, 32}, DType::f32, 25).astype(dt);
      bias = rand_uniform({32}, DType::f32, 26).astype(dt);
      // The same rounded inputs multiplied in float32, then rounded once like the GPU's float32 accumulator.
      expected = ops::dense(a.astype(DType::f32), b.astype(DType::f32), bias.astype(DType::f32)).astype(dt);
    }
    Tensor actual;
    {
      DeviceScope on_gpu(kGpu);
      actual = ops::dense(a.to(kGpu), b.to(kGpu), bias.to(kGpu));
    }
    ASSERT_EQ(actual.dtype(), dt);
    const double tol = dt == DType::f16 ? 2e-3 : 1e-2;  // one rounding of the result
    EXPECT_TRUE(all_close(host(actual).astype(DType::f32), expected.astype(DType::f32), tol, tol)) << dtype_name(dt);
  }
}

}  // namespace
}  // namespace keel::testing
