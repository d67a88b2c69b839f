// The device caching allocator, run against a fake device: host memory under a byte budget that counts
// mallocs, frees and synchronizes.
#include "core/caching_allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "keel/core/error.h"

namespace keel::memory {
namespace {

constexpr size_t KiB = size_t{1} << 10;
constexpr size_t MiB = size_t{1} << 20;

class FakeDevice final : public DeviceMemoryProvider {
 public:
  explicit FakeDevice(size_t capacity) : capacity_(capacity) {}
  ~FakeDevice() override {
    for (auto& [ptr, bytes] : live_) std::free(ptr);
  }

  void* malloc(size_t bytes) override {
    if (used_ + bytes > capacity_) {
      ++failed_mallocs;
      return nullptr;
    }
    void* ptr = std::malloc(bytes);  // pages are only touched where a test writes
    live_[ptr] = bytes;
    used_ += bytes;
    ++mallocs;
    return ptr;
  }
  void free(void* ptr) override {
    auto it = live_.find(ptr);
    ASSERT_NE(it, live_.end()) << "free of a pointer the fake device never gave out";
    used_ -= it->second;
    live_.erase(it);
    std::free(ptr);
    ++frees;
  }
  size_t total_memory() const override { return capacity_; }
  size_t free_memory() const override { return capacity_ - used_; }
  void synchronize() override { ++syncs; }

  size_t used() const { return used_; }
  const std::map<void*, size_t>& live() const { return live_; }
  /// Whether [ptr, ptr + bytes) lies inside one live device allocation.
  bool owns(const void* ptr, size_t bytes) const {
    auto p = static_cast<const char*>(ptr);
    for (auto& [base, size] : live_)
      if (p >= static_cast<char*>(base) && p + bytes <= static_cast<char*>(base) + size) return true;
    return false;
  }

  int mallocs = 0, failed_mallocs = 0, frees = 0, syncs = 0;

 private:
  size_t capacity_;
  size_t used_ = 0;
  std::map<void*, size_t> live_;
};

CachingAllocatorOptions growth(std::optional<size_t> limit = std::nullopt) {
  CachingAllocatorOptions options;
  options.allow_growth = true;
  options.memory_limit = limit;
  return options;
}

CachingAllocatorOptions reserve(double fraction, std::optional<size_t> limit = std::nullopt) {
  CachingAllocatorOptions options;
  options.reserve_fraction = fraction;
  options.memory_limit = limit;
  return options;
}

std::string oom_message(CachingAllocator& alloc, size_t nbytes, StreamId stream = 0) {
  try {
    alloc.allocate(nbytes, stream);
  } catch (const ResourceExhaustedError& e) {
    return e.what();
  }
  ADD_FAILURE() << "allocating " << nbytes << " bytes did not run out of memory";
  return "";
}

TEST(CachingAllocator, RoundsRequestsTo512Bytes) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  void* a = alloc.allocate(1);
  EXPECT_EQ(alloc.stats().allocated_bytes, 512);
  void* b = alloc.allocate(513);
  EXPECT_EQ(alloc.stats().allocated_bytes, 512 + 1024);
  void* c = alloc.allocate(0);  // still a distinct, usable pointer
  EXPECT_EQ(alloc.stats().allocated_bytes, 512 + 1024 + 512);
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  EXPECT_EQ(static_cast<char*>(b) - static_cast<char*>(a), 512);  // carved in order from one segment
  for (void* p : {a, b, c}) alloc.deallocate(p, 0);
  EXPECT_EQ(alloc.stats().allocated_bytes, 0);
}

TEST(CachingAllocator, GrowthModeObtainsMemoryOnDemand) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  EXPECT_EQ(device.mallocs, 0);  // nothing up front
  void* large = alloc.allocate(3 * MiB);
  EXPECT_EQ(device.mallocs, 1);
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(4 * MiB));  // rounded to 2 MiB
  void* small = alloc.allocate(100 * KiB);
  EXPECT_EQ(device.mallocs, 2);  // a 2 MiB small-pool segment
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(6 * MiB));
  EXPECT_EQ(device.used(), 6 * MiB);
  EXPECT_TRUE(device.owns(large, 3 * MiB));
  EXPECT_TRUE(device.owns(small, 100 * KiB));
  alloc.deallocate(large, 3 * MiB);
  alloc.deallocate(small, 100 * KiB);
}

