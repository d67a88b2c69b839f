#include "keel/layers/convolutional.h"

#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "layers/config_util.h"
#include "layers/spatial_util.h"

namespace keel::layers {
namespace {

using detail::layer_label;
using detail::tuple_str;

// Keras's BaseConv checks on the standardized kernel size, strides and dilation.
void check_strides_vs_dilation(const std::vector<int64_t>& strides, const std::vector<int64_t>& dilation,
                               const std::string& who) {
  const int64_t max_s = *std::max_element(strides.begin(), strides.end());
  const int64_t max_d = *std::max_element(dilation.begin(), dilation.end());
  KEEL_CHECK(max_s <= 1 || max_d <= 1, ValueError, who,
             ": `strides > 1` not supported in conjunction with `dilation_rate > 1`. Received: strides=",
             tuple_str(strides), " and dilation_rate=", tuple_str(dilation));
}

void check_positive(int64_t value, const char* arg, const std::string& who) {
  KEEL_CHECK(value > 0, ValueError, who, ": invalid value for argument `", arg,
             "`. Expected a strictly positive value. Received ", arg, "=", value);
}

// The channel count of a channels-last input; it must be known to create the weights.
int64_t known_channels(const Shape& input_shape, const std::string& who) {
  const int64_t c = input_shape.back();
  KEEL_CHECK(c != kUnknownDim, ShapeError, who, ": the channel dimension (last axis) of the input shape ",
             partial_shape_str(input_shape), " must be known to build the layer");
  return c;
}

// (batch, *out_spatial, channels) of a convolution, or the zero-or-negative-size ValueError of Keras's
// compute_conv_output_shape listing everything that determines it.
Shape conv_output_shape(const Shape& input_shape, const Shape& kernel_shape, const std::vector<int64_t>& strides,
                        const std::vector<int64_t>& dilation, const std::string& padding, int64_t channels,
                        const std::string& who) {
  const int rank = static_cast<int>(strides.size());
  detail::check_spatial_rank(input_shape, rank, who);
  Shape out = input_shape;
  for (int i = 0; i < rank; ++i) {
    out[i + 1] = detail::window_out_extent(input_shape[i + 1], kernel_shape[i], strides[i], dilation[i], padding);
    KEEL_CHECK(
        out[i + 1] == kUnknownDim || out[i + 1] > 0, ValueError, who,
        ": computed output size would be zero or negative. Received inputs shape=", partial_shape_str(input_shape),
        ", kernel shape=", partial_shape_str(kernel_shape), ", dilation_rate=", tuple_str(dilation),
        ", strides=", tuple_str(strides), ", padding=\"", padding, "\"");
  }
  out.back() = channels;
  return out;
}

Shape kernel_shape_of(const std::vector<int64_t>& kernel_size, int64_t in, int64_t out) {
  Shape s(kernel_size.begin(), kernel_size.end());
  s.push_back(in);
  s.push_back(out);
  return s;
}

Tensor add_bias(const Tensor& y, const Variable& bias, bool use_bias) { return use_bias ? y + bias.value() : y; }

// Config entries every convolution writes the same way.
void put_common(nlohmann::json& c, const std::vector<int64_t>& kernel_size, const std::vector<int64_t>& strides,
                const std::string& padding, const std::string& data_format, const std::vector<int64_t>& dilation,
                const ActivationFn& activation, bool use_bias, const Regularizer& bias_regularizer,
                const Regularizer& activity_regularizer, const Constraint& bias_constraint) {
  c["kernel_size"] = kernel_size;
  c["strides"] = strides;
  c["padding"] = padding;
  c["data_format"] = data_format;
  c["dilation_rate"] = dilation;
  c["activation"] = activation.name();
  c["use_bias"] = use_bias;
  c["bias_regularizer"] = bias_regularizer.get_config();
  c["activity_regularizer"] = activity_regularizer.get_config();
  c["bias_constraint"] = bias_constraint.get_config();
}

}  // namespace

// --- Conv1D / Conv2D ---

ConvImpl::ConvImpl(std::string class_name, int rank, int64_t filters, std::vector<int64_t> kernel_size,
                   ConvLayerOptions options)
    : UnaryLayer(std::move(class_name), options.name), rank_(rank), filters_(filters), options_(std::move(options)) {
  set_activity_regularizer(options_.activity_regularizer);
  const std::string who = layer_label(*this);
  kernel_size_ = detail::standardize_tuple(kernel_size, rank, "kernel_size", who);
  options_.strides = detail::standardize_tuple(options_.strides, rank, "strides", who);
  options_.dilation_rate = detail::standardize_tuple(options_.dilation_rate, rank, "dilation_rate", who);
  options_.padding = detail::standardize_padding(options_.padding, who, /*allow_causal=*/rank == 1);
  options_.data_format = detail::standardize_data_format(options_.data_format, who, /*allow_channels_first=*/true);
  check_positive(filters, "filters", who);
  KEEL_CHECK(options_.groups > 0, ValueError, who,
             ": the number of groups must be a positive integer. Received: groups=", options_.groups);
  KEEL_CHECK(filters % options_.groups == 0, ValueError, who,
             ": the number of filters must be evenly divisible by the number of groups. Received: groups=",
             options_.groups, ", filters=", filters);
  check_strides_vs_dilation(options_.strides, options_.dilation_rate, who);
}

void ConvImpl::build(const Shape& input_shape) {
  const std::string who = layer_label(*this);
  const bool first = options_.data_format == "channels_first";
  detail::check_spatial_rank(input_shape, rank_, who);
  const int64_t in = known_channels(first ? detail::to_channels_last(input_shape) : input_shape, who);
  KEEL_CHECK(in % options_.groups == 0, ValueError, who,
             ": the number of input channels must be evenly divisible by the number of groups. Received groups=",
             options_.groups, ", but the input has ", in, " channels (full input shape is ",
             partial_shape_str(input_shape), ")");
  const Shape kshape = kernel_shape_of(kernel_size_, in / options_.groups, filters_);
  compute_output_shape(input_shape);  // rejects geometries with an empty output before creating weights
  kernel_ = add_weight("kernel", kshape, options_.kernel_initializer, true, DType::f32, options_.kernel_regularizer,
                       options_.kernel_constraint);
  if (options_.use_bias)
    bias_ = add_weight("bias", {filters_}, options_.bias_initializer, true, DType::f32, options_.bias_regularizer,
                       options_.bias_constraint);
  input_spec_ = {InputSpec{.ndim = rank_ + 2, .min_ndim = std::nullopt, .axes = {{first ? 1 : -1, in}}}};
  UnaryLayer::build(input_shape);
}

Tensor ConvImpl::call(const Tensor& x, const CallContext& ctx) {
  // channels_first: the same kernel on the transposed input, transposed back (Keras's kernel layout is the same).
  if (options_.data_format == "channels_first") return detail::to_channels_first(call_last(detail::to_channels_last(x), ctx));
  return call_last(x, ctx);
}

Tensor ConvImpl::call_last(const Tensor& x, const CallContext&) {
  ops::ConvOptions o{.strides = options_.strides,
                     .padding = options_.padding,
                     .dilation_rate = options_.dilation_rate,
                     .groups = options_.groups};
  Tensor in = x;
  if (options_.padding == "causal") {
    // Left-pad the time axis by the dilated kernel's reach so output t sees inputs <= t only.
    in = ops::pad(x, {{0, 0}, {options_.dilation_rate[0] * (kernel_size_[0] - 1), 0}, {0, 0}});
    o.padding = "valid";
  }
  Tensor y = rank_ == 1 ? ops::conv1d(in, kernel_.value(), o) : ops::conv2d(in, kernel_.value(), o);
  return options_.activation(add_bias(y, bias_, options_.use_bias));
}

Shape ConvImpl::compute_output_shape(const Shape& input_shape) const {
  if (options_.data_format == "channels_first")
    return detail::to_channels_first(output_shape_last(detail::to_channels_last(input_shape)));
  return output_shape_last(input_shape);
}

Shape ConvImpl::output_shape_last(const Shape& input_shape) const {
  const int64_t in = input_shape.empty() ? kUnknownDim : input_shape.back();
  const Shape kshape = kernel_shape_of(kernel_size_, in == kUnknownDim ? in : in / options_.groups, filters_);
  return conv_output_shape(input_shape, kshape, options_.strides, options_.dilation_rate, options_.padding, filters_,
                           layer_label(*this));
}

nlohmann::json ConvImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = filters_;
  put_common(c, kernel_size_, options_.strides, options_.padding, options_.data_format, options_.dilation_rate,
             options_.activation, options_.use_bias, options_.bias_regularizer, activity_regularizer(),
             options_.bias_constraint);
  c["groups"] = options_.groups;
  c["kernel_initializer"] = options_.kernel_initializer.get_config();
  c["bias_initializer"] = options_.bias_initializer.get_config();
  c["kernel_regularizer"] = options_.kernel_regularizer.get_config();
  c["kernel_constraint"] = options_.kernel_constraint.get_config();
  return c;
}

