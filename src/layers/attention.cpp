#include "keel/layers/attention.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <tuple>
#include <utility>

#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "layers/config_util.h"

namespace keel::layers {
namespace {

int64_t product(const Shape& s, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) n *= s[i];
  return n;
}

// Draws the kernel as the 2-D (contracted, output) matrix it acts as, so fan-based initializers see the
// true fans (EinsumDense's rule), then gives it its multi-axis shape.
Initializer with_matrix_fans(const Initializer& base, int64_t fan_in, int64_t fan_out) {
  return Initializer(base.class_name(), nlohmann::json::object(),
                     [base, fan_in, fan_out](const Shape& shape, DType dt) {
                       return ops::reshape(base({fan_in, fan_out}, dt), shape);
                     });
}

InputSpec last_axis_spec(int64_t size) {
  InputSpec spec;
  spec.min_ndim = 3;
  spec.axes = {{-1, size}};
  return spec;
}

// Keras's large negative fill for masked attention logits.
constexpr double kMaskedLogit = -1e9;

}  // namespace

// --- HeadProjectionImpl ---

HeadProjectionImpl::HeadProjectionImpl(std::string name, size_t contracted_dims, Shape output_dims, bool use_bias,
                                       Initializer kernel_initializer, Initializer bias_initializer,
                                       Regularizer kernel_regularizer, Regularizer bias_regularizer,
                                       Constraint kernel_constraint, Constraint bias_constraint)
    : UnaryLayer("EinsumDense", std::move(name)),
      contracted_dims_(contracted_dims),
      output_dims_(std::move(output_dims)),
      use_bias_(use_bias),
      kernel_initializer_(std::move(kernel_initializer)),
      bias_initializer_(std::move(bias_initializer)),
      kernel_regularizer_(std::move(kernel_regularizer)),
      bias_regularizer_(std::move(bias_regularizer)),
      kernel_constraint_(std::move(kernel_constraint)),
      bias_constraint_(std::move(bias_constraint)) {}

void HeadProjectionImpl::build(const Shape& input_shape) {
  KEEL_CHECK(input_shape.size() > contracted_dims_, ShapeError, "Layer \"", name(), "\": input shape ",
             partial_shape_str(input_shape), " has fewer than ", contracted_dims_ + 1, " dimensions");
  input_rank_ = static_cast<int64_t>(input_shape.size());
  Shape kernel_shape(input_shape.end() - static_cast<int64_t>(contracted_dims_), input_shape.end());
  for (int64_t d : kernel_shape)
    KEEL_CHECK(d != kUnknownDim, ShapeError, "Layer \"", name(), "\": the contracted dimensions of ",
               partial_shape_str(input_shape), " must be known to build it");
  const int64_t fan_in = product(kernel_shape, 0, kernel_shape.size());
  const int64_t fan_out = product(output_dims_, 0, output_dims_.size());
  kernel_shape.insert(kernel_shape.end(), output_dims_.begin(), output_dims_.end());
  kernel_ = add_weight("kernel", kernel_shape, with_matrix_fans(kernel_initializer_, fan_in, fan_out), true, DType::f32,
                       kernel_regularizer_, kernel_constraint_);
  if (use_bias_)
    bias_ = add_weight("bias", output_dims_, bias_initializer_, true, DType::f32, bias_regularizer_, bias_constraint_);
  InputSpec spec;
  spec.ndim = input_rank_;
  for (size_t i = 0; i < contracted_dims_; ++i)
    spec.axes[-1 - static_cast<int64_t>(i)] = input_shape[input_shape.size() - 1 - i];
  input_spec_ = {spec};
  UnaryLayer::build(input_shape);
}

Tensor HeadProjectionImpl::call(const Tensor& x, const CallContext&) {
  const Shape& s = x.shape();
  const size_t lead = s.size() - contracted_dims_;
  const int64_t fan_in = product(s, lead, s.size()), fan_out = product(output_dims_, 0, output_dims_.size());
  Shape flat_in(s.begin(), s.begin() + static_cast<int64_t>(lead));
  flat_in.push_back(fan_in);
  Tensor y = ops::dense(ops::reshape(x, flat_in), ops::reshape(kernel_.value(), {fan_in, fan_out}),
                        use_bias_ ? ops::reshape(bias_.value(), {fan_out}) : Tensor());
  return ops::reshape(y, compute_output_shape(s));
}

