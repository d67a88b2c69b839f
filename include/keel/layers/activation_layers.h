// Activation layers (keras.layers.Activation, ReLU, LeakyReLU, Softmax): weightless, shape-preserving.
//   layers::Activation("tanh");
//   layers::ReLU({.max_value = 6.0});                // relu6
//   layers::ReLU({.negative_slope = 0.1, .threshold = 0.5});
//   layers::LeakyReLU();                             // slope 0.3, the layer default (the function's is 0.2)
//   layers::Softmax({.axis = 1});
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "keel/layers/activations.h"
#include "keel/layers/layer.h"

namespace keel::layers {

// --- Activation ---

struct ActivationOptions {
  std::string name = "";
};

class ActivationImpl : public UnaryLayer {
 public:
  explicit ActivationImpl(ActivationFn activation, ActivationOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

  const ActivationFn& activation() const { return activation_; }

 private:
  ActivationFn activation_;
};

class Activation : public LayerHolder<ActivationImpl> {
 public:
  explicit Activation(ActivationFn activation, ActivationOptions options = {});
};

// --- ReLU ---

struct ReLUOptions {
  std::optional<double> max_value = std::nullopt;  // saturation ceiling; none by default
  double negative_slope = 0.0;                     // slope below the threshold
  double threshold = 0.0;                          // values at or below it are damped
  std::string name = "";
};

/// f(x) = max_value for x ≥ max_value, x for threshold < x < max_value, negative_slope·(x − threshold) otherwise.
class ReLUImpl : public UnaryLayer {
 public:
  explicit ReLUImpl(ReLUOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

  const ReLUOptions& options() const { return options_; }

 private:
  ReLUOptions options_;
};

class ReLU : public LayerHolder<ReLUImpl> {
 public:
  explicit ReLU(ReLUOptions options = {});
};

// --- LeakyReLU ---

struct LeakyReLUOptions {
  double negative_slope = 0.3;
  std::string name = "";
};

class LeakyReLUImpl : public UnaryLayer {
 public:
  explicit LeakyReLUImpl(LeakyReLUOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

  double negative_slope() const { return options_.negative_slope; }

 private:
  LeakyReLUOptions options_;
};

class LeakyReLU : public LayerHolder<LeakyReLUImpl> {
 public:
  explicit LeakyReLU(LeakyReLUOptions options = {});
};

// --- Softmax ---

struct SoftmaxOptions {
  int64_t axis = -1;
  std::string name = "";
};

class SoftmaxImpl : public UnaryLayer {
 public:
  explicit SoftmaxImpl(SoftmaxOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

  int64_t axis() const { return options_.axis; }

 private:
  SoftmaxOptions options_;
};

class Softmax : public LayerHolder<SoftmaxImpl> {
 public:
  explicit Softmax(SoftmaxOptions options = {});
};

}  // namespace keel::layers
