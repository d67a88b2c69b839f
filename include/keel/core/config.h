// Process-wide runtime settings: CPU thread count (OpenMP, shared with oneDNN so only one pool spins),
// TF32, and TensorFlow's tf.config device options (visible GPUs, memory growth, logical GPUs).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/device.h"

namespace keel::config {

/// Threads used by CPU kernels; default: all cores (or OMP_NUM_THREADS when set).
void set_num_threads(int n);
int get_num_threads();
/// Whether Keel's CPU kernels flush denormal floats to zero (FTZ and DAZ), as TensorFlow's CPU threads do;
/// on by default (KEEL_FLUSH_DENORMALS=0 turns it off). Denormals are orders of magnitude slower to compute
/// with, and training produces them. The caller's own floating-point flags are restored after each op; the
/// OpenMP pool's worker threads keep the setting.
void set_flush_denormals(bool enabled);
bool flush_denormals();
/// TensorFlow's tf.config.experimental.enable_tensor_float_32_execution: lets float32 matmuls and
/// convolutions on GPUs use TF32 tensor cores. Off by default in Keel, so float32 stays exact.
void enable_tensor_float_32_execution(bool enabled);
bool tensor_float_32_execution_enabled();
/// TensorFlow's tf.config.run_functions_eagerly: every model trains as if compiled with run_eagerly=true
/// (fit's train step runs op by op instead of replaying a recorded kernel plan). Off by default.
void run_functions_eagerly(bool enabled);
bool functions_run_eagerly();

// --- tf.config device options. The setters must run before the GPU runtime is initialized (by the
// first tensor placed on a GPU, list_logical_devices, ...); changing them afterwards throws RuntimeError
// with TensorFlow's message. Device types are "CPU", "GPU", or "" for all (case-insensitive).

/// tf.config.PhysicalDevice: name "/physical_device:GPU:0", device_type "GPU", index 0.
struct PhysicalDevice {
  std::string name;
  std::string device_type;
  int index = 0;
  friend bool operator==(const PhysicalDevice&, const PhysicalDevice&) = default;
};
/// tf.config.LogicalDevice: name "/device:GPU:0", device_type "GPU".
struct LogicalDevice {
  std::string name;
  std::string device_type;
  friend bool operator==(const LogicalDevice&, const LogicalDevice&) = default;
};
/// tf.config.LogicalDeviceConfiguration: a hard memory limit for one logical GPU, in MiB (required, > 0).
struct LogicalDeviceConfiguration {
  std::optional<int64_t> memory_limit_mb = std::nullopt;
  friend bool operator==(const LogicalDeviceConfiguration&, const LogicalDeviceConfiguration&) = default;
};

/// The CPU ("/physical_device:CPU:0") and every GPU the driver reports (after CUDA_VISIBLE_DEVICES).
std::vector<PhysicalDevice> list_physical_devices(const std::string& device_type = "");
/// Restricts the devices of `device_type` ("" = all types) the runtime will use; the CPU always stays visible.
void set_visible_devices(const std::vector<PhysicalDevice>& devices, const std::string& device_type = "");
std::vector<PhysicalDevice> get_visible_devices(const std::string& device_type = "");
/// tf.config.experimental.set_memory_growth (GPUOptions.allow_growth); env KEEL_GPU_ALLOW_GROWTH or
/// TF_FORCE_GPU_ALLOW_GROWTH ("true"/"false") overrides it. All visible GPUs must agree.
void set_memory_growth(const PhysicalDevice& device, bool enable);
bool get_memory_growth(const PhysicalDevice& device);
/// Splits a GPU into one logical GPU per entry, each with its memory limit; an empty list undoes the split.
/// The CPU splits too (entries without a memory limit): logical CPUs "/device:CPU:i" share the host, for
/// MirroredStrategy tests, as in TensorFlow.
void set_logical_device_configuration(const PhysicalDevice& device,
                                      const std::vector<LogicalDeviceConfiguration>& logical);
std::vector<LogicalDeviceConfiguration> get_logical_device_configuration(const PhysicalDevice& device);
/// "/device:CPU:i" for each logical CPU and "/device:GPU:i" for each logical GPU; initializes the GPU runtime.
std::vector<LogicalDevice> list_logical_devices(const std::string& device_type = "");

/// Bytes in use now and at peak on a logical GPU (tf.config.experimental.get_memory_info).
struct MemoryInfo {
  int64_t current = 0;
  int64_t peak = 0;
};
/// `device` names a logical GPU: "GPU:0", "/device:GPU:0", "cuda:0". ValueError for the CPU or a missing GPU.
MemoryInfo get_memory_info(const std::string& device);
/// Sets the peak of get_memory_info back to the current usage.
void reset_memory_stats(const std::string& device);

}  // namespace keel::config

namespace keel {
/// Runs fn(begin, end) over [0, n) in chunks of at least `grain` items on the CPU thread pool.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
}  // namespace keel
