// Allocator interface and the per-device memory/copy backends. The CPU allocator hands out 64-byte
// aligned blocks from size-binned free lists so the steady state of a training loop allocates nothing
// from the system. Device backends (CUDA, later) register themselves here.
#pragma once
#include <cstddef>
#include <cstdint>

#include "keel/core/device.h"

namespace keel {

class Allocator {
 public:
  virtual ~Allocator() = default;
  /// Returns memory for `nbytes` (may be 0); throws ResourceExhaustedError when it cannot.
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
};

struct AllocatorStats {
  int64_t allocated_bytes = 0;       // currently handed out
  int64_t peak_allocated_bytes = 0;
  int64_t cached_bytes = 0;          // held in free lists
  int64_t system_allocations = 0;    // calls that reached the system allocator
};

/// The process-wide pooled CPU allocator.
Allocator& cpu_allocator();
AllocatorStats cpu_allocator_stats();
/// Returns every cached block to the system.
void cpu_allocator_empty_cache();

/// What a device type must provide to hold tensors: memory and copies. CPU is built in.
class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  virtual Allocator& allocator(int index) = 0;
  /// Copies nbytes between devices (either side may be the CPU) and waits for completion.
  virtual void copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes) = 0;
  virtual int device_count() = 0;
};

void register_device_backend(DeviceType type, DeviceBackend* backend);
/// Throws UnimplementedError naming the device when no backend was registered (e.g. no CUDA build).
DeviceBackend& device_backend(Device device);
bool has_device_backend(DeviceType type);

}  // namespace keel
