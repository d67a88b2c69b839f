// Core layers: Input / InputLayer, Dense, and Lambda (a layer from a C++ function).
//   auto x = layers::Input({784});                       // a SymbolicTensor of shape (None, 784)
//   auto h = layers::Dense(64, "relu")(x);
//   layers::Dense(10, {.activation = "softmax", .use_bias = false});
//   layers::Dense(64, {.activation = "relu", .kernel_regularizer = regularizers::L2(1e-4)});
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include "keel/layers/activations.h"
#include "keel/layers/layer.h"

namespace keel::layers {

// --- Input ---

struct InputOptions {
  std::optional<int64_t> batch_size = std::nullopt;
  DType dtype = DType::f32;
  std::string name = "";
};

/// The layer behind Input(): it has no weights and passes its input through.
class InputLayerImpl : public Layer {
 public:
  /// `batch_shape` includes the batch dimension (kUnknownDim when unknown).
  InputLayerImpl(Shape batch_shape, DType dtype = DType::f32, std::string name = "");
  const Shape& batch_shape() const { return batch_shape_; }
  DType dtype() const { return dtype_; }
  /// The symbolic tensor this layer produces (what Input() returns).
  const SymbolicTensor& output() const { return output_; }

  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  std::vector<DType> compute_output_dtype(const std::vector<DType>& input_dtypes,
                                          const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;

  /// Creates the layer and its output node (done once, by Input()).
  static std::shared_ptr<InputLayerImpl> create(Shape batch_shape, DType dtype, std::string name);

 private:
  Shape batch_shape_;
  DType dtype_;
  SymbolicTensor output_;
};

/// keras.Input: `shape` excludes the batch dimension (kUnknownDim for unknown extents).
SymbolicTensor Input(const Shape& shape, InputOptions options = {});
/// The InputLayer that produced a symbolic tensor, or nullptr.
std::shared_ptr<InputLayerImpl> input_layer_of(const SymbolicTensor& x);

// --- Dense ---

struct DenseOptions {
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

class DenseImpl : public UnaryLayer {
 public:
  DenseImpl(int64_t units, DenseOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  int64_t units() const { return units_; }
  const ActivationFn& activation() const { return options_.activation; }
  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }  // undefined when use_bias is false

 private:
  int64_t units_;
  DenseOptions options_;
  Variable kernel_, bias_;
};

/// The handle users write: layers::Dense(64, "relu") or layers::Dense(64, {.activation = "relu"}).
class Dense : public LayerHolder<DenseImpl> {
 public:
  Dense(int64_t units, DenseOptions options = {});
  Dense(int64_t units, ActivationFn activation);
};

// --- Masking ---

struct MaskingOptions {
  double mask_value = 0.0;
  std::string name = "";
};

/// keras.layers.Masking: a timestep whose features all equal mask_value is masked for the layers after
/// (RNNs skip it, losses leave it out) and set to 0. Input (batch, timesteps, ...); mask (batch, timesteps).
class MaskingImpl : public UnaryLayer {
 public:
  explicit MaskingImpl(MaskingOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  /// any(x != mask_value, axis=-1).
  Tensor compute_mask(const Tensor& x, const Tensor& mask) const override;
  std::vector<DType> compute_output_dtype(const std::vector<DType>& input_dtypes,
                                          const std::vector<Shape>&) const override {
    return input_dtypes;
  }
  nlohmann::json get_config() const override;
  double mask_value() const { return options_.mask_value; }

 private:
  MaskingOptions options_;
};

class Masking : public LayerHolder<MaskingImpl> {
 public:
  explicit Masking(MaskingOptions options = {});
};

// --- Lambda ---

/// The output shape of a Lambda layer, without the batch dimension, or a function of the input shape
/// (batch dimension included, kUnknownDim when unknown) as Keras's `output_shape` callable.
using LambdaOutputShape = std::function<Shape(const Shape& input_shape)>;

struct LambdaOptions {
  /// Unset: found by calling the function once on zeros of the input's shape (an unknown batch size as 1),
  /// as Keras traces the function symbolically.
  std::optional<Shape> output_shape = std::nullopt;
  LambdaOutputShape compute_output_shape = {};
  std::string name = "";
};

/// keras.layers.Lambda for C++ functions: y = fn(x). The function runs on every call (eager, in fit and
/// predict, differentiated through its ops); it has no weights. A model holding one cannot be saved as a
/// config (`.keras`, `.h5`): get_config is a ValueError naming the layer; save_weights works.
class LambdaImpl : public UnaryLayer {
 public:
  using Fn = std::function<Tensor(const Tensor&)>;
  LambdaImpl(Fn fn, LambdaOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 private:
  Fn fn_;
  LambdaOptions options_;
};

class Lambda : public LayerHolder<LambdaImpl> {
 public:
  explicit Lambda(LambdaImpl::Fn fn, LambdaOptions options = {});
};

// --- Identity ---

struct IdentityOptions {
  std::string name = "";
};

/// keras.layers.Identity: returns its input (and its mask) unchanged, where a model needs a layer that does nothing.
class IdentityImpl : public UnaryLayer {
 public:
  explicit IdentityImpl(IdentityOptions options = {});
  Tensor call(const Tensor& x, const CallContext&) override { return x; }
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
};

class Identity : public LayerHolder<IdentityImpl> {
 public:
  explicit Identity(IdentityOptions options = {});
};

}  // namespace keel::layers
