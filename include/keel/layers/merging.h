// Merging layers (keras.layers.Add, Subtract, Multiply, Average, Concatenate): several inputs, one output.
//   auto a = layers::Input({16}), b = layers::Input({16});
//   SymbolicTensor s = layers::Add()({a, b});
//   SymbolicTensor c = layers::Concatenate({.axis = -1})({a, b});   // (None, 32)
// The elementwise layers broadcast as Keras does: the non-batch shapes are aligned from the right
// (a dimension of 1 stretches), and an input of lower rank gets size-1 axes inserted after the batch axis.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "keel/layers/layer.h"

namespace keel::layers {

struct MergeOptions {
  std::string name = "";
};

/// Base of the elementwise merges (Keras's Merge): shape checks, rank alignment, output shape.
class MergeImpl : public Layer {
 public:
  MergeImpl(std::string class_name, std::string name);
  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  /// The AND of the inputs' masks (none when no input has one), as Keras's Merge.
  std::vector<Tensor> compute_mask(const std::vector<Tensor>& inputs, const std::vector<Tensor>& masks) const override;
  /// The promoted dtype of the inputs (integers stay integers, as in Keras's eager merges).
  std::vector<DType> compute_output_dtype(const std::vector<DType>& input_dtypes,
                                          const std::vector<Shape>& input_shapes) const override;

 protected:
  /// Combines inputs that already have the same rank (they broadcast against each other).
  virtual Tensor merge(const std::vector<Tensor>& inputs) const = 0;

 private:
  Shape merged_shape(const std::vector<Shape>& shapes) const;
};

class AddImpl : public MergeImpl {
 public:
  explicit AddImpl(MergeOptions options = {});

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) const override;
};

/// inputs[0] - inputs[1]; exactly two inputs.
class SubtractImpl : public MergeImpl {
 public:
  explicit SubtractImpl(MergeOptions options = {});

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) const override;
};

class MultiplyImpl : public MergeImpl {
 public:
  explicit MultiplyImpl(MergeOptions options = {});

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) const override;
};

/// The elementwise maximum / minimum of the inputs.
class MaximumImpl : public MergeImpl {
 public:
  explicit MaximumImpl(MergeOptions options = {});

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) const override;
};

class MinimumImpl : public MergeImpl {
 public:
  explicit MinimumImpl(MergeOptions options = {});

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) const override;
};

/// The elementwise mean; integer inputs give float32 (true division).
class AverageImpl : public MergeImpl {
 public:
  explicit AverageImpl(MergeOptions options = {});
  std::vector<DType> compute_output_dtype(const std::vector<DType>& input_dtypes,
                                          const std::vector<Shape>& input_shapes) const override;

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) const override;
};

struct DotOptions {
  /// L2-normalise both inputs along the contracted axes first (the dot product is then the cosine).
  bool normalize = false;
  std::string name = "";
};

/// Keras's Dot axes: one axis for both inputs, or {axis of the first, axis of the second}.
struct DotAxes {
  DotAxes(int64_t axis) : first(axis), second(axis), is_pair(false) {}  // NOLINT: implicit, as Keras takes an int
  DotAxes(int64_t first, int64_t second) : first(first), second(second) {}
  int64_t first, second;
  bool is_pair = true;
};

/// keras.layers.Dot: the batched dot product of two inputs over one axis each (Keras's batch_dot): (B, X..., d)
/// and (B, Y..., d) give (B, X..., Y...), and two vectors (B, d) give (B, 1).
class DotImpl : public Layer {
 public:
  explicit DotImpl(DotAxes axes, DotOptions options = {});
  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;

 private:
  /// The two axes as non-negative indices for these input ranks (ValueError for the batch axis or out of range).
  std::pair<int64_t, int64_t> resolved_axes(int64_t rank1, int64_t rank2) const;

  DotAxes axes_;
  DotOptions options_;
};

struct ConcatenateOptions {
  int64_t axis = -1;
  std::string name = "";
};

/// Joins inputs of equal rank along `axis`; every other dimension must match.
class ConcatenateImpl : public Layer {
 public:
  explicit ConcatenateImpl(ConcatenateOptions options = {});
  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  /// The inputs' masks (all true for an unmasked input) concatenated along `axis`, then any() over the last
  /// axis, as Keras's Concatenate.
  std::vector<Tensor> compute_mask(const std::vector<Tensor>& inputs, const std::vector<Tensor>& masks) const override;
  std::vector<DType> compute_output_dtype(const std::vector<DType>& input_dtypes,
                                          const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;

  int64_t axis() const { return options_.axis; }

 private:
  ConcatenateOptions options_;
};

class Add : public LayerHolder<AddImpl> {
 public:
  explicit Add(MergeOptions options = {});
};
class Subtract : public LayerHolder<SubtractImpl> {
 public:
  explicit Subtract(MergeOptions options = {});
};
class Multiply : public LayerHolder<MultiplyImpl> {
 public:
  explicit Multiply(MergeOptions options = {});
};
class Average : public LayerHolder<AverageImpl> {
 public:
  explicit Average(MergeOptions options = {});
};
class Maximum : public LayerHolder<MaximumImpl> {
 public:
  explicit Maximum(MergeOptions options = {});
};
class Minimum : public LayerHolder<MinimumImpl> {
 public:
  explicit Minimum(MergeOptions options = {});
};
class Dot : public LayerHolder<DotImpl> {
 public:
  explicit Dot(DotAxes axes, DotOptions options = {});
};
class Concatenate : public LayerHolder<ConcatenateImpl> {
 public:
  explicit Concatenate(ConcatenateOptions options = {});
};

}  // namespace keel::layers