Shape HeadProjectionImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out(input_shape.begin(), input_shape.end() - static_cast<int64_t>(contracted_dims_));
  out.insert(out.end(), output_dims_.begin(), output_dims_.end());
  return out;
}

nlohmann::json HeadProjectionImpl::get_config() const {
  // The einsum equation Keras's EinsumDense would carry for this projection (e.g. "abc,cde->abde").
  const int64_t free = input_rank_ - static_cast<int64_t>(contracted_dims_);
  std::string in, kernel, out, bias_axes;
  char letter = 'a';
  for (int64_t i = 0; i < free; ++i, ++letter) in += letter, out += letter;
  for (size_t i = 0; i < contracted_dims_; ++i, ++letter) in += letter, kernel += letter;
  for (size_t i = 0; i < output_dims_.size(); ++i, ++letter) kernel += letter, out += letter, bias_axes += letter;
  Shape output_shape(static_cast<size_t>(std::max<int64_t>(free - 1, 0)), kUnknownDim);
  output_shape.insert(output_shape.end(), output_dims_.begin(), output_dims_.end());
  nlohmann::json c = Layer::get_config();
  c["equation"] = in + "," + kernel + "->" + out;
  c["output_shape"] = detail::shape_json(output_shape);
  c["bias_axes"] = use_bias_ ? nlohmann::json(bias_axes) : nlohmann::json(nullptr);
  c["activation"] = "linear";
  c["kernel_initializer"] = kernel_initializer_.get_config();
  c["bias_initializer"] = bias_initializer_.get_config();
  return c;
}

// --- MultiHeadAttentionImpl ---

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t num_heads, int64_t key_dim, MultiHeadAttentionOptions options)
    : Layer("MultiHeadAttention", options.name),
      num_heads_(num_heads),
      key_dim_(key_dim),
      value_dim_(options.value_dim.value_or(key_dim)),
      options_(std::move(options)) {
  expected_inputs_ = std::nullopt;
  set_supports_masking(true);
  set_activity_regularizer(options_.activity_regularizer);
  KEEL_CHECK(num_heads > 0, ValueError,
             "MultiHeadAttention: `num_heads` must be a positive integer. Received: num_heads=", num_heads);
  KEEL_CHECK(key_dim > 0, ValueError,
             "MultiHeadAttention: `key_dim` must be a positive integer. Received: key_dim=", key_dim);
  KEEL_CHECK(value_dim_ > 0, ValueError,
             "MultiHeadAttention: `value_dim` must be a positive integer. Received: value_dim=", value_dim_);
  KEEL_CHECK(options_.dropout >= 0.0 && options_.dropout <= 1.0, ValueError,
             "MultiHeadAttention: `dropout` must be in [0, 1]. Received: dropout=", options_.dropout);
  if (options_.output_shape)
    for (int64_t d : *options_.output_shape)
      KEEL_CHECK(d > 0, ValueError, "MultiHeadAttention: `output_shape` must have positive dimensions. Received: ",
                 partial_shape_str(*options_.output_shape));
}

void MultiHeadAttentionImpl::check_shapes(const std::vector<Shape>& shapes) const {
  KEEL_CHECK(shapes.size() == 2 || shapes.size() == 3, ValueError, "Layer \"", name(),
             "\" expects inputs {query, value} or {query, value, key}, but it received ", shapes.size(), " inputs");
  const Shape& q = shapes[0];
  const Shape& v = shapes[1];
  const Shape& k = shapes.size() == 3 ? shapes[2] : shapes[1];
  for (const Shape* s : {&q, &v, &k})
    KEEL_CHECK(s->size() >= 3, ShapeError, "Layer \"", name(),
               "\" expects inputs of shape (batch, ..., features); received ", partial_shape_str(*s));
  KEEL_CHECK(v.size() == q.size() && k.size() == q.size(), ShapeError, "Layer \"", name(),
             "\": query, value and key must have the same rank. Received: query_shape=", partial_shape_str(q),
             ", value_shape=", partial_shape_str(v), ", key_shape=", partial_shape_str(k));
  for (size_t i = 1; i + 1 < v.size(); ++i)
    KEEL_CHECK(v[i] == k[i] || v[i] == kUnknownDim || k[i] == kUnknownDim, ValueError,
               "All dimensions of `value` and `key`, except the last one, must be equal. Received: value_shape=",
               partial_shape_str(v), " and key_shape=", partial_shape_str(k));
}