Conv1D::Conv1D(int64_t filters, std::vector<int64_t> kernel_size, Conv1DOptions options)
    : LayerHolder(std::make_shared<ConvImpl>("Conv1D", 1, filters, std::move(kernel_size), std::move(options))) {}
Conv2D::Conv2D(int64_t filters, std::vector<int64_t> kernel_size, Conv2DOptions options)
    : LayerHolder(std::make_shared<ConvImpl>("Conv2D", 2, filters, std::move(kernel_size), std::move(options))) {}

namespace {
ConvLayerOptions conv_options_from(const nlohmann::json& c) {
  return ConvLayerOptions{.strides = detail::ints_from(c, "strides", {1}),
                          .padding = detail::string_from(c, "padding", "valid"),
                          .data_format = detail::string_from(c, "data_format", "channels_last"),
                          .dilation_rate = detail::ints_from(c, "dilation_rate", {1}),
                          .groups = c.value("groups", int64_t{1}),
                          .activation = detail::activation_from(c),
                          .use_bias = c.value("use_bias", true),
                          .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                          .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                          .kernel_regularizer = detail::regularizer_from(c, "kernel_regularizer"),
                          .bias_regularizer = detail::regularizer_from(c, "bias_regularizer"),
                          .kernel_constraint = detail::constraint_from(c, "kernel_constraint"),
                          .bias_constraint = detail::constraint_from(c, "bias_constraint"),
                          .name = detail::name_from(c)};
}
LayerHandle conv1d_from_config(const nlohmann::json& c) {
  return detail::with_base_config(
      Conv1D(c.at("filters").get<int64_t>(), detail::ints_from(c, "kernel_size", {}), conv_options_from(c)), c);
}
LayerHandle conv2d_from_config(const nlohmann::json& c) {
  return detail::with_base_config(
      Conv2D(c.at("filters").get<int64_t>(), detail::ints_from(c, "kernel_size", {}), conv_options_from(c)), c);
}
}  // namespace

