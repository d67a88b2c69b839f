// The seam between the device-neutral tf.config options (src/core/gpu_config.cpp) and a GPU backend.
// The CUDA backend implements GpuRuntime and registers it when its library loads; the core resolves the
// user's configuration into a layout of logical GPUs and hands it over once, at first GPU use. Without a
// registered runtime the process has no GPUs and nothing here touches a GPU API.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/config.h"

namespace keel::gpu {

/// One logical GPU ("/device:GPU:i" is layout[i]): which physical GPU backs it and its memory options.
struct LogicalGpu {
  int physical_index = 0;                    // index among the devices the driver reports
  std::optional<size_t> memory_limit_bytes;  // a LogicalDeviceConfiguration limit; nullopt: the whole GPU
  bool allow_growth = false;                 // resolved memory growth, environment override applied
  friend bool operator==(const LogicalGpu&, const LogicalGpu&) = default;
};

class GpuRuntime {
 public:
  virtual ~GpuRuntime() = default;
  /// Devices the driver reports (CUDA_VISIBLE_DEVICES already applied by the driver); 0 when none or no driver.
  virtual int physical_device_count() = 0;
  /// e.g. "NVIDIA H100 80GB HBM3, 79.1 GiB, compute 9.0".
  virtual std::string device_description(int physical_index) = 0;
  /// Called once, at first GPU use, with the resolved layout (never empty): logical GPU i is layout[i].
  /// It may call back into keel::gpu (the lock is re-entrant; ensure_initialized() then returns `layout`).
  /// If it throws, the process stays uninitialized and the next GPU use tries again.
  virtual void initialize(const std::vector<LogicalGpu>& layout) = 0;
  virtual config::MemoryInfo memory_info(int logical_index) = 0;
  virtual void reset_memory_stats(int logical_index) = 0;
};

/// The CUDA backend calls it at load time; nullptr unregisters. Register before first use: the
/// physical device count is cached per registered runtime and the layout once initialized.
void register_gpu_runtime(GpuRuntime* runtime);
bool has_gpu_runtime();
/// The registered runtime or nullptr (tests use it to restore the real one).
GpuRuntime* registered_gpu_runtime();

/// Resolves the configuration (visible devices, memory growth incl. env KEEL_GPU_ALLOW_GROWTH, logical
/// splits) and initializes the runtime exactly once; returns the layout (empty without GPUs). Throws
/// ValueError when the growth settings of the visible GPUs differ (and stays uninitialized).
const std::vector<LogicalGpu>& ensure_initialized();
/// Number of logical GPUs; initializes. After initialization it is one atomic load.
int logical_gpu_count();
bool initialized();
/// Tests only: forget the configuration, the cached device count and the initialization (not the runtime).
/// The runtime's initialize() may then be called again.
void reset_for_testing();

}  // namespace keel::gpu
