#include "keel/layers/normalization.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "keel/core/grad_mode.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/nn.h"
#include "keel/ops/reduction.h"
#include "layers/config_util.h"

namespace keel::layers {
namespace {

// Normalisation runs in float32 at least (Keras casts half-precision inputs up, as they overflow easily);
// float64 stays float64.
DType compute_dtype(DType input) { return input == DType::f64 ? DType::f64 : DType::f32; }

// Half-precision results go back to the input's dtype; everything else keeps the compute dtype.
DType output_dtype(DType input) { return (input == DType::f16 || input == DType::bf16) ? input : compute_dtype(input); }

Tensor value_as(const Variable& v, DType dtype) { return v.defined() ? ops::cast(v.value(), dtype) : Tensor(); }

template <class Options>
void add_regularizer_fields(nlohmann::json& c, const Options& o) {
  c["beta_regularizer"] = o.beta_regularizer.get_config();
  c["gamma_regularizer"] = o.gamma_regularizer.get_config();
  c["beta_constraint"] = o.beta_constraint.get_config();
  c["gamma_constraint"] = o.gamma_constraint.get_config();
}

// The beta/gamma initializers, regularizers and constraints of a normalization layer's config, into `o`.
template <class Options>
Options with_beta_gamma_from(const nlohmann::json& c, Options o) {
  o.beta_initializer = detail::initializer_from(c, "beta_initializer", "zeros");
  o.gamma_initializer = detail::initializer_from(c, "gamma_initializer", "ones");
  o.beta_regularizer = detail::regularizer_from(c, "beta_regularizer");
  o.gamma_regularizer = detail::regularizer_from(c, "gamma_regularizer");
  o.beta_constraint = detail::constraint_from(c, "beta_constraint");
  o.gamma_constraint = detail::constraint_from(c, "gamma_constraint");
  return o;
}

// NormalizationAxes as a config holds them (an int or a list) and back.
nlohmann::json axes_json(const NormalizationAxes& a) {
  return a.is_list ? nlohmann::json(a.axes) : nlohmann::json(a.axes[0]);
}

NormalizationAxes axes_from(const nlohmann::json& c) {
  const nlohmann::json axis = c.value("axis", nlohmann::json(-1));
  return axis.is_array() ? NormalizationAxes(axis.get<std::vector<int64_t>>()) : NormalizationAxes(axis.get<int64_t>());
}

}  // namespace

// --- BatchNormalization ---

BatchNormalizationImpl::BatchNormalizationImpl(BatchNormalizationOptions options)
    : UnaryLayer("BatchNormalization", options.name), options_(std::move(options)) {
  KEEL_CHECK(options_.epsilon >= 0, ValueError, "Layer \"", name(),
             "\": epsilon must be >= 0, received epsilon=", options_.epsilon);
  set_supports_masking(true);
}

void BatchNormalizationImpl::build(const Shape& input_shape) {
  const int64_t rank = static_cast<int64_t>(input_shape.size());
  KEEL_CHECK(options_.axis >= -rank && options_.axis < rank, ValueError, "Layer \"", name(),
             "\" (BatchNormalization): axis ", options_.axis, " is out of range for input shape ",
             partial_shape_str(input_shape));
  const int64_t axis = options_.axis < 0 ? options_.axis + rank : options_.axis;
  const int64_t channels = input_shape[axis];
  KEEL_CHECK(channels != kUnknownDim, ShapeError, "Layer \"", name(), "\" (BatchNormalization): axis ", options_.axis,
             " of the input shape ", partial_shape_str(input_shape), " must be known to build the layer");
  // Keras's creation order: gamma, beta, then the non-trainable moving statistics.
  if (options_.scale)
    gamma_ = add_weight("gamma", {channels}, options_.gamma_initializer, true, DType::f32, options_.gamma_regularizer,
                        options_.gamma_constraint);
  if (options_.center)
    beta_ = add_weight("beta", {channels}, options_.beta_initializer, true, DType::f32, options_.beta_regularizer,
                       options_.beta_constraint);
  moving_mean_ = add_weight("moving_mean", {channels}, options_.moving_mean_initializer, /*trainable=*/false);
  moving_variance_ =
      add_weight("moving_variance", {channels}, options_.moving_variance_initializer, /*trainable=*/false);
  input_spec_ = {InputSpec{.ndim = rank, .min_ndim = std::nullopt, .axes = {{options_.axis, channels}}}};
  UnaryLayer::build(input_shape);
}

namespace {
// Keras's _moments(inputs, mask): the statistics over the kept positions only, Σ(m·x) / (Σm + 1e-7), for a
// mask of every axis but the channels (last).
ops::BatchNormTrainResult masked_batch_norm_train(const Tensor& x, const Tensor& mask, const Tensor& gamma,
                                                  const Tensor& beta, int64_t axis, double epsilon,
                                                  const std::string& layer) {
  const int64_t rank = x.ndim();
  KEEL_CHECK(mask.ndim() == rank - 1 && (axis == -1 || axis == rank - 1), UnimplementedError, "Layer \"", layer,
             "\" (BatchNormalization): a mask is supported for the last axis with a mask of the other axes; received "
             "input ",
             shape_str(x.shape()), ", mask ", shape_str(mask.shape()), ", axis ", axis);
  ops::Axes reduce;
  for (int64_t a = 0; a < rank - 1; ++a) reduce.push_back(a);
  const Tensor w = ops::expand_dims(ops::cast(mask, x.dtype()), -1);
  const Tensor count = ops::sum(w, reduce) + 1e-7;
  const Tensor mean = ops::sum(w * x, reduce) / count;
  const Tensor variance = ops::sum(w * ops::square(w * x - mean), reduce) / count;
  Tensor y = (x - mean) * ops::rsqrt(variance + epsilon);
  if (gamma.defined()) y = y * gamma;  // scale=false / center=false leave them out
  if (beta.defined()) y = y + beta;
  return {y, mean, variance};
}
}  // namespace

Tensor BatchNormalizationImpl::call(const Tensor& x, const CallContext& ctx) {
  const DType dtype = compute_dtype(x.dtype());
  const Tensor xc = ops::cast(x, dtype);
  Tensor y;
  // A frozen layer (trainable == false) runs in inference mode even when training, as in Keras.
  if (ctx.training && trainable()) {
    KEEL_CHECK(!options_.synchronized || replicas_in_sync() == 1, UnimplementedError, "BatchNormalization '", name(),
               "': synchronized=true across ", replicas_in_sync(),
               " replicas is not implemented yet; use "
               "synchronized=false (per-replica batch statistics, Keras's default)");
    const Tensor mask = ctx.mask();
    ops::BatchNormTrainResult r =
        mask.defined() ? masked_batch_norm_train(xc, mask, value_as(gamma_, dtype), value_as(beta_, dtype),
                                                 options_.axis, options_.epsilon, name())
                       : ops::batch_norm_train(xc, value_as(gamma_, dtype), value_as(beta_, dtype), options_.axis,
                                               options_.epsilon);
    NoGradGuard no_grad;
    const double m = options_.momentum;
    moving_mean_.assign(value_as(moving_mean_, dtype) * m + r.mean.detach() * (1.0 - m));
    moving_variance_.assign(value_as(moving_variance_, dtype) * m + r.variance.detach() * (1.0 - m));
    y = r.y;
  } else {
    y = ops::batch_norm_inference(xc, value_as(moving_mean_, dtype), value_as(moving_variance_, dtype),
                                  value_as(gamma_, dtype), value_as(beta_, dtype), options_.axis, options_.epsilon);
  }
  return ops::cast(y, output_dtype(x.dtype()));
}

Shape BatchNormalizationImpl::compute_output_shape(const Shape& input_shape) const { return input_shape; }

std::vector<DType> BatchNormalizationImpl::compute_output_dtype(const std::vector<DType>& input_dtypes,
                                                                const std::vector<Shape>&) const {
  return {output_dtype(input_dtypes.at(0))};
}

nlohmann::json BatchNormalizationImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = options_.axis;
  c["momentum"] = options_.momentum;
  c["epsilon"] = options_.epsilon;
  c["center"] = options_.center;
  c["scale"] = options_.scale;
  c["beta_initializer"] = options_.beta_initializer.get_config();
  c["gamma_initializer"] = options_.gamma_initializer.get_config();
  c["moving_mean_initializer"] = options_.moving_mean_initializer.get_config();
  c["moving_variance_initializer"] = options_.moving_variance_initializer.get_config();
  add_regularizer_fields(c, options_);
  c["synchronized"] = options_.synchronized;
  return c;
}