KEEL_REGISTER_LAYER("Conv1D", conv1d_from_config);
KEEL_REGISTER_LAYER("Convolution1D", conv1d_from_config);
KEEL_REGISTER_LAYER("Conv2D", conv2d_from_config);
KEEL_REGISTER_LAYER("Convolution2D", conv2d_from_config);

// --- Conv2DTranspose ---

Conv2DTransposeImpl::Conv2DTransposeImpl(int64_t filters, std::vector<int64_t> kernel_size,
                                         Conv2DTransposeOptions options)
    : UnaryLayer("Conv2DTranspose", options.name), filters_(filters), options_(std::move(options)) {
  set_activity_regularizer(options_.activity_regularizer);
  const std::string who = layer_label(*this);
  kernel_size_ = detail::standardize_tuple(kernel_size, 2, "kernel_size", who);
  options_.strides = detail::standardize_tuple(options_.strides, 2, "strides", who);
  options_.dilation_rate = detail::standardize_tuple(options_.dilation_rate, 2, "dilation_rate", who);
  options_.padding = detail::standardize_padding(options_.padding, who);
  options_.data_format = detail::standardize_data_format(options_.data_format, who, /*allow_channels_first=*/true);
  check_positive(filters, "filters", who);
  if (options_.output_padding) {
    auto& op = *options_.output_padding;
    op = detail::standardize_tuple(op, 2, "output_padding", who, /*allow_zero=*/true);
    for (int i = 0; i < 2; ++i)
      KEEL_CHECK(op[i] < options_.strides[i], ValueError, who,
                 ": `output_padding` must be < `strides`. output_padding=", tuple_str(op),
                 ", strides=", tuple_str(options_.strides));
  }
  check_strides_vs_dilation(options_.strides, options_.dilation_rate, who);
}