TEST(CachingAllocator, GrowthModeReusesFreedBlocksWithoutDeviceMallocs) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  std::vector<size_t> sizes = {1000, 64 * KiB, 3 * MiB, 5 * MiB + 7, 300};
  std::vector<void*> first;
  for (size_t s : sizes) first.push_back(alloc.allocate(s));
  for (size_t i = 0; i < sizes.size(); ++i) alloc.deallocate(first[i], sizes[i]);
  int mallocs = device.mallocs;
  for (int step = 0; step < 10; ++step) {  // a training loop: the same shapes every step
    std::vector<void*> ptrs;
    for (size_t s : sizes) ptrs.push_back(alloc.allocate(s));
    for (size_t i = 0; i < sizes.size(); ++i) alloc.deallocate(ptrs[i], sizes[i]);
  }
  EXPECT_EQ(device.mallocs, mallocs);
  EXPECT_EQ(alloc.stats().num_device_mallocs, mallocs);
  EXPECT_EQ(device.syncs, 0);
  EXPECT_EQ(alloc.stats().num_allocs, 55);
  EXPECT_EQ(alloc.stats().num_frees, 55);
}

TEST(CachingAllocator, ReserveModeMakesOneUpFrontReservation) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, reserve(0.5));
  EXPECT_EQ(device.mallocs, 0);  // reserved at the first allocation, not at construction
  std::vector<std::pair<void*, size_t>> blocks;
  for (size_t s : std::initializer_list<size_t>{1000, 3 * MiB, 200 * KiB, 7 * MiB, 512 * KiB, 1 * MiB + 1, 10})
    blocks.emplace_back(alloc.allocate(s), s);
  EXPECT_EQ(device.mallocs, 1);
  ASSERT_EQ(device.live().size(), 1u);
  EXPECT_EQ(device.live().begin()->second, 32 * MiB);  // 0.5 x 64 MiB free
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(32 * MiB));
  for (auto [p, s] : blocks) {
    EXPECT_TRUE(device.owns(p, s));
    std::memset(p, 0xab, s);  // every block is usable memory
  }
  for (auto [p, s] : blocks) alloc.deallocate(p, s);
  EXPECT_EQ(device.mallocs, 1);
}

TEST(CachingAllocator, ReserveModeReservationIsCappedByTheLimit) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, reserve(0.95, 8 * MiB));
  void* p = alloc.allocate(100);
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(8 * MiB));
  EXPECT_EQ(device.used(), 8 * MiB);
  alloc.deallocate(p, 100);
}

TEST(CachingAllocator, ReserveModeGrowsOnlyWhenTheReservationIsExhausted) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, reserve(0.25));  // 16 MiB
  void* a = alloc.allocate(12 * MiB);
  void* b = alloc.allocate(3 * MiB);
  EXPECT_EQ(device.mallocs, 1);
  void* c = alloc.allocate(5 * MiB);  // the reservation is used up: a segment sized to the request
  EXPECT_EQ(device.mallocs, 2);
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(16 * MiB + 6 * MiB));
  for (void* p : {a, b, c}) alloc.deallocate(p, 0);
}

TEST(CachingAllocator, ReserveModeRunsOutAtTheLimit) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, reserve(0.95, 10 * MiB));
  void* a = alloc.allocate(8 * MiB);
  EXPECT_THROW(alloc.allocate(3 * MiB), ResourceExhaustedError);
  EXPECT_LE(alloc.stats().reserved_bytes, static_cast<int64_t>(10 * MiB));
  void* b = alloc.allocate(2 * MiB);  // what is left of the reservation still serves
  EXPECT_EQ(device.mallocs, 1);
  alloc.deallocate(a, 0);
  alloc.deallocate(b, 0);
}

