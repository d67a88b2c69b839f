// Neural-network ops (keras.ops.nn names): matmul, the fused dense layer, convolutions in channels-last
// layout with HWIO kernels as Keras stores them, pooling, softmax, normalisation, dropout and fused
// cross-entropies. On the CPU these run on oneDNN primitives, forward and backward.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::ops {

/// NumPy matmul: (..., n, k) x (..., k, m) -> (..., n, m), batch dims broadcast; 1-D operands as numpy.
Tensor matmul(const Tensor& a, const Tensor& b);
/// x·kernel + bias over the last axis: x (..., in), kernel (in, units), bias (units) or undefined.
Tensor dense(const Tensor& x, const Tensor& kernel, const Tensor& bias = Tensor());

struct ConvOptions {
  std::vector<int64_t> strides = {1};        // one value for all spatial axes, or one per axis
  std::string padding = "valid";             // "valid" or "same" (TF/Keras padding rule)
  std::vector<int64_t> dilation_rate = {1};
  int64_t groups = 1;                        // in_channels/groups per kernel input channel
};
/// x (N, W, Cin), kernel (K, Cin/groups, Cout) -> (N, W', Cout).
Tensor conv1d(const Tensor& x, const Tensor& kernel, const ConvOptions& options = {});
/// x (N, H, W, Cin), kernel (KH, KW, Cin/groups, Cout) -> (N, H', W', Cout).
Tensor conv2d(const Tensor& x, const Tensor& kernel, const ConvOptions& options = {});
/// kernel (KH, KW, Cin, multiplier) -> (N, H', W', Cin·multiplier), as keras.ops.depthwise_conv.
Tensor depthwise_conv2d(const Tensor& x, const Tensor& kernel, const ConvOptions& options = {});
/// Transposed convolution: x (N, H, W, Cin), kernel (KH, KW, Cout, Cin) as Keras's Conv2DTranspose
/// stores it. Output size follows Keras (deconv_output_length) with optional output_padding.
Tensor conv2d_transpose(const Tensor& x, const Tensor& kernel, const ConvOptions& options = {},
                        std::optional<std::vector<int64_t>> output_padding = std::nullopt);

struct PoolOptions {
  std::vector<int64_t> strides = {};  // empty: equal to pool_size (Keras default)
  std::string padding = "valid";
};
/// x (N, W, C) and (N, H, W, C); pool_size has one value for all spatial axes or one per axis.
/// Average pooling with "same" padding averages only the real elements (as TensorFlow).
Tensor max_pool1d(const Tensor& x, std::vector<int64_t> pool_size, const PoolOptions& options = {});
Tensor max_pool2d(const Tensor& x, std::vector<int64_t> pool_size, const PoolOptions& options = {});
Tensor avg_pool1d(const Tensor& x, std::vector<int64_t> pool_size, const PoolOptions& options = {});
Tensor avg_pool2d(const Tensor& x, std::vector<int64_t> pool_size, const PoolOptions& options = {});

Tensor softmax(const Tensor& x, int64_t axis = -1);
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

/// Batch normalisation in training mode: statistics over every axis but `axis` (biased variance, as Keras).
struct BatchNormTrainResult {
  Tensor y;
  Tensor mean;      // (C)
  Tensor variance;  // (C), biased
};
BatchNormTrainResult batch_norm_train(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                      int64_t axis = -1, double epsilon = 1e-3);
/// Inference form with given (moving) statistics, as keras.ops.batch_normalization.
Tensor batch_norm_inference(const Tensor& x, const Tensor& mean, const Tensor& variance, const Tensor& gamma,
                            const Tensor& beta, int64_t axis = -1, double epsilon = 1e-3);
/// Layer normalisation over the trailing axes `axes` (default the last); gamma/beta of their shape.
Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, const std::vector<int64_t>& axes = {-1},
                  double epsilon = 1e-3);

/// Inverted dropout: zeroes each element with probability `rate` and scales the rest by 1/(1-rate).
/// The mask comes from the Philox stream (`seed`, or the global generator), identical on every device.
Tensor dropout(const Tensor& x, double rate, std::optional<uint64_t> seed = std::nullopt);

/// Elementwise max(x,0) - x·z + log(1 + exp(-|x|)) for logits x and labels z (same shape).
Tensor sigmoid_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);
/// -sum(labels · log_softmax(logits)) along `axis`: one value per sample.
Tensor softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits, int64_t axis = -1);
/// Integer class labels (shape = logits without the last axis): one value per sample.
Tensor sparse_softmax_cross_entropy_with_logits(const Tensor& labels, const Tensor& logits);

}  // namespace keel::ops