void MultiHeadAttentionImpl::build(const std::vector<Shape>& input_shapes) {
  check_shapes(input_shapes);
  const Shape& q = input_shapes[0];
  const Shape& v = input_shapes[1];
  const Shape& k = input_shapes.size() == 3 ? input_shapes[2] : v;
  if (options_.attention_axes) {
    std::vector<int64_t> axes;
    for (int64_t a : *options_.attention_axes) axes.push_back(a < 0 ? a + static_cast<int64_t>(q.size()) : a);
    std::vector<int64_t> default_axes(q.size() - 2);
    std::iota(default_axes.begin(), default_axes.end(), 1);
    if (axes != default_axes)
      throw UnimplementedError("Layer \"" + name() +
                               "\": attention_axes other than the default (every axis between batch and features) "
                               "are not implemented in Keel");
  }
  const Shape out_dims = options_.output_shape.value_or(Shape{q.back()});
  const Initializer& ki = options_.kernel_initializer;
  const Initializer& bi = options_.bias_initializer;
  auto projection = [&](const char* name, size_t contracted, Shape dims) {
    return std::make_shared<HeadProjectionImpl>(name, contracted, std::move(dims), options_.use_bias, ki, bi,
                                                options_.kernel_regularizer, options_.bias_regularizer,
                                                options_.kernel_constraint, options_.bias_constraint);
  };
  query_ = projection("query", 1, Shape{num_heads_, key_dim_});
  key_ = projection("key", 1, Shape{num_heads_, key_dim_});
  value_ = projection("value", 1, Shape{num_heads_, value_dim_});
  output_ = projection("attention_output", 2, out_dims);
  query_->build(q);
  key_->build(k);
  value_->build(v);
  Shape heads(q.begin(), q.end() - 1);
  heads.push_back(num_heads_);
  heads.push_back(value_dim_);
  output_->build(heads);
  // Under Keras's attribute names: its public properties query_dense, ..., which its weight files use.
  for (const auto& [sub, attribute] : {std::pair{query_, "query_dense"}, std::pair{key_, "key_dense"},
                                       std::pair{value_, "value_dense"}, std::pair{output_, "output_dense"}}) {
    sub->set_trainable(trainable());  // created after a possible set_trainable(false) on this layer
    track(sub, attribute);
  }
  input_spec_ = {last_axis_spec(q.back()), last_axis_spec(v.back()), last_axis_spec(k.back())};
  set_variable_paths("");
  Layer::build(input_shapes);
}

std::vector<Tensor> MultiHeadAttentionImpl::call(const std::vector<Tensor>& inputs, const CallContext& ctx) {
  KEEL_CHECK(inputs.size() == 2 || inputs.size() == 3, ValueError, "Layer \"", name(),
             "\" expects inputs {query, value} or {query, value, key}, but it received ", inputs.size(), " inputs");
  if (ctx.masks.empty())
    return {compute(inputs[0], inputs[1], inputs.size() == 3 ? inputs[2] : inputs[1], Tensor(), ctx.training).output};
  return {attend(inputs[0], inputs[1],
                 {.key = inputs.size() == 3 ? inputs[2] : Tensor(),
                  .query_mask = ctx.mask(0),
                  .value_mask = ctx.mask(1),
                  .key_mask = ctx.mask(2),
                  .training = ctx.training})
              .output};
}

std::vector<Tensor> MultiHeadAttentionImpl::compute_mask(const std::vector<Tensor>&,
                                                         const std::vector<Tensor>& masks) const {
  return {masks.empty() ? Tensor() : masks[0]};
}

