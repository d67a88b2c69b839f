// Dropout (keras.layers.Dropout): inverted dropout, active only when called with training=true; and
// ActivityRegularization, which passes its input through and adds an L1/L2 penalty on it to the losses.
//   layers::Dropout(0.5);
//   layers::ActivityRegularization({.l1 = 1e-3});
//   layers::Dropout(0.2, {.noise_shape = Shape{kUnknownDim, 1, kUnknownDim}, .seed = 7});  // one mask per time step
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "keel/layers/layer.h"

namespace keel::layers {

struct DropoutOptions {
  /// Shape of the mask, broadcast over the input; kUnknownDim entries (Keras's None) take the input's extent.
  std::optional<Shape> noise_shape = std::nullopt;
  /// Makes the sequence of masks reproducible: each call draws the next mask of the stream this seed
  /// starts (as Keras's SeedGenerator); without it masks come from the global generator (random::set_seed).
  std::optional<uint64_t> seed = std::nullopt;
  std::string name = "";
};

class DropoutImpl : public UnaryLayer {
 public:
  /// `rate` is the fraction of inputs dropped, in [0, 1] (ValueError otherwise).
  DropoutImpl(double rate, DropoutOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

  double rate() const { return rate_; }
  const std::optional<Shape>& noise_shape() const { return options_.noise_shape; }
  const std::optional<uint64_t>& seed() const { return options_.seed; }

 private:
  /// The noise shape with unknown entries filled in from the input; checked to broadcast against it.
  Shape concrete_noise_shape(const Shape& input_shape) const;

  double rate_;
  DropoutOptions options_;
  uint64_t seeded_calls_ = 0;  // position in the seeded stream
};

class Dropout : public LayerHolder<DropoutImpl> {
 public:
  explicit Dropout(double rate, DropoutOptions options = {});
};

// --- ActivityRegularization ---

struct ActivityRegularizationOptions {
  double l1 = 0.0, l2 = 0.0;
  std::string name = "";
};

/// The identity, with activity regularizer L1L2(l1, l2): each call adds (l1·Σ|x| + l2·Σx²) / batch size.
class ActivityRegularizationImpl : public UnaryLayer {
 public:
  explicit ActivityRegularizationImpl(ActivityRegularizationOptions options = {});
  Tensor call(const Tensor& x, const CallContext&) override { return x; }
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  /// Keras writes l1 and l2 and leaves out the activity_regularizer they make.
  nlohmann::json get_config() const override;

 private:
  ActivityRegularizationOptions options_;
};

class ActivityRegularization : public LayerHolder<ActivityRegularizationImpl> {
 public:
  explicit ActivityRegularization(ActivityRegularizationOptions options = {});
};

}  // namespace keel::layers
