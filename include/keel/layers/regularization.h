// Dropout (keras.layers.Dropout): inverted dropout, active only when called with training=true; its
// relatives SpatialDropout1D/2D/3D (whole channels), GaussianDropout and GaussianNoise; and
// ActivityRegularization, which passes its input through and adds an L1/L2 penalty on it to the losses.
//   layers::Dropout(0.5);
//   layers::SpatialDropout2D(0.2);  layers::GaussianNoise(0.1);  layers::GaussianDropout(0.3);
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

 protected:
  DropoutImpl(std::string class_name, double rate, DropoutOptions options);
  /// The noise shape with unknown entries filled in from the input; checked to broadcast against it.
  Shape concrete_noise_shape(const Shape& input_shape) const;
  /// The seed of this call's draw (none without a seed), advancing the layer's seeded stream.
  std::optional<uint64_t> next_call_seed();

 private:
  double rate_;
  DropoutOptions options_;
  uint64_t seeded_calls_ = 0;  // position in the seeded stream
};

class Dropout : public LayerHolder<DropoutImpl> {
 public:
  explicit Dropout(double rate, DropoutOptions options = {});
};

// --- AlphaDropout ---

/// Dropout that keeps SELU's self-normalising mean and variance: dropped elements are set to SELU's
/// negative saturation -alpha·scale, then everything goes through the affine a·x + b that restores them
/// (Keras's formula). Options as Dropout's.
class AlphaDropoutImpl : public DropoutImpl {
 public:
  AlphaDropoutImpl(double rate, DropoutOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
};

class AlphaDropout : public LayerHolder<AlphaDropoutImpl> {
 public:
  explicit AlphaDropout(double rate, DropoutOptions options = {});
};

// --- SpatialDropout1D/2D/3D ---

struct SpatialDropoutOptions {
  /// SpatialDropout2D/3D: "channels_last" (default) or "channels_first"; SpatialDropout1D is channels_last.
  std::string data_format = "";
  std::optional<uint64_t> seed = std::nullopt;
  std::string name = "";
};

/// Dropout of whole feature maps: one draw per (sample, channel), shared by every step or pixel
/// (Keras's noise_shape (B, 1, ..., 1, C), or (B, C, 1, ..., 1) channels_first). Input rank 3, 4 or 5.
class SpatialDropoutImpl : public DropoutImpl {
 public:
  SpatialDropoutImpl(int spatial_dims, double rate, SpatialDropoutOptions options = {});
  nlohmann::json get_config() const override;

 private:
  int spatial_dims_;
  std::string data_format_;
};

class SpatialDropout1D : public LayerHolder<SpatialDropoutImpl> {
 public:
  explicit SpatialDropout1D(double rate, SpatialDropoutOptions options = {});
};
class SpatialDropout2D : public LayerHolder<SpatialDropoutImpl> {
 public:
  explicit SpatialDropout2D(double rate, SpatialDropoutOptions options = {});
};
class SpatialDropout3D : public LayerHolder<SpatialDropoutImpl> {
 public:
  explicit SpatialDropout3D(double rate, SpatialDropoutOptions options = {});
};

// --- GaussianNoise, GaussianDropout ---

struct GaussianOptions {
  /// Makes the noise reproducible, as DropoutOptions::seed.
  std::optional<uint64_t> seed = std::nullopt;
  std::string name = "";
};

/// While training: x + N(0, stddev²) noise, one draw per element; the identity otherwise.
class GaussianNoiseImpl : public UnaryLayer {
 public:
  explicit GaussianNoiseImpl(double stddev, GaussianOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

 private:
  double stddev_;
  GaussianOptions options_;
  uint64_t seeded_calls_ = 0;
};

class GaussianNoise : public LayerHolder<GaussianNoiseImpl> {
 public:
  explicit GaussianNoise(double stddev, GaussianOptions options = {});
};

/// While training: x · N(1, rate / (1 - rate)) noise, one draw per element; the identity otherwise.
class GaussianDropoutImpl : public UnaryLayer {
 public:
  /// `rate` in [0, 1) (ValueError otherwise: at 1 the noise's variance is infinite).
  explicit GaussianDropoutImpl(double rate, GaussianOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

 private:
  double rate_;
  GaussianOptions options_;
  uint64_t seeded_calls_ = 0;
};

class GaussianDropout : public LayerHolder<GaussianDropoutImpl> {
 public:
  explicit GaussianDropout(double rate, GaussianOptions options = {});
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