BatchNormalization::BatchNormalization(BatchNormalizationOptions options)
    : LayerHolder(std::make_shared<BatchNormalizationImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("BatchNormalization", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      BatchNormalization(with_beta_gamma_from(
          c,
          BatchNormalizationOptions{
              .axis = c.value("axis", int64_t{-1}),
              .momentum = c.value("momentum", 0.99),
              .epsilon = c.value("epsilon", 1e-3),
              .center = c.value("center", true),
              .scale = c.value("scale", true),
              .moving_mean_initializer = detail::initializer_from(c, "moving_mean_initializer", "zeros"),
              .moving_variance_initializer = detail::initializer_from(c, "moving_variance_initializer", "ones"),
              .synchronized = c.value("synchronized", false),
              .name = detail::name_from(c)})),
      c);
});

// --- LayerNormalization ---

LayerNormalizationImpl::LayerNormalizationImpl(LayerNormalizationOptions options)
    : UnaryLayer("LayerNormalization", options.name), options_(std::move(options)) {
  set_supports_masking(true);
  KEEL_CHECK(!options_.axis.axes.empty(), ValueError, "Layer \"", name(),
             "\" (LayerNormalization): `axis` must name at least one axis");
  KEEL_CHECK(options_.epsilon >= 0, ValueError, "Layer \"", name(),
             "\": epsilon must be >= 0, received epsilon=", options_.epsilon);
}

