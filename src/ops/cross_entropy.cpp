// Fused cross-entropies from logits: validation, shape inference and dispatch (kernels in
// backends/*/cross_entropy.cpp). Labels of another dtype are cast to the logits' dtype.
#include "cross_entropy_attrs.h"
#include "keel/ops/nn.h"
#include "record.h"

namespace keel::ops {
namespace {

void check_logits(const char* op, const Tensor& logits) {
  KEEL_CHECK(logits.defined(), ValueError, op, ": logits is an undefined tensor");
  KEEL_CHECK(is_floating(logits.dtype()), DTypeError, op, ": expected floating-point logits, got ",
             dtype_name(logits.dtype()), " with shape ", shape_str(logits.shape()));
}

// Dense labels: same shape as logits, cast to their dtype.
Tensor dense_labels(const char* op, const Tensor& labels, const Tensor& logits) {
  KEEL_CHECK(labels.defined(), ValueError, op, ": labels is an undefined tensor");
  KEEL_CHECK(labels.shape() == logits.shape(), ShapeError, op, ": labels and logits must have the same shape, got ",
             "labels ", shape_str(labels.shape()), " and logits ", shape_str(logits.shape()));
  return labels.astype(logits.dtype());
}

}  // namespace

Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  constexpr const char* kOp = "sigmoid_cross_entropy_with_logits";
  check_logits(kOp, logits);
  Tensor in[] = {dense_labels(kOp, labels, logits), logits};
  Tensor loss = empty(logits.shape(), logits.dtype(), logits.device());
  Tensor out[] = {loss};
  run_op(OpId::SigmoidCrossEntropy, in, out);
  return loss;
}

Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits, int64_t axis) {
  constexpr const char* kOp = "softmax_cross_entropy_with_logits";
  check_logits(kOp, logits);
  KEEL_CHECK(logits.ndim() >= 1, ValueError, kOp, ": expected logits of rank >= 1, got shape ",
             shape_str(logits.shape()));
  SoftmaxCrossEntropyAttrs attrs{normalize_axis(axis, logits.ndim(), kOp)};
  Tensor in[] = {dense_labels(kOp, labels, logits), logits};
  Shape out_shape = logits.shape();
  out_shape.erase(out_shape.begin() + attrs.axis);
  Tensor loss = empty(out_shape, logits.dtype(), logits.device());
  Tensor out[] = {loss};
  run_op(OpId::SoftmaxCrossEntropy, in, out, attrs);
  return loss;
}

Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits) {
  constexpr const char* kOp = "sparse_softmax_cross_entropy_with_logits";
  check_logits(kOp, logits);
  KEEL_CHECK(labels.defined(), ValueError, kOp, ": labels is an undefined tensor");
  KEEL_CHECK(is_integral(labels.dtype()), DTypeError, kOp, ": labels must be integer class indices, got ",
             dtype_name(labels.dtype()));
  KEEL_CHECK(logits.ndim() >= 1, ValueError, kOp, ": expected logits of rank >= 1, got shape ",
             shape_str(logits.shape()));
  Shape batch(logits.shape().begin(), logits.shape().end() - 1);
  KEEL_CHECK(labels.shape() == batch, ShapeError, kOp, ": labels must have shape ", shape_str(batch),
             " (logits ", shape_str(logits.shape()), " without the class axis), got ", shape_str(labels.shape()));
  // Label range is checked by the kernels, before they compute, where the label values are readable.
  Tensor in[] = {labels, logits};
  Tensor loss = empty(batch, logits.dtype(), logits.device());
  Tensor out[] = {loss};
  run_op(OpId::SparseSoftmaxCrossEntropy, in, out);
  return loss;
}

}  // namespace keel::ops