TEST(CachingAllocator, GrowthModeRespectsTheLimit) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth(9 * MiB));
  void* a = alloc.allocate(8 * MiB);
  // A small-pool segment would be 2 MiB; 1 MiB of headroom is left, so the segment shrinks to fit it.
  void* b = alloc.allocate(600 * KiB);
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(9 * MiB));
  EXPECT_THROW(alloc.allocate(600 * KiB), ResourceExhaustedError);
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(9 * MiB));
  EXPECT_EQ(alloc.stats().peak_reserved_bytes, static_cast<int64_t>(9 * MiB));
  EXPECT_EQ(alloc.stats().num_ooms, 1);
  EXPECT_EQ(device.failed_mallocs, 0);  // the limit is checked before asking the device
  alloc.deallocate(a, 0);
  alloc.deallocate(b, 0);
}

TEST(CachingAllocator, FreedNeighboursMergeInTheSmallPool) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  void* a = alloc.allocate(256 * KiB);
  void* b = alloc.allocate(256 * KiB);
  void* c = alloc.allocate(256 * KiB);
  EXPECT_EQ(static_cast<char*>(b), static_cast<char*>(a) + 256 * KiB);
  EXPECT_EQ(static_cast<char*>(c), static_cast<char*>(b) + 256 * KiB);
  EXPECT_EQ(alloc.largest_free_block(), 2 * MiB - 768 * KiB);
  alloc.deallocate(a, 0);
  EXPECT_EQ(alloc.largest_free_block(), 2 * MiB - 768 * KiB);  // A has no free neighbour
  alloc.deallocate(c, 0);
  EXPECT_EQ(alloc.largest_free_block(), 2 * MiB - 512 * KiB);  // C joins the tail
  alloc.deallocate(b, 0);
  EXPECT_EQ(alloc.largest_free_block(), 2 * MiB);  // one block again
  void* abc = alloc.allocate(768 * KiB);
  EXPECT_EQ(abc, a);
  EXPECT_EQ(device.mallocs, 1);
  alloc.deallocate(abc, 0);
}

TEST(CachingAllocator, FragmentationThenMergeInTheLargePool) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, reserve(0.95, 12 * MiB));  // exactly one 12 MiB segment
  void* a = alloc.allocate(4 * MiB);
  void* b = alloc.allocate(4 * MiB);
  void* c = alloc.allocate(4 * MiB);
  EXPECT_EQ(alloc.largest_free_block(), 0u);
  alloc.deallocate(a, 0);
  alloc.deallocate(c, 0);
  // 8 MiB are free, but in two pieces around B.
  EXPECT_EQ(alloc.largest_free_block(), 4 * MiB);
  EXPECT_THROW(alloc.allocate(8 * MiB), ResourceExhaustedError);
  alloc.deallocate(b, 0);
  EXPECT_EQ(alloc.largest_free_block(), 12 * MiB);
  void* abc = alloc.allocate(12 * MiB);
  EXPECT_EQ(abc, a);
  EXPECT_EQ(device.mallocs, 1);
  alloc.deallocate(abc, 0);
}

TEST(CachingAllocator, SplitsKeepRemaindersAboveTheThreshold) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  // Large pool: a 4 MiB segment for 3.5 MiB leaves 0.5 MiB, too small to keep: the whole block is handed out.
  void* a = alloc.allocate(3 * MiB + 512 * KiB);
  EXPECT_EQ(alloc.stats().allocated_bytes, static_cast<int64_t>(4 * MiB));
  EXPECT_EQ(alloc.largest_free_block(), 0u);
  // 2.5 MiB from a 4 MiB segment leaves 1.5 MiB (> 1 MiB): split.
  void* b = alloc.allocate(2 * MiB + 512 * KiB);
  EXPECT_EQ(alloc.stats().allocated_bytes, static_cast<int64_t>(4 * MiB + 2 * MiB + 512 * KiB));
  EXPECT_EQ(alloc.largest_free_block(), 1 * MiB + 512 * KiB);
  // The remainder serves the next large request that fits it, without a device malloc.
  void* c = alloc.allocate(1 * MiB + 512 * KiB);
  EXPECT_EQ(c, static_cast<char*>(b) + 2 * MiB + 512 * KiB);
  EXPECT_EQ(device.mallocs, 2);
  // Small pool: any remainder of 512 B or more is kept.
  void* d = alloc.allocate(1000);
  EXPECT_EQ(alloc.largest_free_block(), 2 * MiB - 1024);
  for (void* p : {a, b, c, d}) alloc.deallocate(p, 0);
}

