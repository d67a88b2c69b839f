// Convolution layers (keras.layers.Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D), channels
// last. kernel_size, strides and dilation_rate take one value for every spatial axis or one per axis:
//   layers::Conv2D(32, {3, 3}, {.activation = "relu"});
//   layers::Conv2D(32, {3}, {.strides = {2}, .padding = "same"});
//   layers::Conv1D(16, {5}, {.padding = "causal", .dilation_rate = {2}});
//   layers::Conv2DTranspose(8, {3}, {.strides = {2}, .padding = "same"});
//   layers::DepthwiseConv2D({3, 3}, {.depth_multiplier = 2});
//   layers::SeparableConv2D(64, {3});
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keel/layers/activations.h"
#include "keel/layers/layer.h"

namespace keel::layers {

// --- Conv1D / Conv2D ---

/// Options of Conv1D and Conv2D in Keras's keyword order. data_format "channels_first" takes (batch, channels,
/// *spatial) inputs with the same kernel layout; padding "causal" is for Conv1D only.
struct ConvLayerOptions {
  std::vector<int64_t> strides = {1};
  std::string padding = "valid";  // "valid", "same" (TF rule: extra padding at the end) or "causal"
  std::string data_format = "channels_last";
  std::vector<int64_t> dilation_rate = {1};
  int64_t groups = 1;
  ActivationFn activation = {};
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  Regularizer kernel_regularizer = {};
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  Constraint kernel_constraint = {};
  Constraint bias_constraint = {};
  std::string name = "";
};
using Conv1DOptions = ConvLayerOptions;
using Conv2DOptions = ConvLayerOptions;

/// N-D convolution (rank 1 or 2): kernel (*kernel_size, C_in/groups, filters), bias (filters).
class ConvImpl : public UnaryLayer {
 public:
  /// `class_name` is "Conv1D" (rank 1) or "Conv2D" (rank 2).
  ConvImpl(std::string class_name, int rank, int64_t filters, std::vector<int64_t> kernel_size,
           ConvLayerOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  int rank() const { return rank_; }
  int64_t filters() const { return filters_; }
  const std::vector<int64_t>& kernel_size() const { return kernel_size_; }  // one value per spatial axis
  const std::vector<int64_t>& strides() const { return options_.strides; }
  const std::vector<int64_t>& dilation_rate() const { return options_.dilation_rate; }
  const std::string& padding() const { return options_.padding; }
  int64_t groups() const { return options_.groups; }
  const ActivationFn& activation() const { return options_.activation; }
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }  // undefined when use_bias is false

 private:
  // The computation on channels_last inputs; channels_first transposes around it.
  Tensor call_last(const Tensor& x, const CallContext& ctx);
  Shape output_shape_last(const Shape& input_shape) const;
  int rank_;
  int64_t filters_;
  std::vector<int64_t> kernel_size_;
  ConvLayerOptions options_;
  Variable kernel_, bias_;
};

/// keras.layers.Conv1D: input (batch, steps, channels).
class Conv1D : public LayerHolder<ConvImpl> {
 public:
  Conv1D(int64_t filters, std::vector<int64_t> kernel_size, Conv1DOptions options = {});
};

/// keras.layers.Conv2D: input (batch, rows, cols, channels).
class Conv2D : public LayerHolder<ConvImpl> {
 public:
  Conv2D(int64_t filters, std::vector<int64_t> kernel_size, Conv2DOptions options = {});
};

// --- Conv2DTranspose ---

struct Conv2DTransposeOptions {
  std::vector<int64_t> strides = {1};
  std::string padding = "valid";
  /// Extra rows/columns on the output's far side; each must be < its stride. nullopt: inferred (Keras's None).
  std::optional<std::vector<int64_t>> output_padding = std::nullopt;
  std::string data_format = "channels_last";
  std::vector<int64_t> dilation_rate = {1};
  ActivationFn activation = {};
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  Regularizer kernel_regularizer = {};
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  Constraint kernel_constraint = {};
  Constraint bias_constraint = {};
  std::string name = "";
};

/// Transposed convolution: kernel (kh, kw, filters, C_in) (output channels before input), bias (filters).
class Conv2DTransposeImpl : public UnaryLayer {
 public:
  Conv2DTransposeImpl(int64_t filters, std::vector<int64_t> kernel_size, Conv2DTransposeOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  int64_t filters() const { return filters_; }
  const std::vector<int64_t>& kernel_size() const { return kernel_size_; }
  const std::vector<int64_t>& strides() const { return options_.strides; }
  const std::optional<std::vector<int64_t>>& output_padding() const { return options_.output_padding; }
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }

 private:
  int64_t filters_;
  std::vector<int64_t> kernel_size_;
  Conv2DTransposeOptions options_;
  Variable kernel_, bias_;
};

class Conv2DTranspose : public LayerHolder<Conv2DTransposeImpl> {
 public:
  Conv2DTranspose(int64_t filters, std::vector<int64_t> kernel_size, Conv2DTransposeOptions options = {});
};

// --- DepthwiseConv2D ---

struct DepthwiseConv2DOptions {
  std::vector<int64_t> strides = {1};
  std::string padding = "valid";
  int64_t depth_multiplier = 1;
  std::string data_format = "channels_last";
  std::vector<int64_t> dilation_rate = {1};
  ActivationFn activation = {};
  bool use_bias = true;
  Initializer depthwise_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  Regularizer depthwise_regularizer = {};
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  Constraint depthwise_constraint = {};
  Constraint bias_constraint = {};
  std::string name = "";
};

/// One kernel per input channel: kernel (kh, kw, C_in, depth_multiplier), bias (C_in·depth_multiplier);
/// output channel c·depth_multiplier + m.
class DepthwiseConv2DImpl : public UnaryLayer {
 public:
  DepthwiseConv2DImpl(std::vector<int64_t> kernel_size, DepthwiseConv2DOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  int64_t depth_multiplier() const { return options_.depth_multiplier; }
  const std::vector<int64_t>& kernel_size() const { return kernel_size_; }
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }

 private:
  std::vector<int64_t> kernel_size_;
  DepthwiseConv2DOptions options_;
  Variable kernel_, bias_;
};

class DepthwiseConv2D : public LayerHolder<DepthwiseConv2DImpl> {
 public:
  explicit DepthwiseConv2D(std::vector<int64_t> kernel_size, DepthwiseConv2DOptions options = {});
};

// --- SeparableConv2D ---

struct SeparableConv2DOptions {
  std::vector<int64_t> strides = {1};
  std::string padding = "valid";
  std::string data_format = "channels_last";
  std::vector<int64_t> dilation_rate = {1};
  int64_t depth_multiplier = 1;
  ActivationFn activation = {};
  bool use_bias = true;
  Initializer depthwise_initializer = "glorot_uniform";
  Initializer pointwise_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  Regularizer depthwise_regularizer = {};
  Regularizer pointwise_regularizer = {};
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  Constraint depthwise_constraint = {};
  Constraint pointwise_constraint = {};
  Constraint bias_constraint = {};
  std::string name = "";
};

/// Depthwise convolution (kh, kw, C_in, M) with the layer's strides/padding/dilation, then a pointwise
/// (1, 1, C_in·M, filters) convolution, then the bias (filters).
class SeparableConv2DImpl : public UnaryLayer {
 public:
  SeparableConv2DImpl(int64_t filters, std::vector<int64_t> kernel_size, SeparableConv2DOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  int64_t filters() const { return filters_; }
  const std::vector<int64_t>& kernel_size() const { return kernel_size_; }
  int64_t depth_multiplier() const { return options_.depth_multiplier; }
  const Variable& depthwise_kernel() const { return depthwise_kernel_; }
  const Variable& pointwise_kernel() const { return pointwise_kernel_; }
  const Variable& bias() const { return bias_; }

 private:
  int64_t filters_;
  std::vector<int64_t> kernel_size_;
  SeparableConv2DOptions options_;
  Variable depthwise_kernel_, pointwise_kernel_, bias_;
};

class SeparableConv2D : public LayerHolder<SeparableConv2DImpl> {
 public:
  SeparableConv2D(int64_t filters, std::vector<int64_t> kernel_size, SeparableConv2DOptions options = {});
};

}  // namespace keel::layers
