// Process-wide runtime settings: CPU thread count (OpenMP, shared with oneDNN so only one pool spins).
#pragma once
#include <functional>

namespace keel::config {

/// Threads used by CPU kernels; default: all cores (or OMP_NUM_THREADS when set).
void set_num_threads(int n);
int get_num_threads();
/// TensorFlow's tf.config.experimental.enable_tensor_float_32_execution: lets float32 matmuls and
/// convolutions on GPUs use TF32 tensor cores. Off by default in Keel, so float32 stays exact.
void enable_tensor_float_32_execution(bool enabled);
bool tensor_float_32_execution_enabled();

}  // namespace keel::config

namespace keel {
/// Runs fn(begin, end) over [0, n) in chunks of at least `grain` items on the CPU thread pool.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
}  // namespace keel
