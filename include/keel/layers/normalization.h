// Normalisation layers (keras.layers.BatchNormalization, LayerNormalization).
//   auto bn = layers::BatchNormalization({.momentum = 0.9});
//   Tensor y = bn(x, /*training=*/true);   // batch statistics; updates moving_mean / moving_variance
//   Tensor z = bn(x);                      // inference: the moving statistics
//   layers::LayerNormalization({.axis = {1, 2}, .epsilon = 1e-5});
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>
#include "keel/layers/layer.h"

namespace keel::layers {

// --- BatchNormalization ---

struct BatchNormalizationOptions {
  int64_t axis = -1;
  double momentum = 0.99;
  double epsilon = 1e-3;
  bool center = true;  // beta
  bool scale = true;   // gamma
  Initializer beta_initializer = "zeros";
  Initializer gamma_initializer = "ones";
  Initializer moving_mean_initializer = "zeros";
  Initializer moving_variance_initializer = "ones";
  Regularizer beta_regularizer = {};
  Regularizer gamma_regularizer = {};
  Constraint beta_constraint = {};
  Constraint gamma_constraint = {};
  /// Keras (TensorFlow) all-reduces the batch statistics across replicas; Keel trains on one replica,
  /// where the local batch is the global batch, so this changes nothing yet.
  bool synchronized = false;
  std::string name = "";
};

/// Normalises over every axis but `axis`. Training mode (training && trainable) uses the batch's mean
/// and biased variance and moves the moving statistics toward them; otherwise the moving statistics.
class BatchNormalizationImpl : public UnaryLayer {
 public:
  explicit BatchNormalizationImpl(BatchNormalizationOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  std::vector<DType> compute_output_dtype(const std::vector<DType>& input_dtypes,
                                          const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;

  const BatchNormalizationOptions& options() const { return options_; }
  const Variable& gamma() const { return gamma_; }  // undefined when scale is false
  const Variable& beta() const { return beta_; }    // undefined when center is false
  const Variable& moving_mean() const { return moving_mean_; }
  const Variable& moving_variance() const { return moving_variance_; }

 private:
  BatchNormalizationOptions options_;
  Variable gamma_, beta_, moving_mean_, moving_variance_;
};

class BatchNormalization : public LayerHolder<BatchNormalizationImpl> {
 public:
  explicit BatchNormalization(BatchNormalizationOptions options = {});
};

// --- LayerNormalization ---

/// One axis (`.axis = -1`, Keras's `axis=-1`) or a list (`.axis = {1, 2}`, Keras's `axis=[1, 2]`); the
/// config keeps the form it was given.
struct NormalizationAxes {
  NormalizationAxes(int64_t axis) : axes{axis} {}  // NOLINT: implicit, as Keras accepts an int
  NormalizationAxes(std::initializer_list<int64_t> list) : axes(list), is_list(true) {}
  NormalizationAxes(std::vector<int64_t> list) : axes(std::move(list)), is_list(true) {}  // NOLINT
  std::vector<int64_t> axes;
  bool is_list = false;
};

struct LayerNormalizationOptions {
  NormalizationAxes axis = -1;
  double epsilon = 1e-3;
  bool center = true;
  bool scale = true;
  Initializer beta_initializer = "zeros";
  Initializer gamma_initializer = "ones";
  Regularizer beta_regularizer = {};
  Regularizer gamma_regularizer = {};
  Constraint beta_constraint = {};
  Constraint gamma_constraint = {};
  std::string name = "";
};

/// Normalises each sample over `axis` (biased variance); gamma and beta have the shape of those axes,
/// in the order given.
class LayerNormalizationImpl : public UnaryLayer {
 public:
  explicit LayerNormalizationImpl(LayerNormalizationOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  std::vector<DType> compute_output_dtype(const std::vector<DType>& input_dtypes,
                                          const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;

  const LayerNormalizationOptions& options() const { return options_; }
  const Variable& gamma() const { return gamma_; }  // undefined when scale is false
  const Variable& beta() const { return beta_; }    // undefined when center is false

 private:
  /// The axes as non-negative indices for an input of `rank` (ValueError when out of range or repeated).
  std::vector<int64_t> normalized_axes(int64_t rank) const;

  LayerNormalizationOptions options_;
  Variable gamma_, beta_;
};

class LayerNormalization : public LayerHolder<LayerNormalizationImpl> {
 public:
  explicit LayerNormalization(LayerNormalizationOptions options = {});
};

// --- GroupNormalization ---

struct GroupNormalizationOptions {
  /// Channels are split into this many groups (it must divide them); -1: one group per channel.
  int64_t groups = 32;
  int64_t axis = -1;  // the channels axis
  double epsilon = 1e-3;
  bool center = true;
  bool scale = true;
  Initializer beta_initializer = "zeros";
  Initializer gamma_initializer = "ones";
  Regularizer beta_regularizer = {};
  Regularizer gamma_regularizer = {};
  Constraint beta_constraint = {};
  Constraint gamma_constraint = {};
  std::string name = "";
};

/// Normalises each sample's channel groups over the group's channels and every non-batch axis (biased
/// variance, as torch.nn.GroupNorm), then scales and shifts per channel: gamma (C,) then beta (C,).
class GroupNormalizationImpl : public UnaryLayer {
 public:
  explicit GroupNormalizationImpl(GroupNormalizationOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

 private:
  GroupNormalizationOptions options_;
  int64_t groups_ = 0;  // resolved at build (-1 becomes the channel count)
  Variable gamma_, beta_;
};

class GroupNormalization : public LayerHolder<GroupNormalizationImpl> {
 public:
  explicit GroupNormalization(GroupNormalizationOptions options = {});
};

// --- UnitNormalization ---

struct UnitNormalizationOptions {
  NormalizationAxes axis = -1;
  std::string name = "";
};

/// Scales each sample to unit L2 norm over `axis`: x · min(1 / sqrt(Σ x²), 1e12) (Keras's ops.normalize
/// with epsilon 1e-12, so an all-zero slice stays zero).
class UnitNormalizationImpl : public UnaryLayer {
 public:
  explicit UnitNormalizationImpl(UnitNormalizationOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

 private:
  UnitNormalizationOptions options_;
};

class UnitNormalization : public LayerHolder<UnitNormalizationImpl> {
 public:
  explicit UnitNormalization(UnitNormalizationOptions options = {});
};

}  // namespace keel::layers
