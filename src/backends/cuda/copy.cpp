// Copies between host memory and logical GPUs, and between logical GPUs.
// Note [staged copies]: a copy from pageable host memory is staged by the driver through its own small
// pinned buffer, one piece at a time. For large copies Keel stages itself through two pinned 4 MiB
// chunks per logical GPU, so that the host's memcpy into one chunk overlaps the DMA of the other. Small
// copies, and host buffers that are already pinned, go straight to cudaMemcpyAsync. Every copy runs on
// the GPU's own stream (after the kernels that produced its source) and is waited for before returning.
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/runtime.h"

namespace keel::cuda {
namespace {

constexpr size_t kStagingThreshold = size_t{1} << 20;
constexpr size_t kChunkBytes = size_t{4} << 20;

struct Staging {
  std::mutex mu;      // one staged copy per logical GPU at a time: they share the chunks
  int physical = -1;  // the device the events belong to (a re-initialization may move the logical GPU)
  std::array<void*, 2> chunk{nullptr, nullptr};
  std::array<cudaEvent_t, 2> drained{nullptr, nullptr};  // recorded after the DMA that uses the chunk
};

/// The staging chunks of logical GPU `gpu`, created on first use. Never freed: they live as long as the
/// process, and freeing pinned memory from static destructors races the driver's own teardown.
Staging& staging(int gpu) {
  static std::mutex mu;
  static auto* all = new std::vector<std::unique_ptr<Staging>>();
  std::lock_guard lock(mu);
  const auto count = static_cast<size_t>(logical_device_count());
  if (all->size() < count) all->resize(count);
  auto& slot = (*all)[static_cast<size_t>(gpu)];  // gpu was checked by current_stream() before
  if (!slot) slot = std::make_unique<Staging>();
  return *slot;
}

/// Pinned chunks (portable: usable from every device) and events on the logical GPU's current device.
void ensure_chunks(Staging& s, int gpu) {
  const int physical = physical_device(gpu);
  if (s.chunk[0] && s.physical == physical) return;
  set_device(gpu);
  for (int b = 0; b < 2; ++b) {
    if (!s.chunk[b]) KEEL_CUDA_CHECK(cudaHostAlloc(&s.chunk[b], kChunkBytes, cudaHostAllocPortable));
    // Events of a previous device are left behind (only re-initialization in tests gets here twice).
    KEEL_CUDA_CHECK(cudaEventCreateWithFlags(&s.drained[b], cudaEventDisableTiming));
  }
  s.physical = physical;
}

/// Waits until the DMA that last used each chunk is done (a copy that threw may have left one in flight).
void wait_chunks(Staging& s) {
  for (cudaEvent_t e : s.drained) KEEL_CUDA_CHECK(cudaEventSynchronize(e));
}

bool is_pinned(const void* p) {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the non-sticky error: the pointer is simply unknown to CUDA
    return false;
  }
  return attr.type == cudaMemoryTypeHost;
}

void host_to_gpu(char* dst, int gpu, const char* src, size_t n) {
  cudaStream_t stream = current_stream(gpu);
  if (n < kStagingThreshold || is_pinned(src)) {
    KEEL_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream));
    KEEL_CUDA_CHECK(cudaStreamSynchronize(stream));
    return;
  }
  Staging& s = staging(gpu);
  std::lock_guard lock(s.mu);
  ensure_chunks(s, gpu);
  wait_chunks(s);
  for (size_t off = 0, i = 0; off < n; off += kChunkBytes, ++i) {
    const size_t b = i & 1, len = std::min(kChunkBytes, n - off);
    KEEL_CUDA_CHECK(cudaEventSynchronize(s.drained[b]));  // the DMA two chunks ago has read this chunk
    std::memcpy(s.chunk[b], src + off, len);
    KEEL_CUDA_CHECK(cudaMemcpyAsync(dst + off, s.chunk[b], len, cudaMemcpyHostToDevice, stream));
    KEEL_CUDA_CHECK(cudaEventRecord(s.drained[b], stream));
  }
  KEEL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

void gpu_to_host(char* dst, const char* src, int gpu, size_t n) {
  cudaStream_t stream = current_stream(gpu);
  if (n < kStagingThreshold || is_pinned(dst)) {
    KEEL_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream));
    KEEL_CUDA_CHECK(cudaStreamSynchronize(stream));
    return;
  }
  Staging& s = staging(gpu);
  std::lock_guard lock(s.mu);
  ensure_chunks(s, gpu);
  wait_chunks(s);
  const size_t chunks = (n + kChunkBytes - 1) / kChunkBytes;
  auto issue = [&](size_t i) {
    const size_t b = i & 1, off = i * kChunkBytes, len = std::min(kChunkBytes, n - off);
    KEEL_CUDA_CHECK(cudaMemcpyAsync(s.chunk[b], src + off, len, cudaMemcpyDeviceToHost, stream));
    KEEL_CUDA_CHECK(cudaEventRecord(s.drained[b], stream));
  };
  issue(0);
  for (size_t i = 0; i < chunks; ++i) {
    // Chunk i+1 goes to the other buffer, which the host drained in the previous iteration.
    if (i + 1 < chunks) issue(i + 1);
    const size_t b = i & 1, off = i * kChunkBytes, len = std::min(kChunkBytes, n - off);
    KEEL_CUDA_CHECK(cudaEventSynchronize(s.drained[b]));
    std::memcpy(dst + off, s.chunk[b], len);
  }
}

void gpu_to_gpu(char* dst, int dst_gpu, const char* src, int src_gpu, size_t n) {
  // Different logical GPUs have different streams: let the source's producers finish first.
  if (src_gpu != dst_gpu) KEEL_CUDA_CHECK(cudaStreamSynchronize(current_stream(src_gpu)));
  cudaStream_t stream = current_stream(dst_gpu);  // also makes the destination's device current
  const int dst_phys = physical_device(dst_gpu), src_phys = physical_device(src_gpu);
  if (dst_phys == src_phys) {
    KEEL_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream));
  } else {
    KEEL_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_phys, src, src_phys, n, stream));
  }
  KEEL_CUDA_CHECK(cudaStreamSynchronize(stream));
}

}  // namespace

void copy_bytes(void* dst, bool dst_on_gpu, int dst_gpu, const void* src, bool src_on_gpu, int src_gpu, size_t nbytes) {
  if (nbytes == 0) return;
  auto* d = static_cast<char*>(dst);
  const auto* s = static_cast<const char*>(src);
  if (dst_on_gpu && src_on_gpu) {
    gpu_to_gpu(d, dst_gpu, s, src_gpu, nbytes);
  } else if (dst_on_gpu) {
    host_to_gpu(d, dst_gpu, s, nbytes);
  } else if (src_on_gpu) {
    gpu_to_host(d, s, src_gpu, nbytes);
  } else {
    std::memcpy(d, s, nbytes);
  }
}

}  // namespace keel::cuda
