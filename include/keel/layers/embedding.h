// keras.layers.Embedding: a trainable lookup table from integer ids to dense vectors.
//   auto emb = layers::Embedding(10000, 64);
//   Tensor v = emb(ids);   // ids (batch, seq) of any integer dtype -> (batch, seq, 64) float32
#pragma once
#include <cstdint>
#include <string>
#include "keel/layers/layer.h"

namespace keel::layers {

struct EmbeddingOptions {
  Initializer embeddings_initializer = "uniform";  // RandomUniform(-0.05, 0.05)
  Regularizer embeddings_regularizer = {};
  Constraint embeddings_constraint = {};
  /// true would emit the mask `ids != 0`; Keel has no masks yet, so it is an UnimplementedError.
  bool mask_zero = false;
  Regularizer activity_regularizer = {};  // a keyword of Keras's base Layer
  std::string name = "";
};

/// out = take(embeddings, ids, axis 0): shape ids.shape + (output_dim,). Non-integer ids are cast to
/// int32 (truncating), as Keras does; ids outside [0, input_dim) are an IndexError.
class EmbeddingImpl : public UnaryLayer {
 public:
  EmbeddingImpl(int64_t input_dim, int64_t output_dim, EmbeddingOptions options = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  /// mask_zero: `x != 0` (id 0 is padding); none otherwise.
  Tensor compute_mask(const Tensor& x, const Tensor& mask) const override;
  std::vector<DType> compute_output_dtype(const std::vector<DType>& input_dtypes,
                                          const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;

  int64_t input_dim() const { return input_dim_; }
  int64_t output_dim() const { return output_dim_; }
  const Variable& embeddings() const { return embeddings_; }

 private:
  int64_t input_dim_, output_dim_;
  EmbeddingOptions options_;
  Variable embeddings_;
};

class Embedding : public LayerHolder<EmbeddingImpl> {
 public:
  Embedding(int64_t input_dim, int64_t output_dim, EmbeddingOptions options = {});
};

}  // namespace keel::layers
