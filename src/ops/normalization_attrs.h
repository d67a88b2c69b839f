// Attributes of the normalisation ops, and the internal entry points of their backward ops (used by the
// gradient rules; not public API).
//   BatchNormTrain(x, gamma, beta) -> (y, mean, variance), BatchNormInference(x, mean, variance, gamma, beta) -> y,
//   BatchNormBackward(x, gamma, mean, variance, grad_y) -> (grad_x, grad_gamma, grad_beta),
//   LayerNorm(x, gamma, beta) -> (y, mean, variance) with per-row statistics (only y is public),
//   LayerNormBackward(x, gamma, mean, variance, grad_y) -> (grad_x, grad_gamma, grad_beta).
#pragma once
#include <array>
#include <cstdint>

#include "keel/core/tensor.h"

namespace keel {

/// Channel axis (normalised) and epsilon; x is seen as (outer, C, inner) around the axis.
struct BatchNormAttrs {
  int64_t axis = 0;
  double epsilon = 1e-3;
};

/// x is seen as (rows, cols): rows = product of x.shape[:begin_axis], cols = the rest.
struct LayerNormAttrs {
  int64_t begin_axis = 0;
  double epsilon = 1e-3;
};

/// x of LayerNorm as (rows, cols) around begin_axis.
struct LayerNormRows {
  int64_t rows = 1, cols = 1;
};
inline LayerNormRows layer_norm_rows(const Tensor& x, int64_t begin_axis) {
  LayerNormRows r;
  for (int64_t d = 0; d < x.ndim(); ++d) (d < begin_axis ? r.rows : r.cols) *= x.shape()[d];
  return r;
}

namespace detail {
/// Runs BatchNormBackward: mean/variance are the batch statistics BatchNormTrain returned.
std::array<Tensor, 3> batch_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                          const Tensor& variance, const Tensor& grad_y, const BatchNormAttrs& attrs);
/// Runs LayerNormBackward with the per-row mean/variance LayerNorm saved.
std::array<Tensor, 3> layer_norm_backward(const Tensor& x, const Tensor& gamma, const Tensor& mean,
                                          const Tensor& variance, const Tensor& grad_y, const LayerNormAttrs& attrs);
}  // namespace detail

}  // namespace keel