void Conv2DTransposeImpl::build(const Shape& input_shape) {
  const std::string who = layer_label(*this);
  const bool first = options_.data_format == "channels_first";
  detail::check_spatial_rank(input_shape, 2, who);
  const int64_t in = known_channels(first ? detail::to_channels_last(input_shape) : input_shape, who);
  compute_output_shape(input_shape);
  // Output channels before input channels: the kernel of the convolution this layer transposes.
  kernel_ = add_weight("kernel", kernel_shape_of(kernel_size_, filters_, in), options_.kernel_initializer, true,
                       DType::f32, options_.kernel_regularizer, options_.kernel_constraint);
  if (options_.use_bias)
    bias_ = add_weight("bias", {filters_}, options_.bias_initializer, true, DType::f32, options_.bias_regularizer,
                       options_.bias_constraint);
  input_spec_ = {InputSpec{.ndim = 4, .min_ndim = std::nullopt, .axes = {{first ? 1 : -1, in}}}};
  UnaryLayer::build(input_shape);
}

Tensor Conv2DTransposeImpl::call(const Tensor& x, const CallContext&) {
  // channels_first: the channels_last computation on the transposed input (the kernel layout is the same).
  const bool first = options_.data_format == "channels_first";
  ops::ConvOptions o{.strides = options_.strides, .padding = options_.padding, .dilation_rate = options_.dilation_rate};
  Tensor y =
      ops::conv2d_transpose(first ? detail::to_channels_last(x) : x, kernel_.value(), o, options_.output_padding);
  y = options_.activation(add_bias(y, bias_, options_.use_bias));
  return first ? detail::to_channels_first(y) : y;
}

Shape Conv2DTransposeImpl::compute_output_shape(const Shape& given_shape) const {
  const std::string who = layer_label(*this);
  detail::check_spatial_rank(given_shape, 2, who);
  const bool first = options_.data_format == "channels_first";
  const Shape input_shape = first ? detail::to_channels_last(given_shape) : given_shape;
  Shape out = input_shape;
  for (int i = 0; i < 2; ++i) {
    const int64_t in = input_shape[i + 1];
    if (in == kUnknownDim) continue;
    const int64_t s = options_.strides[i], keff = (kernel_size_[i] - 1) * options_.dilation_rate[i] + 1;
    const auto& op = options_.output_padding;
    // Keras's deconv_output_length (backend_utils._get_output_shape_given_tf_padding).
    if (options_.padding == "valid")
      out[i + 1] = (in - 1) * s + keff + (op ? (*op)[i] : std::max(keff, s) - keff);
    else
      out[i + 1] = op ? (in - 1) * s + keff % 2 + (*op)[i] : in * s;
    KEEL_CHECK(out[i + 1] > 0, ValueError, who,
               ": computed output size would be zero or negative. Received inputs "
               "shape=",
               partial_shape_str(input_shape), ", kernel_size=", tuple_str(kernel_size_),
               ", dilation_rate=", tuple_str(options_.dilation_rate), ", strides=", tuple_str(options_.strides),
               ", padding=\"", options_.padding, "\"", op ? ", output_padding=" + tuple_str(*op) : std::string());
  }
  out.back() = filters_;
  return first ? detail::to_channels_first(out) : out;
}

nlohmann::json Conv2DTransposeImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["filters"] = filters_;
  put_common(c, kernel_size_, options_.strides, options_.padding, options_.data_format, options_.dilation_rate,
             options_.activation, options_.use_bias, options_.bias_regularizer, activity_regularizer(),
             options_.bias_constraint);
  // Keras leaves output_padding out of its config (so it is lost on reload); Keel keeps it so round trips are exact.
  c["output_padding"] = detail::optional_json(options_.output_padding);
  c["kernel_initializer"] = options_.kernel_initializer.get_config();
  c["bias_initializer"] = options_.bias_initializer.get_config();
  c["kernel_regularizer"] = options_.kernel_regularizer.get_config();
  c["kernel_constraint"] = options_.kernel_constraint.get_config();
  return c;
}

Conv2DTranspose::Conv2DTranspose(int64_t filters, std::vector<int64_t> kernel_size, Conv2DTransposeOptions options)
    : LayerHolder(std::make_shared<Conv2DTransposeImpl>(filters, std::move(kernel_size), std::move(options))) {}

