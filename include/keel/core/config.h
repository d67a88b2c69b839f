// Process-wide runtime settings: CPU thread count (OpenMP, shared with oneDNN so only one pool spins).
#pragma once
#include <functional>

namespace keel::config {

/// Threads used by CPU kernels; default: all cores (or OMP_NUM_THREADS when set).
void set_num_threads(int n);
int get_num_threads();

}  // namespace keel::config

namespace keel {
/// Runs fn(begin, end) over [0, n) in chunks of at least `grain` items on the CPU thread pool.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
}  // namespace keel