TEST(CachingAllocator, BestFitPicksTheSmallestFreeBlockThatFits) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  void* a = alloc.allocate(512 * KiB);
  void* keep1 = alloc.allocate(512);
  void* b = alloc.allocate(128 * KiB);
  void* keep2 = alloc.allocate(512);
  alloc.deallocate(a, 0);
  alloc.deallocate(b, 0);
  EXPECT_EQ(alloc.allocate(100 * KiB), b);  // the 128 KiB hole, not the 512 KiB one or the tail
  EXPECT_EQ(alloc.allocate(300 * KiB), a);
  EXPECT_EQ(device.mallocs, 1);
  for (void* p : {a, b, keep1, keep2}) alloc.deallocate(p, 0);
}

TEST(CachingAllocator, StreamReusesItsOwnBlocksAtOnce) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  void* p = alloc.allocate(4 * MiB, /*stream=*/7);
  alloc.deallocate(p, 0);
  EXPECT_EQ(alloc.allocate(4 * MiB, 7), p);
  EXPECT_EQ(device.syncs, 0);
  alloc.deallocate(p, 0);
}

TEST(CachingAllocator, AnotherStreamGetsAFreedBlockOnlyAfterSynchronize) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  void* p = alloc.allocate(4 * MiB, /*stream=*/7);
  alloc.deallocate(p, 0);
  // Stream 9 may not use it while stream 7 may still have work queued on it: the allocator synchronizes
  // the device first (rather than growing), then reuses it.
  EXPECT_EQ(alloc.allocate(4 * MiB, 9), p);
  EXPECT_EQ(device.syncs, 1);
  EXPECT_EQ(device.mallocs, 1);
  alloc.deallocate(p, 0);
  EXPECT_EQ(alloc.allocate(4 * MiB, 9), p);  // now stream 9's own
  EXPECT_EQ(device.syncs, 1);
  alloc.deallocate(p, 0);
}

TEST(CachingAllocator, NeverUsedMemoryGoesToAnyStreamWithoutSynchronizing) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, reserve(0.5));
  void* a = alloc.allocate(4 * MiB, 7);
  void* b = alloc.allocate(4 * MiB, 9);  // from the untouched rest of the reservation
  void* c = alloc.allocate(100, 11);
  EXPECT_EQ(device.syncs, 0);
  EXPECT_EQ(device.mallocs, 1);
  for (void* p : {a, b, c}) alloc.deallocate(p, 0);
}

TEST(CachingAllocator, RecordedStreamBlocksReuseUntilSynchronize) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  void* p = alloc.allocate(1 * MiB, 7);  // a 2 MiB small segment: p and a 1 MiB tail
  alloc.record_stream(p, 9);
  alloc.record_stream(p, 7);  // its own stream: no effect
  alloc.deallocate(p, 0);
  EXPECT_EQ(alloc.stats().allocated_bytes, 0);
  EXPECT_EQ(alloc.largest_free_block(), 1 * MiB);  // p waits; only the tail is free
  void* q = alloc.allocate(1 * MiB, 7);            // even its own stream does not get p back yet
  EXPECT_NE(q, p);
  EXPECT_EQ(device.syncs, 0);
  void* r = alloc.allocate(1 * MiB, 7);  // nothing cached fits: synchronize, then p is free again
  EXPECT_EQ(r, p);
  EXPECT_EQ(device.syncs, 1);
  EXPECT_EQ(device.mallocs, 1);
  alloc.deallocate(q, 0);
  alloc.deallocate(r, 0);
}