AttentionResult MultiHeadAttentionImpl::attend(const Tensor& query, const Tensor& value, const AttendOptions& o) {
  const Tensor key = o.key.defined() ? o.key : value;
  std::vector<Shape> shapes{query.shape(), value.shape(), key.shape()};
  if (!built()) {
    std::vector<Shape> build_shapes = shapes;
    for (auto& s : build_shapes)
      if (!s.empty()) s[0] = kUnknownDim;
    build(build_shapes);
  }
  check_shapes(shapes);
  for (size_t i = 0; i < shapes.size(); ++i)
    KEEL_CHECK(shapes[i].back() == input_spec_[i].axes.at(-1), ShapeError, "Input ", i, " of layer \"", name(),
               "\" is incompatible with the layer: expected axis -1 of input shape to have value ",
               input_spec_[i].axes.at(-1), ", but received input with shape ", shape_str(shapes[i]));

  Tensor mask;
  const bool padding = o.query_mask.defined() || o.value_mask.defined() || o.key_mask.defined();
  if (o.attention_mask.defined() || o.use_causal_mask || padding) {
    KEEL_CHECK(query.ndim() == 3, UnimplementedError, "Layer \"", name(),
               "\": attention masks are implemented for rank-3 inputs (batch, time, features) only; query has shape ",
               shape_str(query.shape()));
    const int64_t batch = query.shape()[0], tq = query.shape()[1], tv = value.shape()[1];
    if (o.attention_mask.defined()) {
      const Shape& ms = o.attention_mask.shape();
      KEEL_CHECK(ms.size() == 3 && (ms[0] == batch || ms[0] == 1) && ms[1] == tq && ms[2] == tv, ShapeError, "Layer \"",
                 name(), "\": attention_mask must have shape (", batch, ", ", tq, ", ", tv, "); received ",
                 shape_str(ms));
      mask = ops::cast(ops::not_equal(o.attention_mask, zeros({}, o.attention_mask.dtype())), DType::f32);
    }
    // The inputs' masks: query position i may attend key position j when both are kept.
    auto kept = [&](const Tensor& m, const char* what, int64_t steps, int64_t axis) {
      KEEL_CHECK(m.shape() == (Shape{batch, steps}), ShapeError, "Layer \"", name(), "\": ", what, " must have shape (",
                 batch, ", ", steps, "); received ", shape_str(m.shape()));
      return ops::expand_dims(ops::cast(m, DType::f32), axis);
    };
    for (const auto& [m, what, steps, axis] : {std::tuple{o.query_mask, "query_mask", tq, int64_t{-1}},
                                               std::tuple{o.value_mask, "value_mask", tv, int64_t{-2}},
                                               std::tuple{o.key_mask, "key_mask", tv, int64_t{-2}}}) {
      if (!m.defined()) continue;
      const Tensor k = kept(m, what, steps, axis);
      mask = mask.defined() ? mask * k : k;
    }
    if (o.use_causal_mask) {
      // Query position i may attend to key positions j <= i (Keras's _compute_causal_mask).
      std::vector<float> tri(static_cast<size_t>(tq * tv));
      for (int64_t i = 0; i < tq; ++i)
        for (int64_t j = 0; j < tv; ++j) tri[static_cast<size_t>(i * tv + j)] = i >= j ? 1.0f : 0.0f;
      Tensor causal = from_vector(tri, {1, tq, tv});
      mask = mask.defined() ? mask * causal : causal;
    }
    mask = ops::expand_dims(mask, 1);  // broadcast over heads
  }
  return compute(query, value, key, mask, o.training);
}

AttentionResult MultiHeadAttentionImpl::compute(const Tensor& query, const Tensor& value, const Tensor& key,
                                                const Tensor& mask, bool training) {
  const CallContext ctx{.training = training};
  const Shape& qs = query.shape();
  const Shape& vs = value.shape();
  const int64_t batch = qs[0], nq = product(qs, 1, qs.size() - 1), nv = product(vs, 1, vs.size() - 1);
  // (B, T..., H, d) -> (B, H, N, d) with the attention positions flattened.
  auto heads_first = [&](const Tensor& t, int64_t n, int64_t d) {
    return ops::transpose(ops::reshape(t, {batch, n, num_heads_, d}), {0, 2, 1, 3});
  };
  const Tensor q =
      heads_first(query_->call(query, ctx), nq, key_dim_) * (1.0 / std::sqrt(static_cast<double>(key_dim_)));
  const Tensor k = heads_first(key_->call(key, ctx), nv, key_dim_);
  const Tensor v = heads_first(value_->call(value, ctx), nv, value_dim_);

  Tensor logits = ops::matmul(q, ops::transpose(k, {0, 1, 3, 2}));  // (B, H, Nq, Nv)
  if (mask.defined()) logits = logits + (1.0 - mask) * kMaskedLogit;
  Tensor scores = ops::softmax(logits, -1);
  if (mask.defined()) scores = scores * mask;
  const Tensor probs = training && options_.dropout > 0.0 ? ops::dropout(scores, options_.dropout) : scores;

  Tensor attended = ops::transpose(ops::matmul(probs, v), {0, 2, 1, 3});  // (B, Nq, H, v)
  Shape heads_shape(qs.begin(), qs.end() - 1);
  heads_shape.push_back(num_heads_);
  heads_shape.push_back(value_dim_);
  Tensor output = output_->call(ops::reshape(attended, heads_shape), ctx);

  Shape scores_shape{batch, num_heads_};
  scores_shape.insert(scores_shape.end(), qs.begin() + 1, qs.end() - 1);
  scores_shape.insert(scores_shape.end(), vs.begin() + 1, vs.end() - 1);
  return {output, ops::reshape(scores, scores_shape)};
}

