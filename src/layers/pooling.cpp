#include "keel/layers/pooling.h"

#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "keel/ops/reduction.h"
#include "layers/config_util.h"
#include "layers/spatial_util.h"

namespace keel::layers {

using detail::layer_label;
using detail::tuple_str;

// --- MaxPooling / AveragePooling ---

PoolingImpl::PoolingImpl(std::string class_name, int rank, Mode mode, std::vector<int64_t> pool_size,
                         PoolingOptions options)
    : UnaryLayer(std::move(class_name), options.name), rank_(rank), mode_(mode), options_(std::move(options)) {
  const std::string who = layer_label(*this);
  pool_size_ = detail::standardize_tuple(pool_size, rank, "pool_size", who);
  options_.strides =
      options_.strides.empty() ? pool_size_ : detail::standardize_tuple(options_.strides, rank, "strides", who);
  options_.padding = detail::standardize_padding(options_.padding, who);
  options_.data_format = detail::standardize_data_format(options_.data_format, who, /*allow_channels_first=*/true);
}

void PoolingImpl::build(const Shape& input_shape) {
  compute_output_shape(input_shape);  // rank and output-size checks
  input_spec_ = {InputSpec{.ndim = rank_ + 2, .min_ndim = std::nullopt, .axes = {}}};
  UnaryLayer::build(input_shape);
}

Tensor PoolingImpl::call(const Tensor& x, const CallContext&) {
  if (options_.data_format == "channels_first") return detail::to_channels_first(call_last(detail::to_channels_last(x)));
  return call_last(x);
}

Tensor PoolingImpl::call_last(const Tensor& x) const {
  const ops::PoolOptions o{.strides = options_.strides, .padding = options_.padding};
  if (mode_ == Mode::kMax) return rank_ == 1 ? ops::max_pool1d(x, pool_size_, o) : ops::max_pool2d(x, pool_size_, o);
  return rank_ == 1 ? ops::avg_pool1d(x, pool_size_, o) : ops::avg_pool2d(x, pool_size_, o);
}

Shape PoolingImpl::compute_output_shape(const Shape& input_shape) const {
  if (options_.data_format == "channels_first")
    return detail::to_channels_first(output_shape_last(detail::to_channels_last(input_shape)));
  return output_shape_last(input_shape);
}

Shape PoolingImpl::output_shape_last(const Shape& input_shape) const {
  const std::string who = layer_label(*this);
  detail::check_spatial_rank(input_shape, rank_, who);
  Shape out = input_shape;
  for (int i = 0; i < rank_; ++i) {
    out[i + 1] = detail::window_out_extent(input_shape[i + 1], pool_size_[i], options_.strides[i], 1, options_.padding);
    KEEL_CHECK(out[i + 1] == kUnknownDim || out[i + 1] > 0, ValueError, who,
               ": computed output size would be zero or negative. Received: inputs shape=",
               partial_shape_str(input_shape), ", pool_size=", tuple_str(pool_size_),
               ", strides=", tuple_str(options_.strides), ", padding=\"", options_.padding, "\"");
  }
  return out;
}

nlohmann::json PoolingImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["pool_size"] = pool_size_;
  c["padding"] = options_.padding;
  c["strides"] = options_.strides;
  c["data_format"] = options_.data_format;
  return c;
}

MaxPooling1D::MaxPooling1D(std::vector<int64_t> pool_size, PoolingOptions options)
    : LayerHolder(std::make_shared<PoolingImpl>("MaxPooling1D", 1, PoolingImpl::Mode::kMax, std::move(pool_size),
                                                std::move(options))) {}
MaxPooling2D::MaxPooling2D(std::vector<int64_t> pool_size, PoolingOptions options)
    : LayerHolder(std::make_shared<PoolingImpl>("MaxPooling2D", 2, PoolingImpl::Mode::kMax, std::move(pool_size),
                                                std::move(options))) {}
AveragePooling1D::AveragePooling1D(std::vector<int64_t> pool_size, PoolingOptions options)
    : LayerHolder(std::make_shared<PoolingImpl>("AveragePooling1D", 1, PoolingImpl::Mode::kAverage,
                                                std::move(pool_size), std::move(options))) {}
AveragePooling2D::AveragePooling2D(std::vector<int64_t> pool_size, PoolingOptions options)
    : LayerHolder(std::make_shared<PoolingImpl>("AveragePooling2D", 2, PoolingImpl::Mode::kAverage,
                                                std::move(pool_size), std::move(options))) {}

namespace {

template <class Handle>
LayerFactory pooling_factory(std::vector<int64_t> default_pool) {
  return [default_pool](const nlohmann::json& c) -> LayerHandle {
    return detail::with_base_config(
        Handle(detail::ints_from(c, "pool_size", default_pool),
               PoolingOptions{.strides = detail::ints_from(c, "strides", {}),
                              .padding = detail::string_from(c, "padding", "valid"),
                              .data_format = detail::string_from(c, "data_format", "channels_last"),
                              .name = detail::name_from(c)}),
        c);
  };
}

template <class Handle>
LayerFactory global_pooling_factory() {
  return [](const nlohmann::json& c) -> LayerHandle {
    return detail::with_base_config(
        Handle(GlobalPoolingOptions{.data_format = detail::string_from(c, "data_format", "channels_last"),
                                    .keepdims = c.value("keepdims", false),
                                    .name = detail::name_from(c)}),
        c);
  };
}

}  // namespace

