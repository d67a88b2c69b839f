// keras.layers.MultiHeadAttention, Attention (Luong-style) and AdditiveAttention (Bahdanau-style).
//   auto mha = layers::MultiHeadAttention(4, 16);
//   Tensor y = mha({query, value})[0];                // or {query, value, key}
//   auto r = mha->attend(query, value, {.use_causal_mask = true});   // r.output, r.scores
// The four projections are tracked sub-layers named query, key, value and attention_output (EinsumDense
// in Keras) whose kernels keep Keras's shapes: (d_q, H, key_dim), (d_k, H, key_dim), (d_v, H, value_dim)
// and (H, value_dim, d_out).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/layers/layer.h"

namespace keel::layers {

/// A dense projection that contracts the last `contracted_dims` axes of its input with a kernel of shape
/// (contracted..., output_dims...) and adds a bias of shape output_dims: Keras's EinsumDense as
/// MultiHeadAttention uses it. Glorot-style fans come from the contracted and output extents.
class HeadProjectionImpl : public UnaryLayer {
 public:
  HeadProjectionImpl(std::string name, size_t contracted_dims, Shape output_dims, bool use_bias,
                     Initializer kernel_initializer, Initializer bias_initializer, Regularizer kernel_regularizer = {},
                     Regularizer bias_regularizer = {}, Constraint kernel_constraint = {},
                     Constraint bias_constraint = {});
  void build(const Shape& input_shape) override;
  Tensor call(const Tensor& x, const CallContext& ctx) override;
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

  const Variable& kernel() const { return kernel_; }
  const Variable& bias() const { return bias_; }  // undefined without bias

 private:
  size_t contracted_dims_;
  Shape output_dims_;
  bool use_bias_;
  Initializer kernel_initializer_, bias_initializer_;
  Regularizer kernel_regularizer_, bias_regularizer_;
  Constraint kernel_constraint_, bias_constraint_;
  int64_t input_rank_ = 0;
  Variable kernel_, bias_;
};

struct MultiHeadAttentionOptions {
  std::optional<int64_t> value_dim = std::nullopt;  // nullopt: key_dim
  double dropout = 0.0;                             // on the attention scores, while training
  bool use_bias = true;
  std::optional<Shape> output_shape = std::nullopt;                   // nullopt: the query's last dimension
  std::optional<std::vector<int64_t>> attention_axes = std::nullopt;  // only the default (nullopt)
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  /// Applied to each of the four projections' kernels and biases, as Keras passes them to its EinsumDense layers.
  Regularizer kernel_regularizer = {};
  Regularizer bias_regularizer = {};
  Regularizer activity_regularizer = {};
  Constraint kernel_constraint = {};
  Constraint bias_constraint = {};
  std::string name = "";
};

/// Keras's call-time options that a plain layer call cannot carry.
struct AttendOptions {
  Tensor key = {};             // undefined: value
  /// Keras masks of the inputs, (B, T_q) / (B, T_v) / (B, T_v), true = the position counts: a query position
  /// or key/value position that is masked takes no part (Keras's _compute_attention_mask).
  Tensor query_mask = {};
  Tensor value_mask = {};
  Tensor key_mask = {};
  Tensor attention_mask = {};  // (B, T_q, T_v); nonzero = may attend
  bool use_causal_mask = false;
  bool training = false;
};

struct AttentionResult {
  Tensor output;  // (B, T_q, d_out)
  Tensor scores;  // (B, H, T_q, T_v), after softmax and masking, before dropout
};

/// Inputs {query, value} or {query, value, key}, each (B, T..., d); attention over all axes between the
/// batch and the feature axis. Output: query's shape with the last axis replaced by output_shape.
class MultiHeadAttentionImpl : public Layer {
 public:
  MultiHeadAttentionImpl(int64_t num_heads, int64_t key_dim, MultiHeadAttentionOptions options = {});

  void build(const std::vector<Shape>& input_shapes) override;
  /// The inputs' masks (ctx.masks: query, value, key) mask the attention as AttendOptions' do.
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  /// The query's mask, which the output keeps (Keras sets it on the attention output).
  std::vector<Tensor> compute_mask(const std::vector<Tensor>& inputs, const std::vector<Tensor>& masks) const override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;

  /// The call with masks and the attention scores (rank-3 inputs only when a mask is given); builds the
  /// layer on first use like a plain call.
  AttentionResult attend(const Tensor& query, const Tensor& value, const AttendOptions& options = {});

