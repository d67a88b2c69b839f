// keras.layers.Attention and AdditiveAttention (keras/src/layers/attention/attention.py,
// additive_attention.py): attention without projections, scored by a dot product, tanh of a sum, or
// (AdditiveAttention) a weighted sum of tanh terms.
#include <nlohmann/json.hpp>
#include <utility>

#include "keel/layers/attention.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "keel/ops/reduction.h"
#include "layers/config_util.h"

namespace keel::layers {
namespace {

// Keras's bias on masked scores (float32; 65504 would be float16's).
constexpr double kMaskedScore = 1e9;

AttentionOptions additive_as_attention(const AdditiveAttentionOptions& o) {
  return {.use_scale = o.use_scale, .score_mode = "additive", .dropout = o.dropout, .seed = o.seed, .name = o.name};
}

}  // namespace

AttentionImpl::AttentionImpl(AttentionOptions options) : AttentionImpl("Attention", std::move(options)) {
  KEEL_CHECK(options_.score_mode == "dot" || options_.score_mode == "concat", ValueError,
             "Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. Received: score_mode=",
             options_.score_mode);
}

AttentionImpl::AttentionImpl(std::string class_name, AttentionOptions options)
    : Layer(std::move(class_name), options.name), options_(std::move(options)) {
  expected_inputs_ = std::nullopt;  // {query, value} or {query, value, key}
  KEEL_CHECK(options_.dropout >= 0.0 && options_.dropout <= 1.0, ValueError, "Layer \"", name(),
             "\": dropout must be between 0 and 1; received dropout=", options_.dropout);
  set_supports_masking(true);
}

void AttentionImpl::check_shapes(const std::vector<Shape>& shapes) const {
  KEEL_CHECK(shapes.size() == 2 || shapes.size() == 3, ValueError, class_name(),
             " layer accepts inputs list of length 2 or 3, namely [query, value] or [query, value, key]. Received "
             "length: ",
             shapes.size());
  const Shape& q = shapes[0];
  const Shape& v = shapes[1];
  const Shape& k = shapes.size() == 3 ? shapes[2] : v;
  for (const Shape* s : {&q, &v, &k})
    KEEL_CHECK(s->size() == 3, ShapeError, "Layer \"", name(),
               "\" expects rank-3 inputs (batch, time, features); received shapes query=", partial_shape_str(q),
               ", value=", partial_shape_str(v), ", key=", partial_shape_str(k));
  auto known = [](int64_t d) { return d != kUnknownDim; };
  KEEL_CHECK(!known(q[2]) || !known(k[2]) || q[2] == k[2], ShapeError, "Layer \"", name(),
             "\": query and key must have the same last dimension; received query=", partial_shape_str(q),
             " and key=", partial_shape_str(k));
  KEEL_CHECK(!known(v[1]) || !known(k[1]) || v[1] == k[1], ShapeError, "Layer \"", name(),
             "\": value and key must have the same number of steps; received value=", partial_shape_str(v),
             " and key=", partial_shape_str(k));
}

void AttentionImpl::build(const std::vector<Shape>& input_shapes) {
  check_shapes(input_shapes);
  if (options_.use_scale) scale_ = add_weight("scale", {}, "ones");
  if (options_.score_mode == "concat") concat_score_weight_ = add_weight("concat_score_weight", {}, "ones");
  Layer::build(input_shapes);
}

Tensor AttentionImpl::scores(const Tensor& query, const Tensor& key) const {
  if (options_.score_mode == "dot") {
    Tensor s = ops::matmul(query, ops::transpose(key, {0, 2, 1}));
    return scale_.defined() ? s * scale_.value() : s;
  }
  // concat: (B, T_q, 1, d) + (B, 1, T_v, d)
  Tensor sum = ops::expand_dims(query, -2) + ops::expand_dims(key, -3);
  if (scale_.defined()) sum = scale_.value() * sum;
  return concat_score_weight_.value() * ops::sum(ops::tanh(sum), {-1});
}

std::vector<Tensor> AttentionImpl::call(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  std::vector<Shape> shapes;
  for (const Tensor& x : inputs) shapes.push_back(x.shape());
  check_shapes(shapes);
  return {attend(inputs[0], inputs[1],
                 {.key = inputs.size() == 3 ? inputs[2] : Tensor(),
                  .query_mask = ctx.mask(0),
                  .value_mask = ctx.mask(1),
                  .training = ctx.training})
              .output};
}

AttentionResult AttentionImpl::attend(const Tensor& query, const Tensor& value, const AttendOptions& o) {
  KEEL_CHECK(!o.key_mask.defined() && !o.attention_mask.defined(), ValueError, "Layer \"", name(), "\" (", class_name(),
             ") takes query_mask and value_mask only; key_mask and attention_mask are "
             "MultiHeadAttention's");
  const Tensor key = o.key.defined() ? o.key : value;
  const std::vector<Shape> shapes{query.shape(), value.shape(), key.shape()};
  check_shapes(shapes);
  if (!built()) {
    std::vector<Shape> build_shapes = shapes;
    for (auto& s : build_shapes) s[0] = kUnknownDim;
    build(build_shapes);
  }
  const int64_t batch = query.shape()[0], tq = query.shape()[1], tv = value.shape()[1];
  Tensor s = scores(query, key);  // (B, T_q, T_v)

  // Keras's scores_mask: the value mask as (B, 1, T_v), and-ed with the causal mask when asked for.
  Tensor keep;
  if (o.value_mask.defined()) {
    KEEL_CHECK(o.value_mask.shape() == (Shape{batch, tv}), ShapeError, "Layer \"", name(),
               "\": value_mask must have shape (", batch, ", ", tv, "); received ", shape_str(o.value_mask.shape()));
    keep = ops::expand_dims(ops::cast(ops::not_equal(o.value_mask, zeros({}, o.value_mask.dtype())), s.dtype()), -2);
  }
  if (o.use_causal_mask) {
    std::vector<float> tri(static_cast<size_t>(tq * tv));
    for (int64_t i = 0; i < tq; ++i)
      for (int64_t j = 0; j < tv; ++j) tri[static_cast<size_t>(i * tv + j)] = i >= j ? 1.0f : 0.0f;
    const Tensor causal = ops::cast(from_vector(tri, {1, tq, tv}, s.device()), s.dtype());
    keep = keep.defined() ? keep * causal : causal;
  }
  if (keep.defined()) s = s - kMaskedScore * (1.0 - keep);
  const Tensor weights = ops::softmax(s, -1);
  Tensor used = weights;
  if (o.training && options_.dropout > 0.0) {
    std::optional<uint64_t> seed;
    if (options_.seed) seed = *options_.seed + 0x9E3779B97F4A7C15ULL * seeded_calls_++;
    used = ops::dropout(weights, options_.dropout, seed);
  }
  Tensor result = ops::matmul(used, value);
  if (o.query_mask.defined()) {
    KEEL_CHECK(o.query_mask.shape() == (Shape{batch, tq}), ShapeError, "Layer \"", name(),
               "\": query_mask must have shape (", batch, ", ", tq, "); received ", shape_str(o.query_mask.shape()));
    result = result * ops::expand_dims(
                          ops::cast(ops::not_equal(o.query_mask, zeros({}, o.query_mask.dtype())), result.dtype()), -1);
  }
  return {result, used};  // as Keras returns them: after dropout
}

std::vector<Tensor> AttentionImpl::compute_mask(const std::vector<Tensor>&, const std::vector<Tensor>& masks) const {
  return {masks.empty() ? Tensor() : masks[0]};
}

std::vector<Shape> AttentionImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  check_shapes(input_shapes);
  return {{input_shapes[0][0], input_shapes[0][1], input_shapes[1][2]}};
}

