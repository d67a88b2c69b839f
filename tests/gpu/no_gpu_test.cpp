// The CUDA build on a machine without a usable GPU (CI, the build machine): the runtime is registered,
// reports no devices without printing anything, and asking for a GPU tensor is a clear ValueError.
// Skipped where a GPU is present (the other tests in this folder cover that case).
#include <gtest/gtest.h>

#include "core/gpu_runtime.h"
#include "gpu/gpu_test_util.h"
#include "keel/keel.h"
#include "test_util.h"

namespace keel {
namespace {

TEST(NoGpu, TheCudaBuildReportsNoDevicesQuietlyAndRefusesGpuTensors) {
  if (testing::gpu_unavailable_reason().empty()) GTEST_SKIP() << "a GPU is present";
  ASSERT_TRUE(gpu::has_gpu_runtime());
  ASSERT_TRUE(has_device_backend(DeviceType::kCUDA));
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(gpu::registered_gpu_runtime()->physical_device_count(), 0);
  EXPECT_TRUE(config::list_physical_devices("GPU").empty());
  EXPECT_EQ(default_device(), Device::cpu());
  EXPECT_EQ(device_backend(Device::cuda(0)).device_count(), 0);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  testing::expect_error<ValueError>([] { empty({4}, DType::f32, Device::cuda(0)); }, "GPU:0 does not exist",
                                    "0 logical GPU(s)");
  Tensor host = zeros({4}, DType::f32, Device::cpu());
  testing::expect_error<ValueError>([&] { host.to(Device::cuda(0)); }, "GPU:0 does not exist");
}

}  // namespace
}  // namespace keel
