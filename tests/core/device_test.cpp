// Device names, Keel's and TensorFlow's.
#include <gtest/gtest.h>

#include "keel/keel.h"

namespace keel {
namespace {

TEST(Device, ParsesKeelAndTensorFlowNames) {
  EXPECT_EQ(Device::parse("cpu"), Device::cpu());
  EXPECT_EQ(Device::parse("CPU:0"), Device::cpu());
  EXPECT_EQ(Device::parse("/CPU:0"), Device::cpu());
  EXPECT_EQ(Device::parse("cuda"), Device::cuda(0));
  EXPECT_EQ(Device::parse("cuda:1"), Device::cuda(1));
  EXPECT_EQ(Device::parse("/GPU:0"), Device::cuda(0));
  EXPECT_EQ(Device::parse("GPU:3"), Device::cuda(3));
  EXPECT_EQ(Device::parse("/device:GPU:2"), Device::cuda(2));
  EXPECT_EQ(Device::parse("/job:localhost/replica:0/task:0/device:GPU:1"), Device::cuda(1));
  EXPECT_EQ(Device::parse("/job:worker/replica:0/task:1/device:CPU:0"), Device::cpu());
}

TEST(Device, Names) {
  EXPECT_EQ(Device::cuda(1).str(), "cuda:1");
  EXPECT_EQ(Device::cpu().str(), "cpu");
  EXPECT_EQ(Device::cuda(1).tf_name(), "/device:GPU:1");
  EXPECT_EQ(Device::cpu().tf_name(), "/device:CPU:0");
}

TEST(Device, BadNamesAreValueErrorsQuotingTheName) {
  for (const char* bad : {"tpu:0", "/GPU:x", "gpu:-1", ""}) {
    try {
      Device::parse(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("'") + bad + "'"), std::string::npos) << e.what();
    }
  }
}

TEST(Device, CudaTensorWithoutCudaBackendIsAClearError) {
  if (has_device_backend(DeviceType::kCUDA)) GTEST_SKIP() << "built with CUDA";
  try {
    zeros({2}, DType::f32, Device::cuda(0));
    FAIL();
  } catch (const UnimplementedError& e) {
    EXPECT_NE(std::string(e.what()).find("cuda:0"), std::string::npos);
  }
}

}  // namespace
}  // namespace keel