namespace {
LayerHandle conv2d_transpose_from_config(const nlohmann::json& c) {
  return detail::with_base_config(
      Conv2DTranspose(c.at("filters").get<int64_t>(), detail::ints_from(c, "kernel_size", {}),
                      Conv2DTransposeOptions{
                          .strides = detail::ints_from(c, "strides", {1}),
                          .padding = detail::string_from(c, "padding", "valid"),
                          .output_padding = detail::optional_from_json<std::vector<int64_t>>(c, "output_padding"),
                          .data_format = detail::string_from(c, "data_format", "channels_last"),
                          .dilation_rate = detail::ints_from(c, "dilation_rate", {1}),
                          .activation = detail::activation_from(c),
                          .use_bias = c.value("use_bias", true),
                          .kernel_initializer = detail::initializer_from(c, "kernel_initializer", "glorot_uniform"),
                          .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
                          .kernel_regularizer = detail::regularizer_from(c, "kernel_regularizer"),
                          .bias_regularizer = detail::regularizer_from(c, "bias_regularizer"),
                          .kernel_constraint = detail::constraint_from(c, "kernel_constraint"),
                          .bias_constraint = detail::constraint_from(c, "bias_constraint"),
                          .name = detail::name_from(c)}),
      c);
}
}  // namespace

KEEL_REGISTER_LAYER("Conv2DTranspose", conv2d_transpose_from_config);
KEEL_REGISTER_LAYER("Convolution2DTranspose", conv2d_transpose_from_config);

// --- DepthwiseConv2D ---

DepthwiseConv2DImpl::DepthwiseConv2DImpl(std::vector<int64_t> kernel_size, DepthwiseConv2DOptions options)
    : UnaryLayer("DepthwiseConv2D", options.name), options_(std::move(options)) {
  set_activity_regularizer(options_.activity_regularizer);
  const std::string who = layer_label(*this);
  kernel_size_ = detail::standardize_tuple(kernel_size, 2, "kernel_size", who);
  options_.strides = detail::standardize_tuple(options_.strides, 2, "strides", who);
  options_.dilation_rate = detail::standardize_tuple(options_.dilation_rate, 2, "dilation_rate", who);
  options_.padding = detail::standardize_padding(options_.padding, who);
  options_.data_format = detail::standardize_data_format(options_.data_format, who, /*allow_channels_first=*/true);
  check_positive(options_.depth_multiplier, "depth_multiplier", who);
  check_strides_vs_dilation(options_.strides, options_.dilation_rate, who);
}

void DepthwiseConv2DImpl::build(const Shape& input_shape) {
  const std::string who = layer_label(*this);
  const bool first = options_.data_format == "channels_first";
  detail::check_spatial_rank(input_shape, 2, who);
  const int64_t in = known_channels(first ? detail::to_channels_last(input_shape) : input_shape, who);
  compute_output_shape(input_shape);
  kernel_ = add_weight("kernel", kernel_shape_of(kernel_size_, in, options_.depth_multiplier),
                       options_.depthwise_initializer, true, DType::f32, options_.depthwise_regularizer,
                       options_.depthwise_constraint);
  if (options_.use_bias)
    bias_ = add_weight("bias", {in * options_.depth_multiplier}, options_.bias_initializer, true, DType::f32,
                       options_.bias_regularizer, options_.bias_constraint);
  input_spec_ = {InputSpec{.ndim = 4, .min_ndim = std::nullopt, .axes = {{first ? 1 : -1, in}}}};
  UnaryLayer::build(input_shape);
}

Tensor DepthwiseConv2DImpl::call(const Tensor& x, const CallContext&) {
  const bool first = options_.data_format == "channels_first";
  ops::ConvOptions o{.strides = options_.strides, .padding = options_.padding, .dilation_rate = options_.dilation_rate};
  Tensor y = ops::depthwise_conv2d(first ? detail::to_channels_last(x) : x, kernel_.value(), o);
  y = options_.activation(add_bias(y, bias_, options_.use_bias));
  return first ? detail::to_channels_first(y) : y;
}

Shape DepthwiseConv2DImpl::compute_output_shape(const Shape& given_shape) const {
  const bool first = options_.data_format == "channels_first" && given_shape.size() == 4;
  const Shape input_shape = first ? detail::to_channels_last(given_shape) : given_shape;
  const int64_t in = input_shape.empty() ? kUnknownDim : input_shape.back();
  const int64_t out_channels = in == kUnknownDim ? kUnknownDim : in * options_.depth_multiplier;
  const Shape out =
      conv_output_shape(input_shape, kernel_shape_of(kernel_size_, in, options_.depth_multiplier), options_.strides,
                        options_.dilation_rate, options_.padding, out_channels, layer_label(*this));
  return first ? detail::to_channels_first(out) : out;
}

