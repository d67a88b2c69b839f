// Reshaping layers (keras.layers.Flatten, Reshape, Permute, RepeatVector, ZeroPadding2D, UpSampling2D).
// Shapes exclude the batch dimension, as in Keras; Permute's dims count from 1 (the first non-batch axis).
//   layers::Flatten();
//   layers::Reshape({-1, 4});                 // one -1, resolved from the input size
//   layers::Permute({2, 1});                  // (B, T, F) -> (B, F, T)
//   layers::RepeatVector(3);                  // (B, F) -> (B, 3, F)
//   layers::ZeroPadding2D(1);  layers::ZeroPadding2D({1, 2});  layers::ZeroPadding2D({{1, 0}, {2, 3}});
//   layers::UpSampling2D({2, 3});             // nearest neighbour
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "keel/layers/layer.h"

namespace keel::layers {

// --- Flatten ---

struct FlattenOptions {
  std::string data_format = "";  // "channels_last" (default) or "channels_first"
  std::string name = "";
};

/// (B, d1, ..., dk) -> (B, d1·...·dk); a rank-1 input gives (B, 1). channels_first inputs are moved to
/// channels last first, so the flattened order matches a channels_last model.
class FlattenImpl : public UnaryLayer {
 public:
  explicit FlattenImpl(FlattenOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  const std::string& data_format() const { return data_format_; }

 private:
  std::string data_format_;
};

class Flatten : public LayerHolder<FlattenImpl> {
 public:
  explicit Flatten(FlattenOptions options = {});
};

// --- Reshape ---

struct ReshapeOptions {
  std::string name = "";
};

class ReshapeImpl : public UnaryLayer {
 public:
  /// `target_shape` excludes the batch dimension; at most one entry is -1.
  explicit ReshapeImpl(Shape target_shape, ReshapeOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  const Shape& target_shape() const { return target_shape_; }

 private:
  /// The target shape with -1 resolved where the input's non-batch dimensions are all known.
  Shape resolve(const Shape& input_shape) const;

  Shape target_shape_;
  Shape resolved_;  // set by build; -1 stays where it depends on unknown input dimensions
};

class Reshape : public LayerHolder<ReshapeImpl> {
 public:
  explicit Reshape(Shape target_shape, ReshapeOptions options = {});
};

// --- Permute ---

struct PermuteOptions {
  std::string name = "";
};

class PermuteImpl : public UnaryLayer {
 public:
  /// `dims` is a permutation of 1..k for inputs of rank k + 1 (the batch axis stays first).
  explicit PermuteImpl(std::vector<int64_t> dims, PermuteOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  const std::vector<int64_t>& dims() const { return dims_; }

 private:
  std::vector<int64_t> dims_;
};

class Permute : public LayerHolder<PermuteImpl> {
 public:
  explicit Permute(std::vector<int64_t> dims, PermuteOptions options = {});
};

// --- RepeatVector ---

struct RepeatVectorOptions {
  std::string name = "";
};

class RepeatVectorImpl : public UnaryLayer {
 public:
  explicit RepeatVectorImpl(int64_t n, RepeatVectorOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  int64_t n() const { return n_; }

 private:
  int64_t n_;
};

class RepeatVector : public LayerHolder<RepeatVectorImpl> {
 public:
  explicit RepeatVector(int64_t n, RepeatVectorOptions options = {});
};

// --- ZeroPadding2D ---

/// Keras's three spellings of 2-D padding: one int for all sides, {height, width} symmetric, or
/// {{top, bottom}, {left, right}}.
struct Padding2D {
  Padding2D(int64_t all) : Padding2D(all, all) {}  // NOLINT: implicit, as Keras accepts an int
  Padding2D(int64_t height, int64_t width) : height{height, height}, width{width, width} {}
  Padding2D(std::pair<int64_t, int64_t> height, std::pair<int64_t, int64_t> width) : height(height), width(width) {}
  std::pair<int64_t, int64_t> height;  // {top, bottom}
  std::pair<int64_t, int64_t> width;   // {left, right}
};

struct ZeroPadding2DOptions {
  std::string data_format = "";  // "channels_last" (default) or "channels_first"
  std::string name = "";
};

class ZeroPadding2DImpl : public UnaryLayer {
 public:
  explicit ZeroPadding2DImpl(Padding2D padding = 1, ZeroPadding2DOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  const Padding2D& padding() const { return padding_; }
  const std::string& data_format() const { return data_format_; }

 private:
  Padding2D padding_;
  std::string data_format_;
};

class ZeroPadding2D : public LayerHolder<ZeroPadding2DImpl> {
 public:
  explicit ZeroPadding2D(Padding2D padding = 1, ZeroPadding2DOptions options = {});
  /// {{top, bottom}, {left, right}}: without this overload a list such as {{1, 1}, {0, 0}} would be
  /// ambiguous (the inner {0, 0} could also build the options from two null strings).
  ZeroPadding2D(const int64_t (&padding)[2][2], ZeroPadding2DOptions options = {});  // NOLINT: braced lists
};

// --- ZeroPadding1D, UpSampling1D ---

struct ZeroPadding1DOptions {
  std::string name = "";
};

/// Adds padding.first zero steps before and padding.second after axis 1 of (B, T, C).
class ZeroPadding1DImpl : public UnaryLayer {
 public:
  explicit ZeroPadding1DImpl(std::pair<int64_t, int64_t> padding = {1, 1}, ZeroPadding1DOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 private:
  std::pair<int64_t, int64_t> padding_;
};

class ZeroPadding1D : public LayerHolder<ZeroPadding1DImpl> {
 public:
  explicit ZeroPadding1D(std::pair<int64_t, int64_t> padding = {1, 1}, ZeroPadding1DOptions options = {});
  ZeroPadding1D(int64_t padding, ZeroPadding1DOptions options = {});  // NOLINT: implicit, as Keras takes an int
};

struct UpSampling1DOptions {
  std::string name = "";
};

/// Repeats each step of (B, T, C) `size` times along axis 1.
class UpSampling1DImpl : public UnaryLayer {
 public:
  explicit UpSampling1DImpl(int64_t size = 2, UpSampling1DOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 private:
  int64_t size_;
};

class UpSampling1D : public LayerHolder<UpSampling1DImpl> {
 public:
  explicit UpSampling1D(int64_t size = 2, UpSampling1DOptions options = {});
};

// --- Cropping1D, Cropping2D ---

struct Cropping1DOptions {
  std::string name = "";
};

/// Removes cropping.first steps at the start and cropping.second at the end of axis 1 of (B, T, C).
class Cropping1DImpl : public UnaryLayer {
 public:
  explicit Cropping1DImpl(std::pair<int64_t, int64_t> cropping = {1, 1}, Cropping1DOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 private:
  std::pair<int64_t, int64_t> cropping_;
};

class Cropping1D : public LayerHolder<Cropping1DImpl> {
 public:
  explicit Cropping1D(std::pair<int64_t, int64_t> cropping = {1, 1}, Cropping1DOptions options = {});
  Cropping1D(int64_t cropping, Cropping1DOptions options = {});  // NOLINT: implicit, as Keras takes an int
};

struct Cropping2DOptions {
  std::string data_format = "";  // "channels_last" (default) or "channels_first"
  std::string name = "";
};

/// Removes rows and columns at the borders of an image batch; `cropping` is spelled as ZeroPadding2D's
/// padding: {{top, bottom}, {left, right}}, {height, width} or one int.
class Cropping2DImpl : public UnaryLayer {
 public:
  explicit Cropping2DImpl(Padding2D cropping = 0, Cropping2DOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 private:
  Padding2D cropping_;
  std::string data_format_;
};

class Cropping2D : public LayerHolder<Cropping2DImpl> {
 public:
  explicit Cropping2D(Padding2D cropping = 0, Cropping2DOptions options = {});
  /// {{top, bottom}, {left, right}}, as ZeroPadding2D's overload.
  Cropping2D(const int64_t (&cropping)[2][2], Cropping2DOptions options = {});  // NOLINT: braced lists
};

// --- UpSampling2D ---

struct UpSampling2DOptions {
  std::string data_format = "";           // "channels_last" (default) or "channels_first"
  std::string interpolation = "nearest";  // only "nearest" is implemented
  std::string name = "";
};

/// Repeats rows size[0] times and columns size[1] times (nearest-neighbour upsampling).
class UpSampling2DImpl : public UnaryLayer {
 public:
  /// `size` holds one factor for both axes or {rows, cols}, every factor positive.
  explicit UpSampling2DImpl(std::vector<int64_t> size = {2, 2}, UpSampling2DOptions options = {});
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  const std::vector<int64_t>& size() const { return size_; }
  const std::string& data_format() const { return data_format_; }
  const std::string& interpolation() const { return interpolation_; }

 private:
  std::vector<int64_t> size_;
  std::string data_format_, interpolation_;
};

class UpSampling2D : public LayerHolder<UpSampling2DImpl> {
 public:
  explicit UpSampling2D(std::vector<int64_t> size = {2, 2}, UpSampling2DOptions options = {});
  explicit UpSampling2D(int64_t size, UpSampling2DOptions options = {});
};

}  // namespace keel::layers
