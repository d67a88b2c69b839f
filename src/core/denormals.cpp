#include "core/denormals.h"

#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "keel/core/config.h"

#if defined(__SSE__)
#include <xmmintrin.h>
#define KEEL_HAVE_MXCSR 1
#endif

namespace keel {
namespace {

constexpr unsigned kFlushBits = 0x8040;  // MXCSR FTZ (bit 15) | DAZ (bit 6)

bool enabled_from_environment() {
  const char* v = std::getenv("KEEL_FLUSH_DENORMALS");
  return v == nullptr || !(std::strcmp(v, "0") == 0 || std::strcmp(v, "false") == 0);
}

std::atomic<bool>& enabled() {
  static std::atomic<bool> e{enabled_from_environment()};
  return e;
}

// Pool threads already given the current setting; a larger pool (set_num_threads) gets it again.
std::atomic<int> g_pool_threads_set{0};

void set_pool_flags(bool flush) {
#if KEEL_HAVE_MXCSR
  if (omp_in_parallel()) return;
#pragma omp parallel
  {
    if (omp_get_thread_num() != 0)  // workers keep it; the caller's own flags stay scoped
      _mm_setcsr(flush ? (_mm_getcsr() | kFlushBits) : (_mm_getcsr() & ~kFlushBits));
  }
  g_pool_threads_set.store(flush ? omp_get_max_threads() : 0);
#else
  (void)flush;
#endif
}

}  // namespace

namespace config {
void set_flush_denormals(bool enabled_now) {
  enabled().store(enabled_now);
  set_pool_flags(enabled_now);
}
bool flush_denormals() { return enabled().load(); }
}  // namespace config

namespace detail {

ScopedFlushDenormals::ScopedFlushDenormals() {
#if KEEL_HAVE_MXCSR
  if (!enabled().load(std::memory_order_relaxed)) return;
  if (g_pool_threads_set.load(std::memory_order_relaxed) < omp_get_max_threads()) set_pool_flags(true);
  saved_ = _mm_getcsr();
  if ((saved_ & kFlushBits) != kFlushBits) {
    _mm_setcsr(saved_ | kFlushBits);
    set_ = true;
  }
#endif
}

ScopedFlushDenormals::~ScopedFlushDenormals() {
#if KEEL_HAVE_MXCSR
  if (set_) _mm_setcsr(saved_);
#endif
}

}  // namespace detail
}  // namespace keel