TEST(CachingAllocator, RecordStreamWithoutOtherStreamsKeepsImmediateReuse) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  void* p = alloc.allocate(64 * KiB, 3);
  alloc.record_stream(p, 3);
  alloc.deallocate(p, 0);
  EXPECT_EQ(alloc.allocate(64 * KiB, 3), p);
  EXPECT_EQ(device.syncs, 0);
  alloc.deallocate(p, 0);
}

TEST(CachingAllocator, FreesTheCacheAndRetriesWhenTheDeviceRunsOut) {
  FakeDevice device(16 * MiB);
  CachingAllocator alloc(device, growth());
  void* a = alloc.allocate(6 * MiB);
  void* b = alloc.allocate(6 * MiB);
  alloc.deallocate(a, 0);
  alloc.deallocate(b, 0);
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(12 * MiB));
  // Two cached 6 MiB segments cannot hold 10 MiB and the device has 4 MiB left: both go back, then it fits.
  void* c = alloc.allocate(10 * MiB);
  EXPECT_EQ(device.failed_mallocs, 1);
  EXPECT_EQ(device.frees, 2);
  EXPECT_GE(device.syncs, 1);  // before giving memory back
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(10 * MiB));
  EXPECT_EQ(alloc.stats().num_ooms, 0);
  alloc.deallocate(c, 0);
}

TEST(CachingAllocator, OutOfMemoryMessageStatesEveryNumber) {
  FakeDevice device(64 * MiB);
  CachingAllocatorOptions options = growth(20 * MiB);
  options.device_name = "GPU:1";
  CachingAllocator alloc(device, options);
  void* a = alloc.allocate(8 * MiB);              // segment 8 MiB
  void* b = alloc.allocate(2 * MiB + 512 * KiB);  // segment 4 MiB, 1.5 MiB of it stays free
  void* c = alloc.allocate(6 * MiB);              // segment 6 MiB, freed below: the retry gives it back
  alloc.deallocate(c, 0);
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(18 * MiB));
  // 9 MiB needs a 10 MiB segment; after the retry 12 MiB are reserved and 8 MiB remain under the limit.
  EXPECT_EQ(oom_message(alloc, 9 * MiB),
            "OOM when allocating 9.00 MiB on GPU:1: 10.50 MiB in use, 12.00 MiB reserved (limit 20.00 MiB), "
            "52.00 MiB free on the device, largest free block 1.50 MiB");
  EXPECT_EQ(alloc.stats().num_ooms, 1);
  alloc.deallocate(a, 0);
  alloc.deallocate(b, 0);
}

TEST(CachingAllocator, OutOfMemoryMessageWithoutALimit) {
  FakeDevice device(16 * MiB);
  CachingAllocator alloc(device, growth());
  EXPECT_EQ(oom_message(alloc, 20 * MiB + 100),
            "OOM when allocating 20.00 MiB on GPU:0: 0 B in use, 0 B reserved, 16.00 MiB free on the device, "
            "largest free block 0 B");
  EXPECT_EQ(oom_message(alloc, size_t{3} << 40).rfind("OOM when allocating 3.00 TiB on GPU:0", 0), 0u);
  EXPECT_EQ(oom_message(alloc, SIZE_MAX).rfind("OOM when allocating 16.00 EiB", 0), 0u);
  EXPECT_EQ(alloc.stats().num_ooms, 3);
}

TEST(CachingAllocator, FormatsBytes) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.00 KiB");
  EXPECT_EQ(format_bytes(1536), "1.50 KiB");
  EXPECT_EQ(format_bytes(512 * MiB), "512.00 MiB");
  EXPECT_EQ(format_bytes(size_t{3} << 29), "1.50 GiB");
}

