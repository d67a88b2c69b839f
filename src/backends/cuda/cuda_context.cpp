#include "backends/cuda/cuda_context.h"

#include <mutex>
#include <string>
#include <vector>

#include "backends/cuda/runtime.h"
#include "keel/core/config.h"
#include "keel/core/error.h"

namespace keel::cuda {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  throw RuntimeError(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
                     ")");
}

void check_cublas(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  throw RuntimeError(std::string("cuBLAS error in ") + what + ": " + cublasGetStatusName(s) + " (" +
                     cublasGetStatusString(s) + ")");
}

void check_cudnn(cudnnStatus_t s, const char* what) {
  if (s == CUDNN_STATUS_SUCCESS) return;
  throw RuntimeError(std::string("cuDNN error in ") + what + ": " + cudnnGetErrorString(s));
}

namespace {

/// Per-logical-GPU objects, created lazily under one lock (the first use on a device is rare and cheap).
struct DeviceContext {
  int physical = -1;  // the CUDA device the objects below belong to
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cublasLtHandle_t cublaslt = nullptr;
  cudnnHandle_t cudnn = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  memory::CachingAllocator* workspace_allocator = nullptr;  // where `workspace` came from
};

std::mutex& context_mutex() {
  static std::mutex m;
  return m;
}

std::vector<DeviceContext>& contexts() {
  static auto* all = new std::vector<DeviceContext>();  // never destroyed: the driver may be gone at exit
  return *all;
}

/// The context of logical GPU `device`. The caller holds context_mutex and has already called
/// physical_device(device), which checks the index and initializes the runtime outside the lock
/// (initialization calls release_device_contexts(), which takes the lock).
DeviceContext& context(int device) {
  std::vector<DeviceContext>& all = contexts();
  const auto count = static_cast<size_t>(logical_device_count());
  if (all.size() < count) all.resize(count);
  return all[static_cast<size_t>(device)];
}

}  // namespace

void set_device(int device) { KEEL_CUDA_CHECK(cudaSetDevice(physical_device(device))); }

cudaStream_t current_stream(int device) {
  const int physical = physical_device(device);
  std::lock_guard lock(context_mutex());
  DeviceContext& c = context(device);
  KEEL_CUDA_CHECK(cudaSetDevice(physical));
  c.physical = physical;
  if (!c.stream) KEEL_CUDA_CHECK(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
  return c.stream;
}

cublasHandle_t cublas_handle(int device) {
  cudaStream_t stream = current_stream(device);  // also makes the device current
  std::lock_guard lock(context_mutex());
  DeviceContext& c = context(device);
  if (!c.cublas) {
    KEEL_CUBLAS_CHECK(cublasCreate(&c.cublas));
    KEEL_CUBLAS_CHECK(cublasSetStream(c.cublas, stream));
  }
  return c.cublas;
}

cublasLtHandle_t cublaslt_handle(int device) {
  const int physical = physical_device(device);
  std::lock_guard lock(context_mutex());
  DeviceContext& c = context(device);
  KEEL_CUDA_CHECK(cudaSetDevice(physical));
  c.physical = physical;
  if (!c.cublaslt) KEEL_CUBLAS_CHECK(cublasLtCreate(&c.cublaslt));
  return c.cublaslt;
}

cudnnHandle_t cudnn_handle(int device) {
  cudaStream_t stream = current_stream(device);  // also makes the device current
  std::lock_guard lock(context_mutex());
  DeviceContext& c = context(device);
  if (!c.cudnn) {
    KEEL_CUDNN_CHECK(cudnnCreate(&c.cudnn));
    KEEL_CUDNN_CHECK(cudnnSetStream(c.cudnn, stream));
  }
  return c.cudnn;
}

void* workspace(int device, size_t bytes) {
  const int physical = physical_device(device);
  memory::CachingAllocator& allocator = device_allocator(device);
  std::lock_guard lock(context_mutex());
  DeviceContext& c = context(device);
  c.physical = physical;
  if (bytes > c.workspace_bytes) {
    // Giving the old block back needs no wait: everything on this logical GPU, including the next user of
    // that block, runs on its one stream, in order.
    if (c.workspace) c.workspace_allocator->deallocate(c.workspace, c.workspace_bytes);
    c.workspace = nullptr;
    c.workspace_bytes = 0;
    c.workspace = allocator.allocate(bytes);
    c.workspace_bytes = bytes;
    c.workspace_allocator = &allocator;
  }
  return c.workspace;
}

void release_device_contexts() {
  std::lock_guard lock(context_mutex());
  for (DeviceContext& c : contexts()) {
    if (c.physical < 0) continue;  // never used
    KEEL_CUDA_CHECK(cudaSetDevice(c.physical));
    if (c.stream) KEEL_CUDA_CHECK(cudaStreamSynchronize(c.stream));
    if (c.workspace) c.workspace_allocator->deallocate(c.workspace, c.workspace_bytes);
    if (c.cudnn) KEEL_CUDNN_CHECK(cudnnDestroy(c.cudnn));
    if (c.cublas) KEEL_CUBLAS_CHECK(cublasDestroy(c.cublas));
    if (c.cublaslt) KEEL_CUBLAS_CHECK(cublasLtDestroy(c.cublaslt));
    if (c.stream) KEEL_CUDA_CHECK(cudaStreamDestroy(c.stream));
    c = DeviceContext{};
  }
  contexts().clear();
}

bool tf32_enabled() { return config::tensor_float_32_execution_enabled(); }

}  // namespace keel::cuda