nlohmann::json DepthwiseConv2DImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["depth_multiplier"] = options_.depth_multiplier;
  put_common(c, kernel_size_, options_.strides, options_.padding, options_.data_format, options_.dilation_rate,
             options_.activation, options_.use_bias, options_.bias_regularizer, activity_regularizer(),
             options_.bias_constraint);
  c["depthwise_initializer"] = options_.depthwise_initializer.get_config();
  c["bias_initializer"] = options_.bias_initializer.get_config();
  c["depthwise_regularizer"] = options_.depthwise_regularizer.get_config();
  c["depthwise_constraint"] = options_.depthwise_constraint.get_config();
  return c;
}

DepthwiseConv2D::DepthwiseConv2D(std::vector<int64_t> kernel_size, DepthwiseConv2DOptions options)
    : LayerHolder(std::make_shared<DepthwiseConv2DImpl>(std::move(kernel_size), std::move(options))) {}

KEEL_REGISTER_LAYER("DepthwiseConv2D", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      DepthwiseConv2D(
          detail::ints_from(c, "kernel_size", {}),
          DepthwiseConv2DOptions{
              .strides = detail::ints_from(c, "strides", {1}),
              .padding = detail::string_from(c, "padding", "valid"),
              .depth_multiplier = c.value("depth_multiplier", int64_t{1}),
              .data_format = detail::string_from(c, "data_format", "channels_last"),
              .dilation_rate = detail::ints_from(c, "dilation_rate", {1}),
              .activation = detail::activation_from(c),
              .use_bias = c.value("use_bias", true),
              .depthwise_initializer = detail::initializer_from(c, "depthwise_initializer", "glorot_uniform"),
              .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
              .depthwise_regularizer = detail::regularizer_from(c, "depthwise_regularizer"),
              .bias_regularizer = detail::regularizer_from(c, "bias_regularizer"),
              .depthwise_constraint = detail::constraint_from(c, "depthwise_constraint"),
              .bias_constraint = detail::constraint_from(c, "bias_constraint"),
              .name = detail::name_from(c)}),
      c);
});

// --- SeparableConv2D ---

SeparableConv2DImpl::SeparableConv2DImpl(int64_t filters, std::vector<int64_t> kernel_size,
                                         SeparableConv2DOptions options)
    : UnaryLayer("SeparableConv2D", options.name), filters_(filters), options_(std::move(options)) {
  set_activity_regularizer(options_.activity_regularizer);
  const std::string who = layer_label(*this);
  kernel_size_ = detail::standardize_tuple(kernel_size, 2, "kernel_size", who);
  options_.strides = detail::standardize_tuple(options_.strides, 2, "strides", who);
  options_.dilation_rate = detail::standardize_tuple(options_.dilation_rate, 2, "dilation_rate", who);
  options_.padding = detail::standardize_padding(options_.padding, who);
  options_.data_format = detail::standardize_data_format(options_.data_format, who, /*allow_channels_first=*/true);
  check_positive(filters, "filters", who);
  check_positive(options_.depth_multiplier, "depth_multiplier", who);
  check_strides_vs_dilation(options_.strides, options_.dilation_rate, who);
}

void SeparableConv2DImpl::build(const Shape& input_shape) {
  const std::string who = layer_label(*this);
  const bool first = options_.data_format == "channels_first";
  detail::check_spatial_rank(input_shape, 2, who);
  const int64_t in = known_channels(first ? detail::to_channels_last(input_shape) : input_shape, who);
  compute_output_shape(input_shape);
  const int64_t m = options_.depth_multiplier;
  depthwise_kernel_ =
      add_weight("depthwise_kernel", kernel_shape_of(kernel_size_, in, m), options_.depthwise_initializer, true,
                 DType::f32, options_.depthwise_regularizer, options_.depthwise_constraint);
  pointwise_kernel_ = add_weight("pointwise_kernel", {1, 1, in * m, filters_}, options_.pointwise_initializer, true,
                                 DType::f32, options_.pointwise_regularizer, options_.pointwise_constraint);
  if (options_.use_bias)
    bias_ = add_weight("bias", {filters_}, options_.bias_initializer, true, DType::f32, options_.bias_regularizer,
                       options_.bias_constraint);
  input_spec_ = {InputSpec{.ndim = 4, .min_ndim = std::nullopt, .axes = {{first ? 1 : -1, in}}}};
  UnaryLayer::build(input_shape);
}