std::vector<int64_t> LayerNormalizationImpl::normalized_axes(int64_t rank) const {
  std::vector<int64_t> out;
  for (int64_t a : options_.axis.axes) {
    KEEL_CHECK(a >= -rank && a < rank, ValueError, "Layer \"", name(), "\" (LayerNormalization): axis ", a,
               " is out of bounds for an input of rank ", rank);
    const int64_t n = a < 0 ? a + rank : a;
    KEEL_CHECK(std::find(out.begin(), out.end(), n) == out.end(), ValueError, "Layer \"", name(),
               "\" (LayerNormalization): axis ", a, " is listed twice (axes ", shape_str(options_.axis.axes), ")");
    out.push_back(n);
  }
  return out;
}

void LayerNormalizationImpl::build(const Shape& input_shape) {
  const int64_t rank = static_cast<int64_t>(input_shape.size());
  InputSpec spec;
  Shape param_shape;
  int64_t min_ndim = 0;
  const std::vector<int64_t> axes = normalized_axes(rank);
  for (size_t i = 0; i < options_.axis.axes.size(); ++i) {
    const int64_t user_axis = options_.axis.axes[i];
    const int64_t size = input_shape[axes[i]];
    KEEL_CHECK(size != kUnknownDim, ShapeError, "Layer \"", name(), "\" (LayerNormalization): axis ", user_axis,
               " of the input shape ", partial_shape_str(input_shape), " must be known to build the layer");
    param_shape.push_back(size);
    spec.axes[user_axis] = size;
    min_ndim = std::max(min_ndim, user_axis < 0 ? -user_axis : user_axis + 1);
  }
  if (options_.scale)
    gamma_ = add_weight("gamma", param_shape, options_.gamma_initializer, true, DType::f32, options_.gamma_regularizer,
                        options_.gamma_constraint);
  if (options_.center)
    beta_ = add_weight("beta", param_shape, options_.beta_initializer, true, DType::f32, options_.beta_regularizer,
                       options_.beta_constraint);
  spec.min_ndim = min_ndim;
  input_spec_ = {spec};
  UnaryLayer::build(input_shape);
}

