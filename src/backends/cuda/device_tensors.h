// Helpers on the tensors that CUDA kernels receive, shared by the kernel files: the stream a tensor's
// kernels run on, and copies through the backend's own copy routine, which kernels call directly rather
// than re-entering the dispatcher (a kernel never dispatches: src/backends/README.md).
#pragma once
#include <cuda_runtime.h>

#include "backends/cuda/cuda_context.h"
#include "keel/core/tensor.h"

namespace keel::cuda {

/// The stream of the (logical) GPU that holds `t`.
inline cudaStream_t stream_of(const Tensor& t) { return current_stream(t.device().index); }

/// dst = src for tensors of one shape on one GPU, any dtypes (converted as the CPU's Copy/Cast do) and
/// any strides, negative ones included. The body of the Copy and Cast kernels (elementwise.cu).
void copy_on_device(const Tensor& src, const Tensor& dst);

/// Zeroes a contiguous tensor on its stream: all-zero bits are 0 in every Keel dtype (16-bit floats and
/// bool included).
inline void zero_fill(const Tensor& t) {
  if (t.numel()) KEEL_CUDA_CHECK(cudaMemsetAsync(t.data_ptr(), 0, t.numel() * dtype_size(t.dtype()), stream_of(t)));
}

/// `t` itself when contiguous, else a contiguous copy on its GPU. The caller keeps the copy alive until its
/// kernels are queued; the allocator reuses memory in stream order.
inline Tensor contiguous_on_device(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor c = empty(t.shape(), t.dtype(), t.device());
  copy_on_device(t, c);
  return c;
}

}  // namespace keel::cuda
