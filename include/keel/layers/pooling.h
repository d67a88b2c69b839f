// Pooling layers (keras.layers.MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D,
// GlobalMaxPooling1D/2D), channels last. pool_size and strides take one value for every spatial axis or
// one per axis; empty strides mean strides = pool_size (Keras's None).
//   layers::MaxPooling2D();                                   // 2x2, stride 2
//   layers::AveragePooling2D({3}, {.strides = {1}, .padding = "same"});
//   layers::GlobalAveragePooling2D({.keepdims = true});
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "keel/layers/layer.h"

namespace keel::layers {

// --- MaxPooling / AveragePooling ---

/// Options in Keras's keyword order (after pool_size). data_format: only "channels_last" is implemented.
struct PoolingOptions {
  std::vector<int64_t> strides = {};  // empty: pool_size
  std::string padding = "valid";      // "valid" or "same"; average pooling over "same" counts only real elements
  std::string data_format = "channels_last";
  std::string name = "";
};

/// Windowed max or average over the spatial axes of (batch, *spatial, channels), rank 1 or 2.
class PoolingImpl : public UnaryLayer {
 public:
  enum class Mode { kMax, kAverage };
  /// `class_name` is the Keras class ("MaxPooling2D", ...), matching `mode` and `rank`.
  PoolingImpl(std::string class_name, int rank, Mode mode, std::vector<int64_t> pool_size, PoolingOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  int rank() const { return rank_; }
  Mode mode() const { return mode_; }
  const std::vector<int64_t>& pool_size() const { return pool_size_; }  // one value per spatial axis
  const std::vector<int64_t>& strides() const { return options_.strides; }
  const std::string& padding() const { return options_.padding; }

 private:
  // The computation on channels_last inputs; channels_first transposes around it.
  Tensor call_last(const Tensor& x) const;
  Shape output_shape_last(const Shape& input_shape) const;
  int rank_;
  Mode mode_;
  std::vector<int64_t> pool_size_;
  PoolingOptions options_;
};

class MaxPooling1D : public LayerHolder<PoolingImpl> {
 public:
  explicit MaxPooling1D(std::vector<int64_t> pool_size = {2}, PoolingOptions options = {});
};
class MaxPooling2D : public LayerHolder<PoolingImpl> {
 public:
  explicit MaxPooling2D(std::vector<int64_t> pool_size = {2, 2}, PoolingOptions options = {});
};
class AveragePooling1D : public LayerHolder<PoolingImpl> {
 public:
  explicit AveragePooling1D(std::vector<int64_t> pool_size = {2}, PoolingOptions options = {});
};
class AveragePooling2D : public LayerHolder<PoolingImpl> {
 public:
  explicit AveragePooling2D(std::vector<int64_t> pool_size = {2, 2}, PoolingOptions options = {});
};

// --- Global pooling ---

struct GlobalPoolingOptions {
  std::string data_format = "channels_last";
  bool keepdims = false;  // true keeps the spatial axes with extent 1
  std::string name = "";
};

/// Mean or max over every spatial axis of (batch, *spatial, channels): (batch, channels).
class GlobalPoolingImpl : public UnaryLayer {
 public:
  using Mode = PoolingImpl::Mode;
  GlobalPoolingImpl(std::string class_name, int rank, Mode mode, GlobalPoolingOptions options = {});
  void build(const Shape& input_shape) override;
  /// GlobalAveragePooling1D with a mask (batch, steps) averages the kept steps only, as Keras.
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  /// The mask is consumed: the pooled output has none.
  Tensor compute_mask(const Tensor&, const Tensor&) const override { return Tensor(); }
  nlohmann::json get_config() const override;

  int rank() const { return rank_; }
  Mode mode() const { return mode_; }
  bool keepdims() const { return options_.keepdims; }

 private:
  int rank_;
  Mode mode_;
  GlobalPoolingOptions options_;
};

class GlobalAveragePooling1D : public LayerHolder<GlobalPoolingImpl> {
 public:
  explicit GlobalAveragePooling1D(GlobalPoolingOptions options = {});
};
class GlobalAveragePooling2D : public LayerHolder<GlobalPoolingImpl> {
 public:
  explicit GlobalAveragePooling2D(GlobalPoolingOptions options = {});
};
class GlobalMaxPooling1D : public LayerHolder<GlobalPoolingImpl> {
 public:
  explicit GlobalMaxPooling1D(GlobalPoolingOptions options = {});
};
class GlobalMaxPooling2D : public LayerHolder<GlobalPoolingImpl> {
 public:
  explicit GlobalMaxPooling2D(GlobalPoolingOptions options = {});
};

}  // namespace keel::layers
