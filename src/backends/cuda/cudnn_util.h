// Shared by the cuBLAS/cuDNN kernel files (matmul, conv, pooling, softmax, batch norm): cuDNN descriptor
// RAII, DType -> CUDA/cuDNN type maps, a float-dtype visitor over device element types, and int range checks
// for the libraries' int arguments (dense copies of strided operands: device_tensors.h). Everything lives in keel::cuda::dnnutil so it cannot collide with other kernel files' helpers.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>
#include <cstdint>
#include <span>

#include "backends/cuda/cuda_context.h"
#include "backends/cuda/device_tensors.h"
#include "keel/core/error.h"
#include "keel/core/tensor.h"
#include "ops/dispatch.h"

namespace keel::cuda::dnnutil {

// ---- types ----

template <class T>
struct TypeTag {
  using type = T;
};

/// Calls f(TypeTag<T>{}) with T the device element type of a floating dtype (float, double, __half,
/// __nv_bfloat16); any other dtype is a DTypeError naming `op`.
template <class F>
decltype(auto) visit_float(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::f32:
      return f(TypeTag<float>{});
    case DType::f64:
      return f(TypeTag<double>{});
    case DType::f16:
      return f(TypeTag<__half>{});
    case DType::bf16:
      return f(TypeTag<__nv_bfloat16>{});
    default:
      throw DTypeError(
          detail::cat(op, ": the CUDA backend supports float32, float64, float16 and bfloat16, got ", dtype_name(dt)));
  }
}

/// Accumulation type: float for the 16-bit types, the type itself otherwise.
template <class T>
struct AccOf {
  using type = T;
};
template <>
struct AccOf<__half> {
  using type = float;
};
template <>
struct AccOf<__nv_bfloat16> {
  using type = float;
};
template <class T>
using acc_t = typename AccOf<T>::type;

inline cudnnDataType_t cudnn_dtype(DType dt, const char* op) {
  switch (dt) {
    case DType::f32:
      return CUDNN_DATA_FLOAT;
    case DType::f64:
      return CUDNN_DATA_DOUBLE;
    case DType::f16:
      return CUDNN_DATA_HALF;
    case DType::bf16:
      return CUDNN_DATA_BFLOAT16;
    default:
      throw DTypeError(
          detail::cat(op, ": cuDNN supports float32, float64, float16 and bfloat16, got ", dtype_name(dt)));
  }
}

/// cuDNN's alpha/beta scaling factors: double for double data, float otherwise.
struct Scale {
  double d;
  float f;
  explicit Scale(double v) : d(v), f(static_cast<float>(v)) {}
  const void* for_dtype(DType dt) const { return dt == DType::f64 ? static_cast<const void*>(&d) : &f; }
};

// ---- checks ----

/// `v` as an int for a library argument; a ValueError naming `op` and `what` when it does not fit.
inline int to_int(int64_t v, const char* op, const char* what) {
  KEEL_CHECK(v >= 0 && v <= INT_MAX, ValueError, op, ": ", what, " = ", v,
             " exceeds what the CUDA libraries accept (at most ", INT_MAX, ")");
  return static_cast<int>(v);
}

/// The device index of a CUDA tensor (kernels run on the output's device).
inline int device_of(const Tensor& t) { return t.device().index; }

// ---- memory ----

/// Launch-error check after a kernel launch.
inline void check_launch(const char* what) { check(cudaGetLastError(), what); }

// ---- cuDNN descriptors (RAII) ----

class TensorDesc {
 public:
  TensorDesc() { KEEL_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d_)); }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d_); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  /// A dense 4-D tensor of logical dims (n, c, h, w) stored in `format` (NCHW or NHWC).
  void set(cudnnTensorFormat_t format, cudnnDataType_t dt, int n, int c, int h, int w) {
    KEEL_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d_, format, dt, n, c, h, w));
  }
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

class FilterDesc {
 public:
  FilterDesc() { KEEL_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d_)); }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d_); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  /// k output channels, c input channels per group, r x s window, stored in `format` (NHWC = KRSC).
  void set(cudnnTensorFormat_t format, cudnnDataType_t dt, int k, int c, int r, int s) {
    KEEL_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d_, dt, format, k, c, r, s));
  }
  cudnnFilterDescriptor_t get() const { return d_; }

 private:
  cudnnFilterDescriptor_t d_ = nullptr;
};

class ConvDesc {
 public:
  ConvDesc() { KEEL_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d_)); }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d_); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  cudnnConvolutionDescriptor_t get() const { return d_; }

 private:
  cudnnConvolutionDescriptor_t d_ = nullptr;
};

}  // namespace keel::cuda::dnnutil