Tensor LayerNormalizationImpl::call(const Tensor& x, const CallContext&) {
  const DType dtype = compute_dtype(x.dtype());
  const Tensor xc = ops::cast(x, dtype);
  const Tensor gamma = value_as(gamma_, dtype), beta = value_as(beta_, dtype);
  const int64_t rank = xc.ndim();
  const std::vector<int64_t> axes = normalized_axes(rank);
  const int64_t n = static_cast<int64_t>(axes.size());
  std::vector<int64_t> tail;
  for (int64_t i = rank - n; i < rank; ++i) tail.push_back(i);

  Tensor y;
  if (axes == tail) {
    y = ops::layer_norm(xc, gamma, beta, tail, options_.epsilon);
  } else {
    // The kernel normalises trailing axes: move the normalised axes to the end, in the order gamma has them.
    std::vector<int64_t> perm;
    for (int64_t d = 0; d < rank; ++d)
      if (std::find(axes.begin(), axes.end(), d) == axes.end()) perm.push_back(d);
    perm.insert(perm.end(), axes.begin(), axes.end());
    std::vector<int64_t> inverse(rank);
    for (int64_t i = 0; i < rank; ++i) inverse[perm[i]] = i;
    y = ops::transpose(ops::layer_norm(ops::transpose(xc, perm), gamma, beta, tail, options_.epsilon), inverse);
  }
  return ops::cast(y, output_dtype(x.dtype()));
}

Shape LayerNormalizationImpl::compute_output_shape(const Shape& input_shape) const {
  normalized_axes(static_cast<int64_t>(input_shape.size()));  // range check, as Keras's
  return input_shape;
}

std::vector<DType> LayerNormalizationImpl::compute_output_dtype(const std::vector<DType>& input_dtypes,
                                                                const std::vector<Shape>&) const {
  return {output_dtype(input_dtypes.at(0))};
}

nlohmann::json LayerNormalizationImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = axes_json(options_.axis);
  c["epsilon"] = options_.epsilon;
  c["center"] = options_.center;
  c["scale"] = options_.scale;
  c["rms_scaling"] = false;
  c["beta_initializer"] = options_.beta_initializer.get_config();
  c["gamma_initializer"] = options_.gamma_initializer.get_config();
  add_regularizer_fields(c, options_);
  return c;
}

LayerNormalization::LayerNormalization(LayerNormalizationOptions options)
    : LayerHolder(std::make_shared<LayerNormalizationImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("LayerNormalization", [](const nlohmann::json& c) -> LayerHandle {
  // rms_scaling (deprecated in Keras) is not implemented; refuse it rather than normalise differently.
  KEEL_CHECK(!c.value("rms_scaling", false), UnimplementedError,
             "LayerNormalization: rms_scaling=True is not supported (layer \"", detail::name_from(c), "\")");
  return detail::with_base_config(
      LayerNormalization(with_beta_gamma_from(c, LayerNormalizationOptions{.axis = axes_from(c),
                                                                           .epsilon = c.value("epsilon", 1e-3),
                                                                           .center = c.value("center", true),
                                                                           .scale = c.value("scale", true),
                                                                           .name = detail::name_from(c)})),
      c);
});

// --- GroupNormalization ---

GroupNormalizationImpl::GroupNormalizationImpl(GroupNormalizationOptions options)
    : UnaryLayer("GroupNormalization", options.name), options_(std::move(options)) {
  set_supports_masking(true);
  KEEL_CHECK(options_.groups > 0 || options_.groups == -1, ValueError, "Layer \"", name(),
             "\" (GroupNormalization): groups must be positive or -1; received groups=", options_.groups);
}

void GroupNormalizationImpl::build(const Shape& input_shape) {
  const int64_t rank = static_cast<int64_t>(input_shape.size());
  const int64_t axis = options_.axis < 0 ? options_.axis + rank : options_.axis;
  KEEL_CHECK(axis >= 1 && axis < rank, ValueError, "Layer \"", name(), "\" (GroupNormalization): axis ", options_.axis,
             " is out of range for an input of shape ", partial_shape_str(input_shape),
             " (it must name a non-batch axis)");
  const int64_t channels = input_shape[axis];
  KEEL_CHECK(channels != kUnknownDim, ValueError, "Axis ", options_.axis,
             " of input tensor should have a defined dimension but the layer received an input with shape ",
             partial_shape_str(input_shape), ".");
  groups_ = options_.groups == -1 ? channels : options_.groups;
  KEEL_CHECK(groups_ <= channels, ValueError, "Number of groups (", groups_,
             ") cannot be more than the number of channels (", channels, ").");
  KEEL_CHECK(channels % groups_ == 0, ValueError, "Number of groups (", groups_,
             ") must be a multiple of the number of channels (", channels, ").");
  if (options_.scale)
    gamma_ = add_weight("gamma", {channels}, options_.gamma_initializer, true, DType::f32, options_.gamma_regularizer,
                        options_.gamma_constraint);
  if (options_.center)
    beta_ = add_weight("beta", {channels}, options_.beta_initializer, true, DType::f32, options_.beta_regularizer,
                       options_.beta_constraint);
  InputSpec spec;
  spec.ndim = rank;
  spec.axes[options_.axis] = channels;
  input_spec_ = {spec};
  UnaryLayer::build(input_shape);
}

Tensor GroupNormalizationImpl::call(const Tensor& x, const CallContext&) {
  const Shape& shape = x.shape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t axis = options_.axis < 0 ? options_.axis + rank : options_.axis;
  const int64_t channels = shape[axis];
  // (..., C, ...) -> (..., groups, C / groups, ...); statistics over every axis but batch and groups.
  Shape grouped(shape.begin(), shape.begin() + axis);
  grouped.push_back(groups_);
  grouped.push_back(channels / groups_);
  grouped.insert(grouped.end(), shape.begin() + axis + 1, shape.end());
  const Tensor xg = ops::reshape(x, grouped);
  std::vector<int64_t> reduce;
  for (int64_t a = 1; a < rank + 1; ++a)
    if (a != axis) reduce.push_back(a);
  const Tensor mean = ops::mean(xg, reduce, true);
  const Tensor var = ops::var(xg, reduce, true);
  Tensor y = ops::reshape((xg - mean) * ops::rsqrt(var + options_.epsilon), shape);
  Shape param_shape(static_cast<size_t>(rank), 1);
  param_shape[axis] = channels;
  if (gamma_.defined()) y = y * ops::reshape(gamma_.value(), param_shape);
  if (beta_.defined()) y = y + ops::reshape(beta_.value(), param_shape);
  return y;
}

nlohmann::json GroupNormalizationImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["groups"] = options_.groups;
  c["axis"] = options_.axis;
  c["epsilon"] = options_.epsilon;
  c["center"] = options_.center;
  c["scale"] = options_.scale;
  c["beta_initializer"] = options_.beta_initializer.get_config();
  c["gamma_initializer"] = options_.gamma_initializer.get_config();
  add_regularizer_fields(c, options_);
  return c;
}

