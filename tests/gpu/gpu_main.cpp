// main() of keel_gpu_tests: reports the GPU the tests run on (or why they skip), and leaves out the CPU
// tests that live beside the op tables in tests/ops (keel_op_tests runs those).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "core/gpu_runtime.h"
#include "gpu/gpu_test_util.h"
#include "keel/core/config.h"

namespace keel::testing {

const std::string& gpu_unavailable_reason() {
  static const std::string reason = [] {
    if (!config::list_physical_devices("GPU").empty()) return std::string();
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      return std::string("no CUDA device: ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
    }
    return std::string("no CUDA device: the driver reports ") + std::to_string(count) + " devices";
  }();
  return reason;
}

}  // namespace keel::testing

int main(int argc, char** argv) {
  // table_dropout_losses.cpp and table_normalization.cpp also hold CPU-only tests; run only GPU tests here.
  GTEST_FLAG_SET(filter, "-Dropout.*:BatchNormCpu.*");
  ::testing::InitGoogleTest(&argc, argv);
  if (!GTEST_FLAG_GET(list_tests)) {  // ctest's test discovery parses the listing: print nothing there
    const std::string& reason = keel::testing::gpu_unavailable_reason();
    if (reason.empty()) {
      std::printf("keel_gpu_tests on GPU:0 = %s\n", keel::gpu::registered_gpu_runtime()->device_description(0).c_str());
    } else {
      std::printf("keel_gpu_tests: every test skips: %s\n", reason.c_str());
    }
  }
  return RUN_ALL_TESTS();
}
