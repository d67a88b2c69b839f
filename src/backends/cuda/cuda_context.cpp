#include "backends/cuda/cuda_context.h"

#include <mutex>
#include <string>
#include <vector>

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

/// Per-device objects, created lazily under one lock (the first use on a device is rare and cheap).
struct DeviceContext {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cublasLtHandle_t cublaslt = nullptr;
  cudnnHandle_t cudnn = nullptr;
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

std::mutex& context_mutex() {
  static std::mutex m;
  return m;
}

DeviceContext& context(int device) {
  static std::vector<DeviceContext> contexts;
  if (contexts.empty()) {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) count = 0;
    contexts.resize(static_cast<size_t>(count));
  }
  if (device < 0 || device >= static_cast<int>(contexts.size()))
    throw ValueError("CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(contexts.size()) +
                     " visible)");
  return contexts[static_cast<size_t>(device)];
}

}  // namespace

void set_device(int device) { KEEL_CUDA_CHECK(cudaSetDevice(device)); }

cudaStream_t current_stream(int device) {
  std::lock_guard lock(context_mutex());
  DeviceContext& c = context(device);
  if (!c.stream) {
    set_device(device);
    KEEL_CUDA_CHECK(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
  }
  return c.stream;
}

cublasHandle_t cublas_handle(int device) {
  cudaStream_t stream = current_stream(device);
  std::lock_guard lock(context_mutex());
  DeviceContext& c = context(device);
  if (!c.cublas) {
    set_device(device);
    KEEL_CUBLAS_CHECK(cublasCreate(&c.cublas));
    KEEL_CUBLAS_CHECK(cublasSetStream(c.cublas, stream));
  }
  return c.cublas;
}

cublasLtHandle_t cublaslt_handle(int device) {
  std::lock_guard lock(context_mutex());
  DeviceContext& c = context(device);
  if (!c.cublaslt) {
    set_device(device);
    KEEL_CUBLAS_CHECK(cublasLtCreate(&c.cublaslt));
  }
  return c.cublaslt;
}

cudnnHandle_t cudnn_handle(int device) {
  cudaStream_t stream = current_stream(device);
  std::lock_guard lock(context_mutex());
  DeviceContext& c = context(device);
  if (!c.cudnn) {
    set_device(device);
    KEEL_CUDNN_CHECK(cudnnCreate(&c.cudnn));
    KEEL_CUDNN_CHECK(cudnnSetStream(c.cudnn, stream));
  }
  return c.cudnn;
}

void* workspace(int device, size_t bytes) {
  std::lock_guard lock(context_mutex());
  DeviceContext& c = context(device);
  if (bytes > c.workspace_bytes) {
    set_device(device);
    // The stream may still read the old block: wait before freeing it.
    if (c.workspace) {
      KEEL_CUDA_CHECK(cudaStreamSynchronize(c.stream));
      KEEL_CUDA_CHECK(cudaFree(c.workspace));
    }
    c.workspace = nullptr;
    KEEL_CUDA_CHECK(cudaMalloc(&c.workspace, bytes));
    c.workspace_bytes = bytes;
  }
  return c.workspace;
}

bool tf32_enabled() { return config::tensor_float_32_execution_enabled(); }

}  // namespace keel::cuda
