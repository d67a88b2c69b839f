// The CUDA runtime on a real GPU: device discovery against the driver, default placement, copies in
// every direction (small, staged through pinned memory, across logical GPUs), and TensorFlow's memory
// options: growth, the default up-front reservation, a memory limit, two logical GPUs on one card, and
// the error for configuring after initialization. Each test skips with the reason when there is no GPU.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "backends/cuda/runtime.h"
#include "core/gpu_runtime.h"
#include "core/tensor_internals.h"
#include "gpu/gpu_test_util.h"
#include "keel/keel.h"
#include "test_util.h"

namespace keel {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

/// Values that differ in every element, so a misplaced or missing chunk cannot go unnoticed.
std::vector<float> distinct_values(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i) * 0.37f + std::sin(float(i));
  return v;
}

/// `floats` float32 elements on `device`, uninitialized.
Tensor floats_on(int64_t floats, Device device) { return empty({floats}, DType::f32, device); }

TEST(GpuDevices, PhysicalDevicesAreTheDriversDevices) {
  KEEL_REQUIRE_GPU();
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  std::vector<config::PhysicalDevice> gpus = config::list_physical_devices("GPU");
  ASSERT_EQ(static_cast<int>(gpus.size()), count);
  for (int i = 0; i < count; ++i) {
    EXPECT_EQ(gpus[i].name, "/physical_device:GPU:" + std::to_string(i));
    EXPECT_EQ(gpus[i].device_type, "GPU");
    EXPECT_EQ(gpus[i].index, i);
  }
  cudaDeviceProp prop{};
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  const std::string description = gpu::registered_gpu_runtime()->device_description(0);
  EXPECT_NE(description.find(prop.name), std::string::npos) << description;
  EXPECT_NE(description.find("compute " + std::to_string(prop.major) + "." + std::to_string(prop.minor)),
            std::string::npos)
      << description;
}

TEST(GpuDevices, NewTensorsDefaultToGpu0) {
  KEEL_REQUIRE_GPU();
  EXPECT_EQ(default_device(), Device::cuda(0));
  EXPECT_EQ(zeros({3}).device(), Device::cuda(0));
  std::vector<config::LogicalDevice> logical = config::list_logical_devices("GPU");
  ASSERT_FALSE(logical.empty());
  EXPECT_EQ(logical[0].name, "/device:GPU:0");
  {
    DeviceScope on_cpu("/CPU:0");
    EXPECT_EQ(zeros({3}).device(), Device::cpu());
  }
}

TEST(GpuCopy, HostToGpuToHostIsExactAtEverySize) {
  KEEL_REQUIRE_GPU();
  // 1 MiB and up is staged through pinned chunks of 4 MiB; 3'000'001 floats is three chunks and a tail.
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{1000}, kMiB / 4 - 1, kMiB / 4, int64_t{3'000'001}}) {
    const std::vector<float> values = distinct_values(n);
    Tensor host = from_vector(values, {n}, Device::cpu());
    Tensor on_gpu = host.to(Device::cuda(0));
    ASSERT_EQ(on_gpu.device(), Device::cuda(0));
    EXPECT_EQ(on_gpu.to(Device::cpu()).to_vector<float>(), values) << n << " floats, host -> GPU -> host";
    Tensor gpu_copy = detail::copy_to_device(on_gpu, Device::cuda(0));
    if (n > 0) {
      EXPECT_NE(gpu_copy.data_ptr(), on_gpu.data_ptr());
    }
    EXPECT_EQ(gpu_copy.to_vector<float>(), values) << n << " floats, GPU -> GPU";
  }
}

TEST(GpuCopy, IntegerAndNonContiguousHostTensors) {
  KEEL_REQUIRE_GPU();
  std::vector<int64_t> labels = {3, -1, 1LL << 40, 0, 7};
  EXPECT_EQ(from_vector(labels, {5}, Device::cpu()).to(Device::cuda(0)).to_vector<int64_t>(), labels);
  // A transposed view is copied in logical (row-major) order.
  Tensor base = from_vector(distinct_values(12), {3, 4}, Device::cpu());
  Tensor view = ops::transpose(base);
  ASSERT_FALSE(view.is_contiguous());
  EXPECT_EQ(view.to(Device::cuda(0)).to_vector<float>(), view.to_vector<float>());
}

/// Memory options are fixed at initialization: each test starts from a fresh configuration (and puts
/// it back), with the growth environment overrides out of the way.
class GpuMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    KEEL_REQUIRE_GPU();
    gpu::reset_for_testing();
    for (const char* name : {"KEEL_GPU_ALLOW_GROWTH", "TF_FORCE_GPU_ALLOW_GROWTH"}) {
      if (const char* value = std::getenv(name)) saved_env_.emplace_back(name, value);
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_env_) setenv(name.c_str(), value.c_str(), 1);
    gpu::reset_for_testing();
  }
  static config::PhysicalDevice gpu0() { return config::list_physical_devices("GPU").at(0); }
  static memory::MemoryStats stats(int logical = 0) { return cuda::device_allocator(logical).stats(); }

 private:
  std::vector<std::pair<std::string, std::string>> saved_env_;
};

