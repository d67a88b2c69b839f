// Softmax, LogSoftmax and their backward ops on cuDNN (cudnnSoftmaxForward / cudnnSoftmaxBackward).
// x is seen as (outer, n, inner) around the axis and described to cuDNN as the dense NCHW tensor
// (outer, n, inner, 1) with CUDNN_SOFTMAX_MODE_CHANNEL, so any axis runs without a transpose.
// CUDNN_SOFTMAX_ACCURATE subtracts the maximum first, as the CPU kernels do; the backward ops take the
// forward output y: SoftmaxBackward gives y·(dy - Σ dy·y), LogSoftmaxBackward dy - exp(y)·Σ dy.
#include "backends/cuda/cudnn_util.h"
#include "ops/dispatch.h"
#include "ops/softmax_attrs.h"

namespace keel::cuda {
namespace {

using namespace dnnutil;

// `t` (of shape `s`) as the NCHW tensor (outer, n, inner, 1) around `axis`.
void describe(TensorDesc& d, const Shape& s, int64_t axis, DType dtype, const char* op) {
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= s[i];
  for (size_t i = axis + 1; i < s.size(); ++i) inner *= s[i];
  to_int(s[axis] * inner, op, "elements per outer slice");
  d.set(CUDNN_TENSOR_NCHW, cudnn_dtype(dtype, op), to_int(outer, op, "outer size"), to_int(s[axis], op, "axis size"),
        to_int(inner, op, "inner size"), 1);
}

template <bool kLog>
void softmax_cuda(const KernelArgs& args) {
  const char* op = kLog ? "log_softmax" : "softmax";
  const Tensor& y = args.out[0];
  if (y.numel() == 0) return;
  const int device = device_of(y);
  set_device(device);
  const Tensor x = contiguous_on_device(args.in[0]);
  TensorDesc d;
  describe(d, y.shape(), args.get<SoftmaxAttrs>().axis, y.dtype(), op);
  const Scale one(1.0), zero(0.0);
  KEEL_CUDNN_CHECK(cudnnSoftmaxForward(cudnn_handle(device), kLog ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE,
                                       CUDNN_SOFTMAX_MODE_CHANNEL, one.for_dtype(y.dtype()), d.get(), x.data_ptr(),
                                       zero.for_dtype(y.dtype()), d.get(), y.data_ptr()));
}

// in: (y, grad_y) -> grad_x.
template <bool kLog>
void softmax_backward_cuda(const KernelArgs& args) {
  const char* op = kLog ? "log_softmax_backward" : "softmax_backward";
  const Tensor& dx = args.out[0];
  if (dx.numel() == 0) return;
  const int device = device_of(dx);
  set_device(device);
  const Tensor y = contiguous_on_device(args.in[0]), dy = contiguous_on_device(args.in[1]);
  TensorDesc d;
  describe(d, dx.shape(), args.get<SoftmaxAttrs>().axis, dx.dtype(), op);
  const Scale one(1.0), zero(0.0);
  KEEL_CUDNN_CHECK(cudnnSoftmaxBackward(cudnn_handle(device), kLog ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE,
                                        CUDNN_SOFTMAX_MODE_CHANNEL, one.for_dtype(dx.dtype()), d.get(), y.data_ptr(),
                                        d.get(), dy.data_ptr(), zero.for_dtype(dx.dtype()), d.get(), dx.data_ptr()));
}

KEEL_REGISTER_KERNEL(Softmax, kCuda, softmax_cuda<false>);
KEEL_REGISTER_KERNEL(LogSoftmax, kCuda, softmax_cuda<true>);
KEEL_REGISTER_KERNEL(SoftmaxBackward, kCuda, softmax_backward_cuda<false>);
KEEL_REGISTER_KERNEL(LogSoftmaxBackward, kCuda, softmax_backward_cuda<true>);

}  // namespace
}  // namespace keel::cuda