Tensor SeparableConv2DImpl::call(const Tensor& x, const CallContext&) {
  const bool first = options_.data_format == "channels_first";
  ops::ConvOptions o{.strides = options_.strides, .padding = options_.padding, .dilation_rate = options_.dilation_rate};
  Tensor depthwise = ops::depthwise_conv2d(first ? detail::to_channels_last(x) : x, depthwise_kernel_.value(), o);
  Tensor y = ops::conv2d(depthwise, pointwise_kernel_.value());  // 1x1, stride 1, valid
  y = options_.activation(add_bias(y, bias_, options_.use_bias));
  return first ? detail::to_channels_first(y) : y;
}

Shape SeparableConv2DImpl::compute_output_shape(const Shape& given_shape) const {
  const bool first = options_.data_format == "channels_first" && given_shape.size() == 4;
  const Shape input_shape = first ? detail::to_channels_last(given_shape) : given_shape;
  const int64_t in = input_shape.empty() ? kUnknownDim : input_shape.back();
  const Shape out =
      conv_output_shape(input_shape, kernel_shape_of(kernel_size_, in, options_.depth_multiplier), options_.strides,
                        options_.dilation_rate, options_.padding, filters_, layer_label(*this));
  return first ? detail::to_channels_first(out) : out;
}

nlohmann::json SeparableConv2DImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["depth_multiplier"] = options_.depth_multiplier;
  c["filters"] = filters_;
  put_common(c, kernel_size_, options_.strides, options_.padding, options_.data_format, options_.dilation_rate,
             options_.activation, options_.use_bias, options_.bias_regularizer, activity_regularizer(),
             options_.bias_constraint);
  c["depthwise_initializer"] = options_.depthwise_initializer.get_config();
  c["pointwise_initializer"] = options_.pointwise_initializer.get_config();
  c["bias_initializer"] = options_.bias_initializer.get_config();
  c["depthwise_regularizer"] = options_.depthwise_regularizer.get_config();
  c["pointwise_regularizer"] = options_.pointwise_regularizer.get_config();
  c["depthwise_constraint"] = options_.depthwise_constraint.get_config();
  c["pointwise_constraint"] = options_.pointwise_constraint.get_config();
  return c;
}

SeparableConv2D::SeparableConv2D(int64_t filters, std::vector<int64_t> kernel_size, SeparableConv2DOptions options)
    : LayerHolder(std::make_shared<SeparableConv2DImpl>(filters, std::move(kernel_size), std::move(options))) {}

namespace {
LayerHandle separable_conv2d_from_config(const nlohmann::json& c) {
  return detail::with_base_config(
      SeparableConv2D(
          c.at("filters").get<int64_t>(), detail::ints_from(c, "kernel_size", {}),
          SeparableConv2DOptions{
              .strides = detail::ints_from(c, "strides", {1}),
              .padding = detail::string_from(c, "padding", "valid"),
              .data_format = detail::string_from(c, "data_format", "channels_last"),
              .dilation_rate = detail::ints_from(c, "dilation_rate", {1}),
              .depth_multiplier = c.value("depth_multiplier", int64_t{1}),
              .activation = detail::activation_from(c),
              .use_bias = c.value("use_bias", true),
              .depthwise_initializer = detail::initializer_from(c, "depthwise_initializer", "glorot_uniform"),
              .pointwise_initializer = detail::initializer_from(c, "pointwise_initializer", "glorot_uniform"),
              .bias_initializer = detail::initializer_from(c, "bias_initializer", "zeros"),
              .depthwise_regularizer = detail::regularizer_from(c, "depthwise_regularizer"),
              .pointwise_regularizer = detail::regularizer_from(c, "pointwise_regularizer"),
              .bias_regularizer = detail::regularizer_from(c, "bias_regularizer"),
              .depthwise_constraint = detail::constraint_from(c, "depthwise_constraint"),
              .pointwise_constraint = detail::constraint_from(c, "pointwise_constraint"),
              .bias_constraint = detail::constraint_from(c, "bias_constraint"),
              .name = detail::name_from(c)}),
      c);
}
}  // namespace

KEEL_REGISTER_LAYER("SeparableConv2D", separable_conv2d_from_config);
KEEL_REGISTER_LAYER("SeparableConvolution2D", separable_conv2d_from_config);

}  // namespace keel::layers