TEST_F(GpuMemory, GrowthStartsSmallAndGrowsOnDemand) {
  config::set_memory_growth(gpu0(), true);
  Tensor small = floats_on(kMiB / 4, Device::cuda(0));  // 1 MiB
  EXPECT_LE(stats().reserved_bytes, 16 * kMiB);
  Tensor large = floats_on(64 * kMiB, Device::cuda(0));  // 256 MiB
  EXPECT_GE(stats().reserved_bytes, 257 * kMiB);
  EXPECT_LE(stats().reserved_bytes, 300 * kMiB);
  config::MemoryInfo info = config::get_memory_info("GPU:0");
  EXPECT_GE(info.current, 257 * kMiB);
  EXPECT_GE(info.peak, info.current);
  large = Tensor();
  info = config::get_memory_info("GPU:0");
  EXPECT_LT(info.current, 16 * kMiB);
  EXPECT_GE(info.peak, 257 * kMiB);
  config::reset_memory_stats("GPU:0");
  info = config::get_memory_info("GPU:0");
  EXPECT_EQ(info.peak, info.current);
}

TEST_F(GpuMemory, WithoutGrowthTheFirstAllocationReservesMostOfTheCard) {
  // Initialize first: that gives back what an earlier configuration in this process still caches.
  ASSERT_FALSE(config::list_logical_devices("GPU").empty());
  ASSERT_EQ(cudaSetDevice(0), cudaSuccess);
  size_t free_before = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free_before, &total), cudaSuccess);
  Tensor tiny = floats_on(256, Device::cuda(0));
  const auto reserved = static_cast<double>(stats().reserved_bytes);
  EXPECT_GE(reserved, 0.8 * static_cast<double>(free_before));
  EXPECT_LE(reserved, static_cast<double>(free_before));
}

TEST_F(GpuMemory, MemoryLimitIsEnforcedWithResourceExhaustedError) {
  config::set_logical_device_configuration(gpu0(), {{.memory_limit_mb = 256}});
  Tensor a = floats_on(32 * kMiB, Device::cuda(0));  // 128 MiB
  // 200 MiB more would cross the limit.
  testing::expect_error<ResourceExhaustedError>([] { floats_on(50 * kMiB, Device::cuda(0)); },
                                                "OOM when allocating 200.00 MiB", "GPU:0", "limit 256.00 MiB");
  EXPECT_LE(stats().reserved_bytes, 256 * kMiB);
  a = Tensor();
  Tensor b = floats_on(50 * kMiB, Device::cuda(0));  // fits once the first block is free
  EXPECT_EQ(b.device(), Device::cuda(0));
}

TEST_F(GpuMemory, TwoLogicalGpusOnOneCardHaveSeparateLimits) {
  config::set_logical_device_configuration(gpu0(), {{.memory_limit_mb = 128}, {.memory_limit_mb = 128}});
  std::vector<config::LogicalDevice> logical = config::list_logical_devices("GPU");
  ASSERT_GE(logical.size(), 2u);
  EXPECT_EQ(logical[1].name, "/device:GPU:1");
  EXPECT_EQ(cuda::physical_device(0), 0);
  EXPECT_EQ(cuda::physical_device(1), 0);
  Tensor a = floats_on(25 * kMiB, Device::cuda(0));  // 100 MiB each: both fit, each in its own limit
  Tensor b = floats_on(25 * kMiB, Device::cuda(1));
  EXPECT_THROW(floats_on(25 * kMiB, Device::cuda(1)), ResourceExhaustedError);
  // Between logical GPUs (two streams on one card) and back.
  const std::vector<float> values = distinct_values(1'500'001);
  Tensor moved = from_vector(values, {1'500'001}, Device::cpu()).to(Device::cuda(0)).to(Device::cuda(1));
  EXPECT_EQ(moved.device(), Device::cuda(1));
  EXPECT_EQ(moved.to_vector<float>(), values);
}

TEST_F(GpuMemory, ConfiguringAfterInitializationRaisesRuntimeError) {
  Tensor t = floats_on(4, Device::cuda(0));  // initializes the runtime
  testing::expect_error<RuntimeError>([] { config::set_memory_growth(gpu0(), true); }, "initialized");
  testing::expect_error<RuntimeError>(
      [] { config::set_logical_device_configuration(gpu0(), {{.memory_limit_mb = 64}}); }, "initialized");
}

}  // namespace
}  // namespace keel
