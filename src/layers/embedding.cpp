#include "keel/layers/embedding.h"

#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/reduction.h"
#include "layers/config_util.h"

namespace keel::layers {

EmbeddingImpl::EmbeddingImpl(int64_t input_dim, int64_t output_dim, EmbeddingOptions options)
    : UnaryLayer("Embedding", options.name),
      input_dim_(input_dim),
      output_dim_(output_dim),
      options_(std::move(options)) {
  KEEL_CHECK(input_dim > 0 && output_dim > 0, ValueError,
             "Both `input_dim` and `output_dim` should be positive, received input_dim=", input_dim,
             " and output_dim=", output_dim);
  set_supports_masking(options_.mask_zero);
  set_activity_regularizer(options_.activity_regularizer);
}

void EmbeddingImpl::build(const Shape& input_shape) {
  embeddings_ = add_weight("embeddings", {input_dim_, output_dim_}, options_.embeddings_initializer, true, DType::f32,
                           options_.embeddings_regularizer, options_.embeddings_constraint);
  UnaryLayer::build(input_shape);
}

Tensor EmbeddingImpl::call(const Tensor& x, const CallContext&) {
  // Keras keeps int32/int64 ids and casts everything else (floats truncate) to int32.
  const Tensor ids = (x.dtype() == DType::i32 || x.dtype() == DType::i64) ? x : ops::cast(x, DType::i32);
  if (ids.numel() > 0) {
    // One host read for both bounds; take() would accept negative ids (from the end), Keras does not.
    const std::vector<int64_t> bounds = ops::stack({ops::min(ids), ops::max(ids)}).to_vector<int64_t>();
    if (bounds[0] < 0 || bounds[1] >= input_dim_) {
      const int64_t bad = bounds[0] < 0 ? bounds[0] : bounds[1];
      throw IndexError(keel::detail::cat("Layer \"", name(), "\" (Embedding): input id ", bad,
                                         " is out of range: ids must be in [0, input_dim) with input_dim=", input_dim_,
                                         " (input shape ", shape_str(x.shape()), ")"));
    }
  }
  return ops::take(embeddings_.value(), ids, 0);
}

Tensor EmbeddingImpl::compute_mask(const Tensor& x, const Tensor&) const {
  // Keras: id 0 is padding when mask_zero (the mask replaces any incoming one).
  if (!options_.mask_zero) return Tensor();
  return ops::not_equal(x, zeros({}, x.dtype(), x.device()));
}

Shape EmbeddingImpl::compute_output_shape(const Shape& input_shape) const {
  Shape out = input_shape;
  out.push_back(output_dim_);
  return out;
}

std::vector<DType> EmbeddingImpl::compute_output_dtype(const std::vector<DType>&, const std::vector<Shape>&) const {
  return {embeddings_.defined() ? embeddings_.dtype() : DType::f32};
}

nlohmann::json EmbeddingImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["input_dim"] = input_dim_;
  c["output_dim"] = output_dim_;
  c["embeddings_initializer"] = options_.embeddings_initializer.get_config();
  c["embeddings_regularizer"] = options_.embeddings_regularizer.get_config();
  c["activity_regularizer"] = activity_regularizer().get_config();
  c["embeddings_constraint"] = options_.embeddings_constraint.get_config();
  c["mask_zero"] = options_.mask_zero;
  return c;
}

Embedding::Embedding(int64_t input_dim, int64_t output_dim, EmbeddingOptions options)
    : LayerHolder(std::make_shared<EmbeddingImpl>(input_dim, output_dim, std::move(options))) {}

KEEL_REGISTER_LAYER("Embedding", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      Embedding(c.at("input_dim").get<int64_t>(), c.at("output_dim").get<int64_t>(),
                {.embeddings_initializer = detail::initializer_from(c, "embeddings_initializer", "uniform"),
                 .embeddings_regularizer = detail::regularizer_from(c, "embeddings_regularizer"),
                 .embeddings_constraint = detail::constraint_from(c, "embeddings_constraint"),
                 .mask_zero = c.value("mask_zero", false),
                 .name = detail::name_from(c)}),
      c);
});

}  // namespace keel::layers