  int64_t num_heads() const { return num_heads_; }
  int64_t key_dim() const { return key_dim_; }
  int64_t value_dim() const { return value_dim_; }
  const MultiHeadAttentionOptions& options() const { return options_; }
  const std::shared_ptr<HeadProjectionImpl>& query_dense() const { return query_; }
  const std::shared_ptr<HeadProjectionImpl>& key_dense() const { return key_; }
  const std::shared_ptr<HeadProjectionImpl>& value_dense() const { return value_; }
  const std::shared_ptr<HeadProjectionImpl>& output_dense() const { return output_; }

 private:
  /// The shared computation; `mask` is undefined or broadcastable to (B, 1, T_q, T_v).
  AttentionResult compute(const Tensor& query, const Tensor& value, const Tensor& key, const Tensor& mask,
                          bool training);
  void check_shapes(const std::vector<Shape>& input_shapes) const;

  int64_t num_heads_, key_dim_, value_dim_;
  MultiHeadAttentionOptions options_;
  std::shared_ptr<HeadProjectionImpl> query_, key_, value_, output_;
};

class MultiHeadAttention : public LayerHolder<MultiHeadAttentionImpl> {
 public:
  MultiHeadAttention(int64_t num_heads, int64_t key_dim, MultiHeadAttentionOptions options = {});
};

struct AttentionOptions {
  /// A trainable scalar (initialized to 1) multiplying the scores.
  bool use_scale = false;
  /// "dot": query . key; "concat": concat_score_weight * sum(tanh(scale * (query + key))).
  std::string score_mode = "dot";
  double dropout = 0.0;  // on the attention distribution, while training
  /// Makes the dropout masks reproducible, as DropoutOptions::seed.
  std::optional<uint64_t> seed = std::nullopt;
  std::string name = "";
};

/// keras.layers.Attention: inputs {query (B, T_q, d), value (B, T_v, d_v)} or {query, value, key (B, T_v, d)};
/// output (B, T_q, d_v) = softmax(scores(query, key)) @ value. The inputs' masks (query_mask, value_mask;
/// Keras's mask=[query_mask, value_mask]) exclude masked values from the softmax (-1e9 on their scores) and
/// zero the output at masked query steps; the output keeps the query's mask. AttendOptions carries Keras's
/// other call arguments (use_causal_mask; the scores come back as return_attention_scores gives them).
class AttentionImpl : public Layer {
 public:
  explicit AttentionImpl(AttentionOptions options = {});

  void build(const std::vector<Shape>& input_shapes) override;
  std::vector<Tensor> call(const std::vector<Tensor>& inputs, const CallContext& ctx) override;
  std::vector<Tensor> compute_mask(const std::vector<Tensor>& inputs, const std::vector<Tensor>& masks) const override;
  std::vector<Shape> compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;

  /// The call with Keras's call arguments; scores (B, T_q, T_v) after masking, softmax and (while training)
  /// dropout, as Keras's return_attention_scores gives them.
  /// key_mask and attention_mask belong to MultiHeadAttention (ValueError here).
  AttentionResult attend(const Tensor& query, const Tensor& value, const AttendOptions& options = {});

  const AttentionOptions& options() const { return options_; }

 protected:
  AttentionImpl(std::string class_name, AttentionOptions options);
  /// (B, T_q, T_v) scores of query (B, T_q, d) against key (B, T_v, d).
  virtual Tensor scores(const Tensor& query, const Tensor& key) const;
  /// The input shapes' checks shared by build, call and compute_output_shape.
  void check_shapes(const std::vector<Shape>& shapes) const;

  AttentionOptions options_;
  Variable scale_, concat_score_weight_;  // undefined unless use_scale / score_mode "concat"
  uint64_t seeded_calls_ = 0;
};

class Attention : public LayerHolder<AttentionImpl> {
 public:
  explicit Attention(AttentionOptions options = {});
};

struct AdditiveAttentionOptions {
  /// A trainable vector (dim,), glorot_uniform, weighting the tanh terms; without it they are summed.
  bool use_scale = true;
  double dropout = 0.0;
  std::optional<uint64_t> seed = std::nullopt;
  std::string name = "";
};

/// keras.layers.AdditiveAttention: Attention with scores sum(scale * tanh(query_i + key_j)) over the
/// feature axis (query and key share their last dimension).
class AdditiveAttentionImpl : public AttentionImpl {
 public:
  explicit AdditiveAttentionImpl(AdditiveAttentionOptions options = {});
  void build(const std::vector<Shape>& input_shapes) override;
  nlohmann::json get_config() const override;

 protected:
  Tensor scores(const Tensor& query, const Tensor& key) const override;
};

class AdditiveAttention : public LayerHolder<AdditiveAttentionImpl> {
 public:
  explicit AdditiveAttention(AdditiveAttentionOptions options = {});
};

}  // namespace keel::layers
