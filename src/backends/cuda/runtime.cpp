// The CUDA GPU runtime and device backend, registered when keel_backend_cuda loads: device discovery,
// one caching allocator per logical GPU over cudaMalloc/cudaFree, and tensor copies.
// Loading touches no CUDA API; the driver is first asked at list_physical_devices or first GPU use.
#include "backends/cuda/runtime.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/cuda/cuda_context.h"
#include "core/gpu_runtime.h"
#include "keel/core/allocator.h"
#include "keel/core/error.h"

namespace keel::cuda {
namespace {

/// Device memory of one physical GPU, obtained with cudaMalloc. Every call makes the device current
/// first: the calling thread may have been working on another GPU.
class CudaMemoryProvider final : public memory::DeviceMemoryProvider {
 public:
  explicit CudaMemoryProvider(int physical) : device_(physical) {}

  void* malloc(size_t bytes) override {
    select();
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, bytes);
    if (e == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // not sticky; clear it so later checks don't report it again
      return nullptr;
    }
    check(e, "cudaMalloc");
    return p;
  }
  void free(void* ptr) override {
    select();
    check(cudaFree(ptr), "cudaFree");
  }
  size_t total_memory() const override { return mem_info().second; }
  size_t free_memory() const override { return mem_info().first; }
  void synchronize() override {
    select();
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }

 private:
  void select() const { check(cudaSetDevice(device_), "cudaSetDevice"); }
  std::pair<size_t, size_t> mem_info() const {
    select();
    size_t free = 0, total = 0;
    check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
    return {free, total};
  }

  int device_;
};

/// One logical GPU: its physical device, and an allocator bound to a provider for that device.
struct LogicalGpuState {
  int physical = 0;
  std::unique_ptr<CudaMemoryProvider> provider;
  std::unique_ptr<memory::CachingAllocator> allocator;
};
using Layout = std::vector<LogicalGpuState>;

// The current layout. Layouts are never destroyed: tensors hold pointers to their allocator and may
// outlive a re-initialization (tests) or static destructors (process exit).
std::atomic<Layout*> current_layout{nullptr};

const Layout& layout_with(int logical) {
  const int count = gpu::logical_gpu_count();  // initializes on first use
  KEEL_CHECK(logical >= 0 && logical < count, ValueError, "GPU:", logical, " does not exist: ", count,
             " logical GPU(s) are configured");
  const Layout* layout = current_layout.load(std::memory_order_acquire);
  KEEL_CHECK(layout != nullptr && static_cast<int>(layout->size()) == count, RuntimeError,
             "the CUDA runtime was not initialized with the configured ", count, " logical GPU(s)");
  return *layout;
}

std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / double(size_t{1} << 30));
  return buf;
}

class CudaRuntime final : public gpu::GpuRuntime {
 public:
  int physical_device_count() override {
    int count = 0;
    // No driver, no device, or a driver too old: no GPUs, silently (this runs on every CPU-only machine).
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
      (void)cudaGetLastError();
      return 0;
    }
    return count;
  }

  std::string device_description(int physical_index) override {
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, physical_index), "cudaGetDeviceProperties");
    return std::string(prop.name) + ", " + gib(prop.totalGlobalMem) + ", compute " + std::to_string(prop.major) + "." +
           std::to_string(prop.minor);
  }

  void initialize(const std::vector<gpu::LogicalGpu>& layout) override {
    const int physical_count = physical_device_count();
    auto next = std::make_unique<Layout>();
    for (size_t i = 0; i < layout.size(); ++i) {
      const gpu::LogicalGpu& g = layout[i];
      KEEL_CHECK(g.physical_index >= 0 && g.physical_index < physical_count, ValueError, "logical GPU:", i,
                 " is configured on physical GPU ", g.physical_index, ", but the driver reports ", physical_count,
                 " GPU(s)");
      LogicalGpuState s;
      s.physical = g.physical_index;
      s.provider = std::make_unique<CudaMemoryProvider>(g.physical_index);
      memory::CachingAllocatorOptions options;
      options.device_name = "GPU:" + std::to_string(i);
      options.allow_growth = g.allow_growth;
      options.memory_limit = g.memory_limit_bytes;
      s.allocator = std::make_unique<memory::CachingAllocator>(*s.provider, options);
      next->push_back(std::move(s));
    }
    std::lock_guard lock(mu_);
    if (Layout* old = current_layout.load(std::memory_order_acquire)) {
      // Re-initialization (tests): drop the old streams and handles, and give back the old allocators'
      // cached memory; their live blocks stay valid until the tensors holding them are gone.
      release_device_contexts();
      for (LogicalGpuState& s : *old) s.allocator->empty_cache();
      retired_.push_back(old);
    }
    current_layout.store(next.release(), std::memory_order_release);
  }

  config::MemoryInfo memory_info(int logical_index) override {
    memory::MemoryStats s = device_allocator(logical_index).stats();
    return {s.allocated_bytes, s.peak_allocated_bytes};
  }

  void reset_memory_stats(int logical_index) override { device_allocator(logical_index).reset_peak_stats(); }

 private:
  std::mutex mu_;
  std::vector<Layout*> retired_;
};

class CudaDeviceBackend final : public DeviceBackend {
 public:
  Allocator& allocator(int index) override { return device_allocator(index); }
  void copy(void* dst, Device dst_dev, const void* src, Device src_dev, size_t nbytes) override {
    copy_bytes(dst, dst_dev.is_cuda(), dst_dev.index, src, src_dev.is_cuda(), src_dev.index, nbytes);
  }
  int device_count() override { return gpu::logical_gpu_count(); }
};

// Registration at load time. Both objects are leaked on purpose (see current_layout).
[[maybe_unused]] const bool registered = [] {
  gpu::register_gpu_runtime(new CudaRuntime());
  register_device_backend(DeviceType::kCUDA, new CudaDeviceBackend());
  return true;
}();

}  // namespace

int logical_device_count() { return gpu::logical_gpu_count(); }

int physical_device(int logical) { return layout_with(logical)[static_cast<size_t>(logical)].physical; }

memory::CachingAllocator& device_allocator(int logical) {
  return *layout_with(logical)[static_cast<size_t>(logical)].allocator;
}

}  // namespace keel::cuda
