// Thread settings. Keel's loops and oneDNN (built with the OpenMP runtime on Debian) share one OpenMP
// pool, so there is never a second pool spinning against it.
#include "keel/core/config.h"

#include <omp.h>

#include <atomic>
#include <cstdlib>
#include <cstring>

#include "keel/core/error.h"

namespace keel {

namespace config {
void set_num_threads(int n) {
  KEEL_CHECK(n >= 1, ValueError, "set_num_threads: expected a positive thread count, got ", n);
  omp_set_num_threads(n);
  // New pool threads get the denormal setting on the next CPU kernel (backends/cpu/denormals.h).
}
int get_num_threads() { return omp_get_max_threads(); }

namespace {
bool flush_denormals_from_environment() {
  const char* v = std::getenv("KEEL_FLUSH_DENORMALS");
  return v == nullptr || !(std::strcmp(v, "0") == 0 || std::strcmp(v, "false") == 0);
}
std::atomic<bool>& flush_denormals_setting() {
  static std::atomic<bool> enabled{flush_denormals_from_environment()};
  return enabled;
}
std::atomic<bool> g_tf32{false};
std::atomic<bool> g_run_eagerly{false};
}  // namespace

// The CPU backend applies it (backends/cpu/denormals.h); core only holds the setting.
void set_flush_denormals(bool enabled) { flush_denormals_setting().store(enabled); }
bool flush_denormals() { return flush_denormals_setting().load(std::memory_order_relaxed); }
void enable_tensor_float_32_execution(bool enabled) { g_tf32.store(enabled); }
bool tensor_float_32_execution_enabled() { return g_tf32.load(); }
void run_functions_eagerly(bool enabled) { g_run_eagerly.store(enabled); }
bool functions_run_eagerly() { return g_run_eagerly.load(); }
}  // namespace config

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(chunks))
  {
    const int64_t t = omp_get_thread_num();
    const int64_t per = (n + chunks - 1) / chunks;
    const int64_t b = t * per, e = std::min(n, b + per);
    if (b < e) fn(b, e);
  }
}

}  // namespace keel