std::vector<Shape> MultiHeadAttentionImpl::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  check_shapes(input_shapes);
  const Shape& q = input_shapes[0];
  Shape out(q.begin(), q.end() - 1);
  const Shape out_dims = options_.output_shape.value_or(Shape{q.back()});
  out.insert(out.end(), out_dims.begin(), out_dims.end());
  return {out};
}

nlohmann::json MultiHeadAttentionImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["num_heads"] = num_heads_;
  c["key_dim"] = key_dim_;
  c["value_dim"] = value_dim_;
  c["dropout"] = options_.dropout;
  c["use_bias"] = options_.use_bias;
  c["output_shape"] = options_.output_shape ? detail::shape_json(*options_.output_shape) : nlohmann::json(nullptr);
  c["attention_axes"] = options_.attention_axes ? nlohmann::json(*options_.attention_axes) : nlohmann::json(nullptr);
  c["kernel_initializer"] = options_.kernel_initializer.get_config();
  c["bias_initializer"] = options_.bias_initializer.get_config();
  c["kernel_regularizer"] = options_.kernel_regularizer.get_config();
  c["bias_regularizer"] = options_.bias_regularizer.get_config();
  c["activity_regularizer"] = activity_regularizer().get_config();
  c["kernel_constraint"] = options_.kernel_constraint.get_config();
  c["bias_constraint"] = options_.bias_constraint.get_config();
  c["seed"] = nullptr;
  return c;
}

MultiHeadAttention::MultiHeadAttention(int64_t num_heads, int64_t key_dim, MultiHeadAttentionOptions options)
    : LayerHolder(std::make_shared<MultiHeadAttentionImpl>(num_heads, key_dim, std::move(options))) {}

namespace {
LayerHandle multi_head_attention_from_config(const nlohmann::json& c) {
  MultiHeadAttentionOptions o{.value_dim = detail::optional_from_json<int64_t>(c, "value_dim"),
                              .dropout = c.value("dropout", 0.0),
                              .use_bias = c.value("use_bias", true),
                              .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                              .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                              .kernel_regularizer = detail::regularizer_from(c, "kernel_regularizer"),
                              .bias_regularizer = detail::regularizer_from(c, "bias_regularizer"),
                              .activity_regularizer = detail::regularizer_from(c, "activity_regularizer"),
                              .kernel_constraint = detail::constraint_from(c, "kernel_constraint"),
                              .bias_constraint = detail::constraint_from(c, "bias_constraint"),
                              .name = detail::name_from(c)};
  if (c.contains("output_shape") && !c.at("output_shape").is_null()) {
    const auto& s = c.at("output_shape");
    o.output_shape = s.is_number() ? Shape{s.get<int64_t>()} : detail::shape_from_json(s);
  }
  if (c.contains("attention_axes") && !c.at("attention_axes").is_null()) {
    const auto& a = c.at("attention_axes");
    o.attention_axes = a.is_number() ? std::vector<int64_t>{a.get<int64_t>()} : a.get<std::vector<int64_t>>();
  }
  return detail::with_base_config(
      MultiHeadAttention(c.at("num_heads").get<int64_t>(), c.at("key_dim").get<int64_t>(), std::move(o)), c);
}
}  // namespace

KEEL_REGISTER_LAYER("MultiHeadAttention", multi_head_attention_from_config);

}  // namespace keel::layers