// Keras exports the short aliases (MaxPool2D, ...) under the same classes.
KEEL_REGISTER_LAYER("MaxPooling1D", pooling_factory<MaxPooling1D>({2}));
KEEL_REGISTER_LAYER("MaxPool1D", pooling_factory<MaxPooling1D>({2}));
KEEL_REGISTER_LAYER("MaxPooling2D", pooling_factory<MaxPooling2D>({2, 2}));
KEEL_REGISTER_LAYER("MaxPool2D", pooling_factory<MaxPooling2D>({2, 2}));
KEEL_REGISTER_LAYER("AveragePooling1D", pooling_factory<AveragePooling1D>({2}));
KEEL_REGISTER_LAYER("AvgPool1D", pooling_factory<AveragePooling1D>({2}));
KEEL_REGISTER_LAYER("AveragePooling2D", pooling_factory<AveragePooling2D>({2, 2}));
KEEL_REGISTER_LAYER("AvgPool2D", pooling_factory<AveragePooling2D>({2, 2}));

// --- Global pooling ---

GlobalPoolingImpl::GlobalPoolingImpl(std::string class_name, int rank, Mode mode, GlobalPoolingOptions options)
    : UnaryLayer(std::move(class_name), options.name), rank_(rank), mode_(mode), options_(std::move(options)) {
  options_.data_format =
      detail::standardize_data_format(options_.data_format, layer_label(*this), /*allow_channels_first=*/true);
  set_supports_masking(rank_ == 1 && mode_ == Mode::kAverage);  // only GlobalAveragePooling1D in Keras
}

void GlobalPoolingImpl::build(const Shape& input_shape) {
  detail::check_spatial_rank(input_shape, rank_, layer_label(*this));
  input_spec_ = {InputSpec{.ndim = rank_ + 2, .min_ndim = std::nullopt, .axes = {}}};
  UnaryLayer::build(input_shape);
}

Tensor GlobalPoolingImpl::call(const Tensor& x, const CallContext& ctx) {
  const bool first = options_.data_format == "channels_first";
  const ops::Axes axes = rank_ == 1 ? ops::Axes{first ? 2 : 1} : (first ? ops::Axes{2, 3} : ops::Axes{1, 2});
  if (const Tensor mask = ctx.mask(); mask.defined() && supports_masking()) {
    // Σ(x·m) / Σm over the steps (keras/src/layers/pooling/global_average_pooling1d.py).
    const Tensor m = ops::expand_dims(ops::cast(mask, x.dtype()), first ? 1 : 2);
    return ops::sum(x * m, axes, options_.keepdims) / ops::sum(m, axes, options_.keepdims);
  }
  return mode_ == Mode::kMax ? ops::max(x, axes, options_.keepdims) : ops::mean(x, axes, options_.keepdims);
}

Shape GlobalPoolingImpl::compute_output_shape(const Shape& input_shape) const {
  detail::check_spatial_rank(input_shape, rank_, layer_label(*this));
  const bool first = options_.data_format == "channels_first";
  if (!options_.keepdims) return {input_shape.front(), first ? input_shape[1] : input_shape.back()};
  Shape out = input_shape;
  for (int i = 0; i < rank_; ++i) out[i + (first ? 2 : 1)] = 1;
  return out;
}

nlohmann::json GlobalPoolingImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["data_format"] = options_.data_format;
  c["keepdims"] = options_.keepdims;
  return c;
}

GlobalAveragePooling1D::GlobalAveragePooling1D(GlobalPoolingOptions options)
    : LayerHolder(std::make_shared<GlobalPoolingImpl>("GlobalAveragePooling1D", 1, PoolingImpl::Mode::kAverage,
                                                      std::move(options))) {}
GlobalAveragePooling2D::GlobalAveragePooling2D(GlobalPoolingOptions options)
    : LayerHolder(std::make_shared<GlobalPoolingImpl>("GlobalAveragePooling2D", 2, PoolingImpl::Mode::kAverage,
                                                      std::move(options))) {}
GlobalMaxPooling1D::GlobalMaxPooling1D(GlobalPoolingOptions options)
    : LayerHolder(
          std::make_shared<GlobalPoolingImpl>("GlobalMaxPooling1D", 1, PoolingImpl::Mode::kMax, std::move(options))) {}
GlobalMaxPooling2D::GlobalMaxPooling2D(GlobalPoolingOptions options)
    : LayerHolder(
          std::make_shared<GlobalPoolingImpl>("GlobalMaxPooling2D", 2, PoolingImpl::Mode::kMax, std::move(options))) {}

KEEL_REGISTER_LAYER("GlobalAveragePooling1D", global_pooling_factory<GlobalAveragePooling1D>());
KEEL_REGISTER_LAYER("GlobalAvgPool1D", global_pooling_factory<GlobalAveragePooling1D>());
KEEL_REGISTER_LAYER("GlobalAveragePooling2D", global_pooling_factory<GlobalAveragePooling2D>());
KEEL_REGISTER_LAYER("GlobalAvgPool2D", global_pooling_factory<GlobalAveragePooling2D>());
KEEL_REGISTER_LAYER("GlobalMaxPooling1D", global_pooling_factory<GlobalMaxPooling1D>());
KEEL_REGISTER_LAYER("GlobalMaxPool1D", global_pooling_factory<GlobalMaxPooling1D>());
KEEL_REGISTER_LAYER("GlobalMaxPooling2D", global_pooling_factory<GlobalMaxPooling2D>());
KEEL_REGISTER_LAYER("GlobalMaxPool2D", global_pooling_factory<GlobalMaxPooling2D>());

}  // namespace keel::layers
