// What every CUDA kernel file uses: error checks that throw keel errors, the stream kernels launch on,
// the cuBLAS/cuBLASLt/cuDNN handles bound to it, scratch workspace, and launch-size helpers.
// Internal to the CUDA backend: CUDA types never appear in include/keel.
// Every `device` below is a LOGICAL GPU index, the Device::index of a tensor (Note [logical GPUs] in
// runtime.h): each logical GPU has its own stream, handles and workspace on its physical device.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace keel::cuda {

/// Throw keel::RuntimeError naming `what` and the library's message when a call fails.
void check(cudaError_t e, const char* what);
void check_cublas(cublasStatus_t s, const char* what);
void check_cudnn(cudnnStatus_t s, const char* what);

/// The stream Keel's kernels run on for `device` (one non-blocking stream per logical GPU). Also makes
/// the device's physical GPU current on the calling thread, so a kernel launched next lands there.
cudaStream_t current_stream(int device);
/// Library handles bound to current_stream(device); created on first use.
cublasHandle_t cublas_handle(int device);
cublasLtHandle_t cublaslt_handle(int device);
cudnnHandle_t cudnn_handle(int device);
/// Scratch memory of at least `bytes` on `device`, valid until the next workspace() call for it. It comes
/// from the device's caching allocator, so it counts against its memory limit.
void* workspace(int device, size_t bytes);
/// config::enable_tensor_float_32_execution (off by default: float32 matmul is exact float32).
bool tf32_enabled();
/// Makes the physical GPU of logical `device` current for the calling thread.
void set_device(int device);
/// Waits for every logical GPU's work and destroys the streams, handles and workspaces; the next use
/// creates them again. Called when the GPU runtime is re-initialized (tests).
void release_device_contexts();

/// Grid size for n elements at `threads` per block, capped at what a grid may hold (kernels loop).
inline int blocks_for(int64_t n, int threads = 256) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<int>(std::clamp<int64_t>(blocks, 1, 65535 * 32));
}

}  // namespace keel::cuda

#define KEEL_CUDA_CHECK(expr) ::keel::cuda::check((expr), #expr)
#define KEEL_CUBLAS_CHECK(expr) ::keel::cuda::check_cublas((expr), #expr)
#define KEEL_CUDNN_CHECK(expr) ::keel::cuda::check_cudnn((expr), #expr)