GroupNormalization::GroupNormalization(GroupNormalizationOptions options)
    : LayerHolder(std::make_shared<GroupNormalizationImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("GroupNormalization", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      GroupNormalization(with_beta_gamma_from(c, GroupNormalizationOptions{.groups = c.value("groups", int64_t{32}),
                                                                           .axis = c.value("axis", int64_t{-1}),
                                                                           .epsilon = c.value("epsilon", 1e-3),
                                                                           .center = c.value("center", true),
                                                                           .scale = c.value("scale", true),
                                                                           .name = detail::name_from(c)})),
      c);
});

// --- UnitNormalization ---

UnitNormalizationImpl::UnitNormalizationImpl(UnitNormalizationOptions options)
    : UnaryLayer("UnitNormalization", options.name), options_(std::move(options)) {
  set_supports_masking(true);
}

Tensor UnitNormalizationImpl::call(const Tensor& x, const CallContext&) {
  const int64_t rank = x.ndim();
  std::vector<int64_t> axes;
  for (int64_t a : options_.axis.axes) {
    KEEL_CHECK(a >= -rank && a < rank, ValueError, "Layer \"", name(), "\" (UnitNormalization): axis ", a,
               " is out of range for an input of shape ", shape_str(x.shape()));
    axes.push_back(a < 0 ? a + rank : a);
  }
  const Tensor inv_norm =
      ops::minimum(ops::rsqrt(ops::sum(ops::square(x), axes, true)), scalar_tensor(1e12, x.dtype(), x.device()));
  return x * inv_norm;
}

nlohmann::json UnitNormalizationImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = axes_json(options_.axis);
  return c;
}

UnitNormalization::UnitNormalization(UnitNormalizationOptions options)
    : LayerHolder(std::make_shared<UnitNormalizationImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("UnitNormalization", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(UnitNormalization({.axis = axes_from(c), .name = detail::name_from(c)}), c);
});

}  // namespace keel::layers
