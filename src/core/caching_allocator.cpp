// The caching allocator; see Note [Caching allocator design] in caching_allocator.h.
#include "core/caching_allocator.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <tuple>

#include "keel/core/error.h"

namespace keel::memory {
namespace {

constexpr size_t kRound = 512;                     // every block size is a multiple of this
constexpr size_t kSmallRequest = size_t{1} << 20;  // requests up to this go to the small pool
constexpr size_t kSmallSegment = size_t{2} << 20;  // size of a small-pool segment
constexpr size_t kLargeRound = size_t{2} << 20;    // large segments are multiples of this
// The stream tag of a free block that no queued work touches: any stream may take it.
constexpr StreamId kClean = std::numeric_limits<StreamId>::max();

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }
bool is_small(size_t size) { return size <= kSmallRequest; }
// Two free blocks may merge when no stream other than one may still use them; the result keeps that stream.
bool compatible(StreamId a, StreamId b) { return a == b || a == kClean || b == kClean; }
StreamId merged_tag(StreamId a, StreamId b) { return a == kClean ? b : a; }

}  // namespace

enum class BlockState { kFree, kAllocated, kWaiting, kCarved };

struct CachingAllocator::Segment {
  char* base = nullptr;
  size_t size = 0;
  bool small = false;
  Block* parent = nullptr;  // the large-pool block a small segment was carved from; null if from the provider
  Block* head = nullptr;    // blocks tile the segment in address order
};

struct CachingAllocator::Block {
  Segment* segment = nullptr;
  char* ptr = nullptr;
  size_t size = 0;
  StreamId stream = kClean;  // allocated: the allocating stream; free: the stream that may still use it
  BlockState state = BlockState::kFree;
  Block* prev = nullptr;
  Block* next = nullptr;
  std::vector<StreamId> other_streams;  // record_stream() calls with streams other than `stream`

  bool free() const { return state == BlockState::kFree; }
  void absorb_next() {
    Block* n = next;
    size += n->size;
    next = n->next;
    if (next) next->prev = this;
    delete n;
  }
};

bool CachingAllocator::BlockOrder::operator()(const Block* a, const Block* b) const {
  return std::make_tuple(a->stream, a->size, reinterpret_cast<uintptr_t>(a->ptr)) <
         std::make_tuple(b->stream, b->size, reinterpret_cast<uintptr_t>(b->ptr));
}

CachingAllocator::CachingAllocator(DeviceMemoryProvider& provider, CachingAllocatorOptions options)
    : provider_(provider), options_(std::move(options)) {
  KEEL_CHECK(options_.reserve_fraction > 0 && options_.reserve_fraction <= 1, ValueError, "CachingAllocator(",
             options_.device_name, "): reserve_fraction must be in (0, 1], got ", options_.reserve_fraction);
}

CachingAllocator::~CachingAllocator() {
  std::lock_guard lock(mu_);
  try {
    provider_.synchronize();  // queued kernels may still use the memory
  } catch (...) {
    // A destructor cannot report it; the device is in an error state and freeing is all that is left.
  }
  for (auto& seg : segments_) {
    for (Block* b = seg->head; b;) {
      Block* next = b->next;
      delete b;
      b = next;
    }
    if (!seg->parent) provider_.free(seg->base);
  }
}

void* CachingAllocator::allocate(size_t nbytes) { return allocate(nbytes, 0); }

void* CachingAllocator::allocate(size_t nbytes, StreamId stream) {
  KEEL_CHECK(stream != kClean, ValueError, "CachingAllocator(", options_.device_name, "): invalid stream id ", stream);
  std::lock_guard lock(mu_);
  if (nbytes > std::numeric_limits<size_t>::max() - kLargeRound) throw_oom(nbytes);
  size_t size = round_up(std::max<size_t>(nbytes, 1), kRound);  // 0 bytes still gets a distinct pointer
  Block* block = try_allocate(size, stream);
  if (!block) {
    empty_cache_locked();
    block = try_allocate(size, stream);
  }
  if (!block) throw_oom(nbytes);
  allocated_[block->ptr] = block;
  ++stats_.num_allocs;
  stats_.allocated_bytes += static_cast<int64_t>(block->size);
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  return block->ptr;
}

