// A device-agnostic caching allocator: device memory is obtained from a DeviceMemoryProvider in large
// segments, carved into blocks, and cached after free, so a training loop stops calling the device
// allocator after its first step. The CUDA backend wraps cudaMalloc/cudaFree in a provider; tests use a
// fake one backed by host memory. Internal header (not installed).
//
// Note [Caching allocator design] (after PyTorch's CUDACachingAllocator and TensorFlow's BFC allocator):
// - Requests are rounded up to 512 B. Requests up to 1 MiB come from the small pool, whose segments are
//   2 MiB; larger ones from the large pool. Free blocks are kept ordered by (stream, size, address), so a
//   lookup is a best fit among the blocks the requesting stream may use.
// - Allocating splits a block when the remainder is worth keeping (>= 512 B in the small pool, > 1 MiB
//   in the large pool); freeing merges the block with free neighbours in its segment.
// - Streams: a free block carries the stream whose queued work may still touch it, or none ("clean").
//   A stream reuses its own and clean blocks at once. A block that record_stream() marked as used on
//   other streams waits, after deallocate, until the next synchronize(). Before growing, the allocator
//   synchronizes the device if blocks of other streams or waiting blocks exist; then every free block
//   is clean and can go to anyone.
// - Without allow_growth the first allocation reserves min(memory_limit, reserve_fraction x free memory)
//   as one large segment (TensorFlow's default of taking almost the whole card); small-pool segments are
//   then carved out of it. With allow_growth segments are obtained on demand, sized to the request
//   rounded to 2 MiB. memory_limit caps the bytes obtained from the provider in both modes.
// - When memory runs out, every cached segment without live blocks is given back (empty_cache) and the
//   request retried once; then ResourceExhaustedError states requested, in use, reserved, limit, free on
//   the device and the largest free block.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "keel/core/allocator.h"

namespace keel::memory {

/// Opaque stream handle; the CUDA backend passes a cudaStream_t as an integer. 0 is the default stream.
using StreamId = uint64_t;

/// Where the device memory comes from (cudaMalloc/cudaFree for CUDA; host memory in tests).
class DeviceMemoryProvider {
 public:
  virtual ~DeviceMemoryProvider() = default;
  /// Returns nullptr when the device cannot provide `bytes`.
  virtual void* malloc(size_t bytes) = 0;
  virtual void free(void* ptr) = 0;
  virtual size_t total_memory() const = 0;
  /// What the device still has, outside this allocator.
  virtual size_t free_memory() const = 0;
  /// Waits for all queued work (before cross-stream reuse and before returning memory).
  virtual void synchronize() = 0;
};

struct CachingAllocatorOptions {
  std::string device_name = "GPU:0";                  // for messages
  bool allow_growth = false;                          // TF's gpu_options.allow_growth
  std::optional<size_t> memory_limit = std::nullopt;  // bytes; caps reserved_bytes
  double reserve_fraction = 0.95;                     // without growth: fraction of free memory reserved up front
};

struct MemoryStats {
  int64_t allocated_bytes = 0, peak_allocated_bytes = 0;  // handed out (block sizes, rounded)
  int64_t reserved_bytes = 0, peak_reserved_bytes = 0;    // obtained from the provider
  int64_t num_allocs = 0, num_frees = 0, num_device_mallocs = 0, num_ooms = 0;
};

class CachingAllocator : public keel::Allocator {
 public:
  CachingAllocator(DeviceMemoryProvider& provider, CachingAllocatorOptions options);
  /// Synchronizes and returns every segment to the provider.
  ~CachingAllocator() override;
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  /// Allocates on the default stream (0).
  void* allocate(size_t nbytes) override;
  /// Throws ResourceExhaustedError when neither the cache nor the provider can serve the request.
  void* allocate(size_t nbytes, StreamId stream);
  /// `nbytes` is not needed (the block knows its size). Throws ValueError for a pointer not allocated here.
  void deallocate(void* ptr, size_t nbytes) override;
  /// The block is also used on `stream`: after deallocate it is not reused before synchronize().
  void record_stream(void* ptr, StreamId stream);

  MemoryStats stats() const;
  void reset_peak_stats();
  /// Synchronizes and gives every segment without live blocks back to the provider.
  void empty_cache();
  /// The largest block that is cached and free (0 when none).
  size_t largest_free_block() const;

 private:
  struct Block;
  struct Segment;
  struct BlockOrder {
    bool operator()(const Block* a, const Block* b) const;
  };
  using FreeSet = std::set<Block*, BlockOrder>;

  Block* try_allocate(size_t size, StreamId stream);
  Block* take_cached(size_t size, StreamId stream);
  Block* best_fit(FreeSet& pool, size_t size, StreamId stream);
  Block* take(FreeSet& pool, Block* block, size_t size, StreamId stream);
  bool carve_small_segment(StreamId stream);
  bool obtain_segment(size_t size);
  Segment* map_segment(size_t bytes, bool small);
  void release(Block* block);
  bool has_foreign_blocks(StreamId stream) const;
  void synchronize_locked();
  void empty_cache_locked();
  size_t largest_free_block_locked() const;
  FreeSet& pool_of(const Block* block);
  [[noreturn]] void throw_oom(size_t nbytes);

  DeviceMemoryProvider& provider_;
  const CachingAllocatorOptions options_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Segment>> segments_;
  FreeSet small_free_, large_free_;
  std::vector<Block*> waiting_;                  // freed, but recorded on other streams
  std::unordered_map<void*, Block*> allocated_;  // live blocks by pointer
  MemoryStats stats_;
};

/// "512 B", "1.50 KiB", "2.00 GiB": the units of the allocator's messages.
std::string format_bytes(size_t bytes);

}  // namespace keel::memory
