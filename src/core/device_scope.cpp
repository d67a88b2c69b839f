// Default placement (TensorFlow's): the innermost DeviceScope on this thread, else GPU:0 when the GPU
// runtime has a logical GPU, else the CPU.
#include "core/gpu_runtime.h"
#include "keel/core/device.h"
#include "keel/core/error.h"

namespace keel {
namespace {
// Innermost scope of this thread; constant-initialized, so reading it costs no TLS guard.
thread_local const DeviceScope* t_innermost = nullptr;

Device checked(Device d, std::string_view name) {
  if (d.is_cpu()) {
    KEEL_CHECK(d.index == 0, ValueError, "DeviceScope: '", name, "' does not exist; Keel has one CPU device, CPU:0");
  } else {
    const int gpus = gpu::logical_gpu_count();
    KEEL_CHECK(d.index >= 0 && d.index < gpus, ValueError, "DeviceScope: '", name, "' does not exist; ", gpus,
               " logical GPU(s) are visible");
  }
  return d;
}
}  // namespace

DeviceScope::DeviceScope(std::string_view device_name) : DeviceScope(Device::parse(device_name)) {}

DeviceScope::DeviceScope(Device d) : device_(checked(d, d.tf_name())), outer_(t_innermost) { t_innermost = this; }

DeviceScope::~DeviceScope() { t_innermost = outer_; }

Device default_device() {
  if (const DeviceScope* scope = t_innermost) return scope->device();
  // Without a runtime there is no GPU: answer without initializing, so CPU-only processes never pay for it.
  // With one, the first call initializes and later calls read the cached logical GPU count.
  if (!gpu::has_gpu_runtime()) return Device::cpu();
  return gpu::logical_gpu_count() > 0 ? Device::cuda(0) : Device::cpu();
}

}  // namespace keel