void CachingAllocator::deallocate(void* ptr, size_t /*nbytes*/) {
  if (!ptr) return;
  std::lock_guard lock(mu_);
  auto it = allocated_.find(ptr);
  KEEL_CHECK(it != allocated_.end(), ValueError, "CachingAllocator(", options_.device_name, "): deallocate of ", ptr,
             ", which is not a live allocation of this allocator (freed twice, or from elsewhere)");
  Block* block = it->second;
  allocated_.erase(it);
  ++stats_.num_frees;
  stats_.allocated_bytes -= static_cast<int64_t>(block->size);
  if (block->other_streams.empty()) {
    release(block);
  } else {
    block->state = BlockState::kWaiting;  // other streams may still have work queued on it
    waiting_.push_back(block);
  }
}

void CachingAllocator::record_stream(void* ptr, StreamId stream) {
  std::lock_guard lock(mu_);
  auto it = allocated_.find(ptr);
  KEEL_CHECK(it != allocated_.end(), ValueError, "CachingAllocator(", options_.device_name, "): record_stream on ", ptr,
             ", which is not a live allocation of this allocator");
  Block* block = it->second;
  if (stream != block->stream &&
      std::find(block->other_streams.begin(), block->other_streams.end(), stream) == block->other_streams.end())
    block->other_streams.push_back(stream);
}

