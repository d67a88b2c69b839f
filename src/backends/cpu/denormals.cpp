#include "backends/cpu/denormals.h"

#include <omp.h>

#include <atomic>

#include "keel/core/config.h"
#include "ops/dispatch.h"

#if defined(__SSE__)
#include <xmmintrin.h>
#define KEEL_HAVE_MXCSR 1
#endif

namespace keel::cpu {
namespace {

constexpr unsigned kFlushBits = 0x8040;  // MXCSR FTZ (bit 15) | DAZ (bit 6)

// The setting the pool's workers have (-1: not set yet) and how many workers got it: a changed setting or
// a larger pool (set_num_threads) is applied again on the next CPU kernel.
std::atomic<int> g_pool_setting{-1};
std::atomic<int> g_pool_threads{0};

void set_pool_flags(bool flush) {
#if KEEL_HAVE_MXCSR
  if (omp_in_parallel()) return;
#pragma omp parallel
  {
    if (omp_get_thread_num() != 0)  // workers keep it; the caller's own flags stay scoped
      _mm_setcsr(flush ? (_mm_getcsr() | kFlushBits) : (_mm_getcsr() & ~kFlushBits));
  }
  g_pool_setting.store(flush ? 1 : 0);
  g_pool_threads.store(omp_get_max_threads());
#else
  (void)flush;
#endif
}

void cpu_context(void (*body)(void*), void* ctx) {
  const ScopedFlushDenormals flush;
  body(ctx);
}
[[maybe_unused]] const bool kRegistered = (register_backend_context(Backend::kCpu, cpu_context), true);

}  // namespace

ScopedFlushDenormals::ScopedFlushDenormals() {
#if KEEL_HAVE_MXCSR
  const bool flush = config::flush_denormals();
  if (g_pool_setting.load(std::memory_order_relaxed) != static_cast<int>(flush) ||
      g_pool_threads.load(std::memory_order_relaxed) < omp_get_max_threads())
    set_pool_flags(flush);
  if (!flush) return;
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

}  // namespace keel::cpu