TEST(CachingAllocator, StatsTrackCurrentAndPeak) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  void* a = alloc.allocate(4 * MiB);
  void* b = alloc.allocate(2 * MiB);
  MemoryStats s = alloc.stats();
  EXPECT_EQ(s.allocated_bytes, static_cast<int64_t>(6 * MiB));
  EXPECT_EQ(s.peak_allocated_bytes, static_cast<int64_t>(6 * MiB));
  EXPECT_EQ(s.reserved_bytes, static_cast<int64_t>(6 * MiB));
  alloc.deallocate(a, 0);
  s = alloc.stats();
  EXPECT_EQ(s.allocated_bytes, static_cast<int64_t>(2 * MiB));
  EXPECT_EQ(s.peak_allocated_bytes, static_cast<int64_t>(6 * MiB));
  EXPECT_EQ(s.reserved_bytes, static_cast<int64_t>(6 * MiB));  // cached, still reserved
  alloc.empty_cache();
  s = alloc.stats();
  EXPECT_EQ(s.reserved_bytes, static_cast<int64_t>(2 * MiB));
  EXPECT_EQ(s.peak_reserved_bytes, static_cast<int64_t>(6 * MiB));
  alloc.reset_peak_stats();
  s = alloc.stats();
  EXPECT_EQ(s.peak_allocated_bytes, static_cast<int64_t>(2 * MiB));
  EXPECT_EQ(s.peak_reserved_bytes, static_cast<int64_t>(2 * MiB));
  EXPECT_EQ(s.num_allocs, 2);
  EXPECT_EQ(s.num_frees, 1);
  EXPECT_EQ(s.num_device_mallocs, 2);
  EXPECT_EQ(s.num_ooms, 0);
  alloc.deallocate(b, 0);
}

TEST(CachingAllocator, EmptyCacheReturnsUnusedSegments) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  void* a = alloc.allocate(3 * MiB);
  void* b = alloc.allocate(100);
  void* c = alloc.allocate(5 * MiB);
  alloc.deallocate(a, 0);
  alloc.deallocate(c, 0);
  alloc.empty_cache();
  EXPECT_EQ(device.live().size(), 1u);  // only b's small segment
  EXPECT_EQ(device.used(), 2 * MiB);
  alloc.deallocate(b, 0);
  alloc.empty_cache();
  EXPECT_TRUE(device.live().empty());
  EXPECT_EQ(alloc.stats().reserved_bytes, 0);
  EXPECT_EQ(alloc.largest_free_block(), 0u);
}

TEST(CachingAllocator, EmptyCacheGivesTheReservationBackAndTheNextAllocationReservesAgain) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, reserve(0.5));
  void* a = alloc.allocate(100);  // a small segment carved from the reservation
  void* b = alloc.allocate(3 * MiB);
  alloc.deallocate(a, 0);
  alloc.deallocate(b, 0);
  alloc.empty_cache();
  EXPECT_TRUE(device.live().empty());
  void* c = alloc.allocate(1 * MiB);
  EXPECT_EQ(alloc.stats().reserved_bytes, static_cast<int64_t>(32 * MiB));
  EXPECT_EQ(device.mallocs, 2);
  alloc.deallocate(c, 0);
}

TEST(CachingAllocator, DestructorReturnsEverything) {
  FakeDevice device(64 * MiB);
  {
    CachingAllocator alloc(device, growth());
    alloc.allocate(3 * MiB);
    alloc.allocate(10);
    void* p = alloc.allocate(5 * MiB);
    alloc.deallocate(p, 0);
  }
  EXPECT_TRUE(device.live().empty());
  EXPECT_EQ(device.frees, 3);
}

TEST(CachingAllocator, UnknownPointersAreErrors) {
  FakeDevice device(64 * MiB);
  CachingAllocator alloc(device, growth());
  int local = 0;
  EXPECT_THROW(alloc.deallocate(&local, 4), ValueError);
  EXPECT_THROW(alloc.record_stream(&local, 1), ValueError);
  void* p = alloc.allocate(100);
  alloc.deallocate(p, 100);
  try {
    alloc.deallocate(p, 100);  // twice
    FAIL() << "double free accepted";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("GPU:0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not a live allocation"), std::string::npos) << e.what();
  }
  alloc.deallocate(nullptr, 0);  // like free(nullptr)
  EXPECT_EQ(alloc.stats().num_frees, 1);
}

