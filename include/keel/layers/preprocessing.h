// Rescaling (keras.layers.Rescaling): y = float32(x)·scale + offset, e.g. pixels to [0, 1] or [-1, 1].
//   layers::Rescaling(1.0 / 255);
//   layers::Rescaling(1.0 / 127.5, {.offset = -1.0});
//   layers::Rescaling({0.5, 1.0, 2.0});       // one factor per channel (the last axis)
#pragma once
#include <initializer_list>
#include <string>
#include <vector>

#include "keel/layers/layer.h"

namespace keel::layers {

/// A Rescaling factor or offset: one number, or one per channel (broadcast against the last axis), as
/// Keras accepts a float or an array.
struct RescalingValue {
  RescalingValue(double value) : values{value}, per_channel(false) {}  // NOLINT: implicit, like a Python float
  RescalingValue(std::initializer_list<double> per_channel_values) : values(per_channel_values), per_channel(true) {}
  RescalingValue(std::vector<double> per_channel_values)  // NOLINT
      : values(std::move(per_channel_values)), per_channel(true) {}
  std::vector<double> values;
  bool per_channel;
};

struct RescalingOptions {
  RescalingValue offset = 0.0;
  std::string name = "";
};

class RescalingImpl : public UnaryLayer {
 public:
  explicit RescalingImpl(RescalingValue scale, RescalingOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

  const RescalingValue& scale() const { return scale_; }
  const RescalingValue& offset() const { return options_.offset; }

 private:
  RescalingValue scale_;
  RescalingOptions options_;
};

class Rescaling : public LayerHolder<RescalingImpl> {
 public:
  explicit Rescaling(RescalingValue scale, RescalingOptions options = {});
};

}  // namespace keel::layers