MemoryStats CachingAllocator::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak_stats() {
  std::lock_guard lock(mu_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
  stats_.peak_reserved_bytes = stats_.reserved_bytes;
}

void CachingAllocator::empty_cache() {
  std::lock_guard lock(mu_);
  empty_cache_locked();
}

size_t CachingAllocator::largest_free_block() const {
  std::lock_guard lock(mu_);
  return largest_free_block_locked();
}

// Cache first; then, rather than growing, make other streams' free blocks usable by synchronizing; then grow.
CachingAllocator::Block* CachingAllocator::try_allocate(size_t size, StreamId stream) {
  if (Block* block = take_cached(size, stream)) return block;
  if (has_foreign_blocks(stream)) {
    synchronize_locked();
    if (Block* block = take_cached(size, stream)) return block;
  }
  if (obtain_segment(size)) return take_cached(size, stream);
  return nullptr;
}

CachingAllocator::Block* CachingAllocator::take_cached(size_t size, StreamId stream) {
  if (!is_small(size)) {
    Block* block = best_fit(large_free_, size, stream);
    return block ? take(large_free_, block, size, stream) : nullptr;
  }
  Block* block = best_fit(small_free_, size, stream);
  if (!block && carve_small_segment(stream)) block = best_fit(small_free_, size, stream);
  return block ? take(small_free_, block, size, stream) : nullptr;
}

// The smallest free block of at least `size` that `stream` may use now: its own or a clean one.
CachingAllocator::Block* CachingAllocator::best_fit(FreeSet& pool, size_t size, StreamId stream) {
  auto fit = [&](StreamId tag) -> Block* {
    Block probe;
    probe.stream = tag;
    probe.size = size;
    auto it = pool.lower_bound(&probe);
    return it != pool.end() && (*it)->stream == tag ? *it : nullptr;
  };
  Block* own = fit(stream);
  Block* clean = fit(kClean);
  if (!own) return clean;
  if (!clean) return own;
  return clean->size < own->size ? clean : own;
}

// Removes `block` from its free pool, splits off the remainder when it is worth keeping, and marks the rest
// allocated on `stream`.
CachingAllocator::Block* CachingAllocator::take(FreeSet& pool, Block* block, size_t size, StreamId stream) {
  pool.erase(block);
  size_t remainder = block->size - size;
  bool split = block->segment->small ? remainder >= kRound : remainder > kSmallRequest;
  if (split) {
    auto* rest = new Block;
    rest->segment = block->segment;
    rest->ptr = block->ptr + size;
    rest->size = remainder;
    rest->stream = block->stream;
    rest->prev = block;
    rest->next = block->next;
    if (rest->next) rest->next->prev = rest;
    block->next = rest;
    block->size = size;
    pool.insert(rest);
  }
  block->stream = stream;
  block->state = BlockState::kAllocated;
  return block;
}

// A new small-pool segment cut out of a cached large block (how small requests are served from the
// up-front reservation).
bool CachingAllocator::carve_small_segment(StreamId stream) {
  Block* parent = best_fit(large_free_, kSmallSegment, stream);
  if (!parent) return false;
  StreamId tag = parent->stream;
  take(large_free_, parent, kSmallSegment, stream);
  parent->state = BlockState::kCarved;
  auto seg = std::make_unique<Segment>();
  seg->base = parent->ptr;
  seg->size = parent->size;
  seg->small = true;
  seg->parent = parent;
  seg->head = new Block;
  seg->head->segment = seg.get();
  seg->head->ptr = seg->base;
  seg->head->size = seg->size;
  seg->head->stream = tag;
  small_free_.insert(seg->head);
  segments_.push_back(std::move(seg));
  return true;
}

// Gets a segment from the provider that can serve `size`: the up-front reservation when there is none yet
// and growth is off, else one sized to the request. False when the limit or the device forbids it.
bool CachingAllocator::obtain_segment(size_t size) {
  size_t headroom = std::numeric_limits<size_t>::max();
  if (options_.memory_limit) {
    auto reserved = static_cast<size_t>(stats_.reserved_bytes);
    headroom = *options_.memory_limit > reserved ? *options_.memory_limit - reserved : 0;
  }
  bool small = is_small(size);
  if (!options_.allow_growth && stats_.reserved_bytes == 0) {
    auto want = static_cast<size_t>(options_.reserve_fraction * static_cast<double>(provider_.free_memory()));
    want = std::min(want, headroom) / kRound * kRound;
    if (want >= (small ? kSmallSegment : size) && map_segment(want, /*small=*/false)) return true;
  }
  size_t bytes = std::min(small ? kSmallSegment : round_up(size, kLargeRound), headroom);  // near the limit: less
  if (bytes < size) return false;
  if (map_segment(bytes, small)) return true;
  return bytes > size && map_segment(size, small);  // the device may still have room for the exact size
}

CachingAllocator::Segment* CachingAllocator::map_segment(size_t bytes, bool small) {
  if (options_.memory_limit && static_cast<size_t>(stats_.reserved_bytes) + bytes > *options_.memory_limit)
    return nullptr;
  void* ptr = provider_.malloc(bytes);
  if (!ptr) return nullptr;
  ++stats_.num_device_mallocs;
  stats_.reserved_bytes += static_cast<int64_t>(bytes);
  stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
  auto seg = std::make_unique<Segment>();
  seg->base = static_cast<char*>(ptr);
  seg->size = bytes;
  seg->small = small;
  seg->head = new Block;
  seg->head->segment = seg.get();
  seg->head->ptr = seg->base;
  seg->head->size = bytes;
  (small ? small_free_ : large_free_).insert(seg->head);
  segments_.push_back(std::move(seg));
  return segments_.back().get();
}

// Returns a block to its pool, merged with the free neighbours it is compatible with.
void CachingAllocator::release(Block* block) {
  block->state = BlockState::kFree;
  block->other_streams.clear();
  FreeSet& pool = pool_of(block);
  if (Block* prev = block->prev; prev && prev->free() && compatible(prev->stream, block->stream)) {
    pool.erase(prev);
    prev->stream = merged_tag(prev->stream, block->stream);
    prev->absorb_next();
    block = prev;
  }
  if (Block* next = block->next; next && next->free() && compatible(block->stream, next->stream)) {
    pool.erase(next);
    block->stream = merged_tag(block->stream, next->stream);
    block->absorb_next();
  }
  pool.insert(block);
}

// Whether some cached memory is unusable by `stream` until a synchronize: free blocks of other streams, or
// blocks waiting on recorded streams. The pools are ordered by stream, and kClean sorts last.
bool CachingAllocator::has_foreign_blocks(StreamId stream) const {
  if (!waiting_.empty()) return true;
  for (const FreeSet* pool : {&small_free_, &large_free_}) {
    if (pool->empty()) continue;
    StreamId first = (*pool->begin())->stream;
    if (first != stream && first != kClean) return true;
    Block probe;
    probe.stream = stream + 1;
    probe.size = 0;
    auto it = pool->lower_bound(&probe);
    if (it != pool->end() && (*it)->stream != kClean) return true;
  }
  return false;
}

// After the device is idle no queued work touches any free block: all become clean, waiting blocks
// return, and neighbours that were kept apart by their streams merge.
void CachingAllocator::synchronize_locked() {
  provider_.synchronize();
  for (Block* block : waiting_) {
    block->state = BlockState::kFree;
    block->other_streams.clear();
  }
  waiting_.clear();
  small_free_.clear();
  large_free_.clear();
  for (auto& seg : segments_) {
    for (Block* block = seg->head; block; block = block->next) {
      if (!block->free()) continue;
      block->stream = kClean;
      while (block->next && block->next->free()) block->absorb_next();
      pool_of(block).insert(block);
    }
  }
}

void CachingAllocator::empty_cache_locked() {
  synchronize_locked();
  auto unused = [](const Segment& seg) { return seg.head->free() && seg.head->size == seg.size; };
  // Carved small segments first: their parents rejoin the large pool and may leave a whole segment unused.
  std::vector<std::unique_ptr<Segment>> kept;
  for (auto& seg : segments_) {
    if (seg->parent && unused(*seg)) {
      small_free_.erase(seg->head);
      delete seg->head;
      seg->parent->stream = kClean;
      release(seg->parent);
    } else {
      kept.push_back(std::move(seg));
    }
  }
  segments_.clear();
  for (auto& seg : kept) {
    if (!seg->parent && unused(*seg)) {
      pool_of(seg->head).erase(seg->head);
      delete seg->head;
      provider_.free(seg->base);
      stats_.reserved_bytes -= static_cast<int64_t>(seg->size);
    } else {
      segments_.push_back(std::move(seg));
    }
  }
}

size_t CachingAllocator::largest_free_block_locked() const {
  size_t largest = 0;
  for (const FreeSet* pool : {&small_free_, &large_free_})
    for (const Block* block : *pool) largest = std::max(largest, block->size);
  return largest;
}

CachingAllocator::FreeSet& CachingAllocator::pool_of(const Block* block) {
  return block->segment->small ? small_free_ : large_free_;
}

void CachingAllocator::throw_oom(size_t nbytes) {
  ++stats_.num_ooms;
  std::string limit = options_.memory_limit ? " (limit " + format_bytes(*options_.memory_limit) + ")" : "";
  throw ResourceExhaustedError(detail::cat("OOM when allocating ", format_bytes(nbytes), " on ", options_.device_name,
                                           ": ", format_bytes(static_cast<size_t>(stats_.allocated_bytes)), " in use, ",
                                           format_bytes(static_cast<size_t>(stats_.reserved_bytes)), " reserved", limit,
                                           ", ", format_bytes(provider_.free_memory()),
                                           " free on the device, largest free block ",
                                           format_bytes(largest_free_block_locked())));
}

std::string format_bytes(size_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.2f %s", value, kUnits[unit]);
  return text;
}

}  // namespace keel::memory