TEST(CachingAllocator, RejectsABadReserveFraction) {
  FakeDevice device(64 * MiB);
  EXPECT_THROW({ CachingAllocator alloc(device, reserve(0.0)); }, ValueError);
  EXPECT_THROW({ CachingAllocator alloc(device, reserve(1.5)); }, ValueError);
}

// Random allocations on three streams with record_stream: blocks never overlap (each is filled with its own
// byte and checked before it is freed), every byte lies in device memory, and everything comes back.
TEST(CachingAllocator, RandomWorkloadKeepsBlocksDisjoint) {
  for (bool allow_growth : {false, true}) {
    FakeDevice device(128 * MiB);
    CachingAllocatorOptions options = allow_growth ? growth(64 * MiB) : reserve(0.95, 64 * MiB);
    CachingAllocator alloc(device, options);
    std::mt19937 rng(allow_growth ? 1 : 2);
    struct Live {
      void* ptr;
      size_t size;
      unsigned char fill;
    };
    std::vector<Live> live;
    size_t live_bytes = 0;
    for (int i = 0; i < 3000; ++i) {
      bool do_alloc = live.empty() || (rng() % 100 < 55 && live_bytes < 24 * MiB);
      if (do_alloc) {
        size_t size = rng() % 4 == 0 ? rng() % (3 * MiB) : rng() % (64 * KiB);
        StreamId stream = rng() % 3;
        void* p = alloc.allocate(size, stream);
        ASSERT_TRUE(device.owns(p, size));
        auto fill = static_cast<unsigned char>(rng());
        std::memset(p, fill, size);
        if (rng() % 8 == 0) alloc.record_stream(p, stream + 1);
        live.push_back({p, size, fill});
        live_bytes += size;
      } else {
        size_t k = rng() % live.size();
        Live blk = live[k];
        auto* bytes = static_cast<unsigned char*>(blk.ptr);
        for (size_t j = 0; j < blk.size; j += 61) ASSERT_EQ(bytes[j], blk.fill) << "block overwritten";
        if (blk.size) {
          ASSERT_EQ(bytes[blk.size - 1], blk.fill);
        }
        alloc.deallocate(blk.ptr, blk.size);
        live[k] = live.back();
        live.pop_back();
        live_bytes -= blk.size;
      }
      ASSERT_LE(alloc.stats().reserved_bytes, static_cast<int64_t>(64 * MiB));
    }
    for (auto& blk : live) alloc.deallocate(blk.ptr, blk.size);
    EXPECT_EQ(alloc.stats().allocated_bytes, 0);
    alloc.empty_cache();
    EXPECT_EQ(alloc.stats().reserved_bytes, 0) << "allow_growth=" << allow_growth;
    EXPECT_TRUE(device.live().empty());
  }
}

TEST(CachingAllocator, IsThreadSafe) {
  FakeDevice device(256 * MiB);
  CachingAllocator alloc(device, growth());
  auto worker = [&alloc](int id) {
    std::mt19937 rng(id);
    std::vector<std::pair<unsigned char*, size_t>> mine;
    for (int i = 0; i < 2000; ++i) {
      if (mine.size() < 16 && rng() % 2) {
        size_t size = 1 + rng() % (256 * KiB);
        auto* p = static_cast<unsigned char*>(alloc.allocate(size, static_cast<StreamId>(id)));
        p[0] = p[size - 1] = static_cast<unsigned char>(id);
        mine.emplace_back(p, size);
      } else if (!mine.empty()) {
        auto [p, size] = mine.back();
        mine.pop_back();
        if (p[0] != id || p[size - 1] != id) {
          ADD_FAILURE() << "block shared between threads";
        }
        alloc.deallocate(p, size);
      }
    }
    for (auto [p, size] : mine) alloc.deallocate(p, size);
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker, t + 1);
  for (auto& t : threads) t.join();
  MemoryStats s = alloc.stats();
  EXPECT_EQ(s.allocated_bytes, 0);
  EXPECT_EQ(s.num_allocs, s.num_frees);
}

}  // namespace
}  // namespace keel::memory
