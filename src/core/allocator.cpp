// The pooled CPU allocator and the registry of device backends.
// Note [CPU pool]: blocks are 64-byte aligned and their sizes rounded to size classes (multiples of 64
// bytes, then quarter steps between powers of two, so at most 25 % is wasted). A freed block goes to its
// class's free list and is handed out again, so a training loop that allocates the same shapes every
// step stops calling the system allocator after the first step. The cache is capped.
#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "keel/core/allocator.h"
#include "keel/core/error.h"

namespace keel {
namespace {

constexpr size_t kAlignment = 64;
constexpr int64_t kMaxCachedBytes = int64_t{2} << 30;

size_t size_class(size_t n) {
  if (n <= 4096) return (n + kAlignment - 1) / kAlignment * kAlignment;
  size_t step = std::bit_floor(n) / 4;
  return (n + step - 1) / step * step;
}

class PooledCpuAllocator final : public Allocator {
 public:
  void* allocate(size_t nbytes) override {
    size_t cls = size_class(nbytes == 0 ? 1 : nbytes);
    {
      std::lock_guard lock(mu_);
      auto it = free_.find(cls);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        stats_.cached_bytes -= cls;
        note_alloc(cls);
        return p;
      }
    }
    void* p = std::aligned_alloc(kAlignment, cls);
    if (p == nullptr) {
      empty_cache();
      p = std::aligned_alloc(kAlignment, cls);
    }
    std::lock_guard lock(mu_);
    KEEL_CHECK(p != nullptr, ResourceExhaustedError, "CPU allocator: out of memory allocating ", nbytes,
               " bytes (", stats_.allocated_bytes, " bytes in use)");
    ++stats_.system_allocations;
    note_alloc(cls);
    return p;
  }

  void deallocate(void* ptr, size_t nbytes) override {
    if (ptr == nullptr) return;
    size_t cls = size_class(nbytes == 0 ? 1 : nbytes);
    std::lock_guard lock(mu_);
    stats_.allocated_bytes -= cls;
    if (stats_.cached_bytes + static_cast<int64_t>(cls) > kMaxCachedBytes) {
      std::free(ptr);
      return;
    }
    free_[cls].push_back(ptr);
    stats_.cached_bytes += cls;
  }

  void empty_cache() {
    std::lock_guard lock(mu_);
    for (auto& [cls, list] : free_)
      for (void* p : list) std::free(p);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  AllocatorStats stats() {
    std::lock_guard lock(mu_);
    return stats_;
  }

 private:
  void note_alloc(size_t cls) {
    stats_.allocated_bytes += cls;
    if (stats_.allocated_bytes > stats_.peak_allocated_bytes) stats_.peak_allocated_bytes = stats_.allocated_bytes;
  }

  std::mutex mu_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

PooledCpuAllocator& pool() {
  static auto* instance = new PooledCpuAllocator();  // never destroyed: tensors may outlive static destructors
  return *instance;
}

class CpuDeviceBackend final : public DeviceBackend {
 public:
  Allocator& allocator(int) override { return pool(); }
  void copy(void* dst, Device, const void* src, Device, size_t nbytes) override {
    if (nbytes) std::memcpy(dst, src, nbytes);
  }
  int device_count() override { return 1; }
};

std::array<DeviceBackend*, kNumDeviceTypes>& backends() {
  static CpuDeviceBackend cpu;
  static std::array<DeviceBackend*, kNumDeviceTypes> table = {&cpu, nullptr};
  return table;
}

}  // namespace

Allocator& cpu_allocator() { return pool(); }
AllocatorStats cpu_allocator_stats() { return pool().stats(); }
void cpu_allocator_empty_cache() { pool().empty_cache(); }

void register_device_backend(DeviceType type, DeviceBackend* backend) {
  backends()[static_cast<int>(type)] = backend;
}
bool has_device_backend(DeviceType type) { return backends()[static_cast<int>(type)] != nullptr; }
DeviceBackend& device_backend(Device device) {
  DeviceBackend* b = backends()[static_cast<int>(device.type)];
  KEEL_CHECK(b != nullptr, UnimplementedError, "No backend for device ", device.str(),
             ": this Keel build has no CUDA support (KEEL_WITH_CUDA is off)");
  return *b;
}

}  // namespace keel