nlohmann::json AttentionImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["use_scale"] = options_.use_scale;
  c["score_mode"] = options_.score_mode;
  c["dropout"] = options_.dropout;
  return c;
}

Attention::Attention(AttentionOptions options) : LayerHolder(std::make_shared<AttentionImpl>(std::move(options))) {}

// --- AdditiveAttention ---

AdditiveAttentionImpl::AdditiveAttentionImpl(AdditiveAttentionOptions options)
    : AttentionImpl("AdditiveAttention", additive_as_attention(options)) {}

void AdditiveAttentionImpl::build(const std::vector<Shape>& input_shapes) {
  check_shapes(input_shapes);
  if (options_.use_scale) scale_ = add_weight("scale", {input_shapes[0][2]}, "glorot_uniform");
  Layer::build(input_shapes);
}

Tensor AdditiveAttentionImpl::scores(const Tensor& query, const Tensor& key) const {
  const Tensor t = ops::tanh(ops::expand_dims(query, -2) + ops::expand_dims(key, -3));  // (B, T_q, T_v, d)
  return ops::sum(scale_.defined() ? scale_.value() * t : t, {-1});
}

nlohmann::json AdditiveAttentionImpl::get_config() const {
  nlohmann::json c = AttentionImpl::get_config();
  c.erase("score_mode");
  return c;
}

AdditiveAttention::AdditiveAttention(AdditiveAttentionOptions options)
    : LayerHolder(std::make_shared<AdditiveAttentionImpl>(std::move(options))) {}

namespace {

LayerHandle attention_from_config(const nlohmann::json& c) {
  return detail::with_base_config(Attention({.use_scale = c.value("use_scale", false),
                                             .score_mode = c.value("score_mode", std::string("dot")),
                                             .dropout = c.value("dropout", 0.0),
                                             .name = detail::name_from(c)}),
                                  c);
}

LayerHandle additive_attention_from_config(const nlohmann::json& c) {
  return detail::with_base_config(
      AdditiveAttention(
          {.use_scale = c.value("use_scale", true), .dropout = c.value("dropout", 0.0), .name = detail::name_from(c)}),
      c);
}

}  // namespace

KEEL_REGISTER_LAYER("Attention", attention_from_config);
KEEL_REGISTER_LAYER("AdditiveAttention", additive_attention_from_config);

}  // namespace keel::layers
