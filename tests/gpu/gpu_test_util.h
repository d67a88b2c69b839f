// What the GPU tests share: whether a CUDA device is usable (and why not), and the skip macro.
#pragma once
#include <gtest/gtest.h>

#include <string>

namespace keel::testing {

/// Empty when config::list_physical_devices("GPU") has a device; otherwise why not, with the driver's
/// own error when it gave one ("no CUDA device: cudaErrorNoDevice (no CUDA-capable device is detected)").
const std::string& gpu_unavailable_reason();

}  // namespace keel::testing

/// Skips the current test, printing the reason, when there is no GPU.
#define KEEL_REQUIRE_GPU()                                                             \
  do {                                                                                 \
    const std::string& keel_no_gpu_reason = ::keel::testing::gpu_unavailable_reason(); \
    if (!keel_no_gpu_reason.empty()) GTEST_SKIP() << keel_no_gpu_reason;               \
  } while (0)
