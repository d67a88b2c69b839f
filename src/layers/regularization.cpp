#include "keel/layers/regularization.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/core/random.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/nn.h"
#include "layers/config_util.h"

namespace keel::layers {
namespace {

// A seeded layer walks its own stream: each call gets a fresh key derived from (seed, call index), so
// draws differ between steps yet the sequence repeats for the same seed. The first call uses `seed` itself.
std::optional<uint64_t> next_seed(const std::optional<uint64_t>& seed, uint64_t& calls) {
  if (!seed) return std::nullopt;
  return *seed + 0x9E3779B97F4A7C15ULL * calls++;
}

// Keras's SpatialDropout noise shape: unknown (the input's) batch and channels, 1 on the spatial axes.
Shape spatial_noise_shape(int spatial_dims, bool channels_first) {
  Shape noise(static_cast<size_t>(spatial_dims + 2), 1);
  noise[0] = kUnknownDim;
  noise[channels_first ? 1 : noise.size() - 1] = kUnknownDim;
  return noise;
}

std::string spatial_data_format(int spatial_dims, const std::string& data_format) {
  const std::string f = data_format.empty() ? "channels_last" : data_format;
  KEEL_CHECK(f == "channels_last" || f == "channels_first", ValueError,
             "The `data_format` argument must be one of \"channels_first\", \"channels_last\". Received: ",
             "data_format=\"", data_format, "\"");
  KEEL_CHECK(spatial_dims > 1 || f == "channels_last", ValueError, "SpatialDropout1D takes channels_last inputs ",
             "(batch, steps, channels); received data_format=\"", data_format, "\"");
  return f;
}

}  // namespace

DropoutImpl::DropoutImpl(double rate, DropoutOptions options) : DropoutImpl("Dropout", rate, std::move(options)) {}

DropoutImpl::DropoutImpl(std::string class_name, double rate, DropoutOptions options)
    : UnaryLayer(std::move(class_name), options.name), rate_(rate), options_(std::move(options)) {
  set_supports_masking(true);
  KEEL_CHECK(
      rate >= 0.0 && rate <= 1.0, ValueError,
      "Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: rate=", rate);
  if (options_.noise_shape)
    for (int64_t d : *options_.noise_shape)
      KEEL_CHECK(d > 0 || d == kUnknownDim, ValueError, "Dropout: every entry of `noise_shape` must be positive or ",
                 "kUnknownDim (None). Received: noise_shape=", partial_shape_str(*options_.noise_shape));
}

Shape DropoutImpl::concrete_noise_shape(const Shape& input_shape) const {
  if (!options_.noise_shape) return input_shape;
  const Shape& noise = *options_.noise_shape;
  KEEL_CHECK(noise.size() == input_shape.size(), ShapeError, "Layer \"", name(), "\": noise_shape ",
             partial_shape_str(noise), " must have the rank of the input, whose shape is ",
             partial_shape_str(input_shape));
  Shape out(noise.size());
  for (size_t i = 0; i < noise.size(); ++i) {
    out[i] = noise[i] == kUnknownDim ? input_shape[i] : noise[i];
    KEEL_CHECK(out[i] == 1 || out[i] == input_shape[i] || input_shape[i] == kUnknownDim, ShapeError, "Layer \"", name(),
               "\": noise_shape ", partial_shape_str(noise), " does not broadcast to the input shape ",
               partial_shape_str(input_shape), " (axis ", i, ")");
  }
  return out;
}

void DropoutImpl::build(const Shape& input_shape) {
  concrete_noise_shape(input_shape);  // rejects a noise shape that cannot broadcast, before any call
  if (options_.noise_shape) {
    InputSpec spec;
    spec.ndim = static_cast<int64_t>(input_shape.size());
    input_spec_ = {spec};
  }
  UnaryLayer::build(input_shape);
}

Tensor DropoutImpl::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training || rate_ == 0.0) return x;
  const Shape noise = concrete_noise_shape(x.shape());
  if (rate_ == 1.0) {
    // Everything dropped; `where` keeps the result connected to x (zero gradient) without 0·inf = NaN.
    return ops::where(zeros(noise, x.dtype(), x.device()), x, zeros({}, x.dtype(), x.device()));
  }
  const std::optional<uint64_t> seed = next_call_seed();
  if (noise == x.shape()) return ops::dropout(x, rate_, seed);
  const Tensor mask = ops::dropout(ones(noise, x.dtype(), x.device()), rate_, seed);  // 0 or 1/(1 - rate)
  return x * mask;
}

std::optional<uint64_t> DropoutImpl::next_call_seed() { return next_seed(options_.seed, seeded_calls_); }

nlohmann::json DropoutImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = rate_;
  c["seed"] = detail::optional_json(options_.seed);
  c["noise_shape"] = options_.noise_shape ? detail::shape_json(*options_.noise_shape) : nlohmann::json(nullptr);
  return c;
}

Dropout::Dropout(double rate, DropoutOptions options)
    : LayerHolder(std::make_shared<DropoutImpl>(rate, std::move(options))) {}

KEEL_REGISTER_LAYER("Dropout", [](const nlohmann::json& c) -> LayerHandle {
  std::optional<Shape> noise_shape;
  if (c.contains("noise_shape") && !c.at("noise_shape").is_null())
    noise_shape = detail::shape_from_json(c.at("noise_shape"));
  return detail::with_base_config(
      Dropout(c.at("rate").get<double>(), {.noise_shape = std::move(noise_shape),
                                           .seed = detail::optional_from_json<uint64_t>(c, "seed"),
                                           .name = detail::name_from(c)}),
      c);
});

// --- AlphaDropout ---

AlphaDropoutImpl::AlphaDropoutImpl(double rate, DropoutOptions options)
    : DropoutImpl("AlphaDropout", rate, std::move(options)) {
  KEEL_CHECK(rate < 1.0, ValueError, "AlphaDropout: rate must be in [0, 1) (at 1 the restoring scale is infinite); ",
             "received rate=", rate);
}

Tensor AlphaDropoutImpl::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training || rate() == 0.0) return x;
  constexpr double alpha = 1.6732632423543772848170429916717, scale = 1.0507009873554804934193349852946;
  const double alpha_p = -alpha * scale;
  const double r = rate();
  const Tensor draws = random::uniform(concrete_noise_shape(x.shape()), 0.0, 1.0, x.dtype(), next_call_seed());
  const Tensor kept = ops::cast(ops::greater_equal(draws, scalar_tensor(r, x.dtype())), x.dtype()).to(x.device());
  const double a = std::pow((1.0 - r) * (1.0 + r * alpha_p * alpha_p), -0.5);
  const double b = -a * alpha_p * r;
  return a * (x * kept + alpha_p * (1.0 - kept)) + b;
}

AlphaDropout::AlphaDropout(double rate, DropoutOptions options)
    : LayerHolder(std::make_shared<AlphaDropoutImpl>(rate, std::move(options))) {}

KEEL_REGISTER_LAYER("AlphaDropout", [](const nlohmann::json& c) -> LayerHandle {
  std::optional<Shape> noise_shape;
  if (c.contains("noise_shape") && !c.at("noise_shape").is_null())
    noise_shape = detail::shape_from_json(c.at("noise_shape"));
  return detail::with_base_config(
      AlphaDropout(c.at("rate").get<double>(), {.noise_shape = std::move(noise_shape),
                                                .seed = detail::optional_from_json<uint64_t>(c, "seed"),
                                                .name = detail::name_from(c)}),
      c);
});

// --- SpatialDropout1D/2D/3D ---

SpatialDropoutImpl::SpatialDropoutImpl(int spatial_dims, double rate, SpatialDropoutOptions options)
    : DropoutImpl("SpatialDropout" + std::to_string(spatial_dims) + "D", rate,
                  {.noise_shape = spatial_noise_shape(
                       spatial_dims, spatial_data_format(spatial_dims, options.data_format) == "channels_first"),
                   .seed = options.seed,
                   .name = options.name}),
      spatial_dims_(spatial_dims),
      data_format_(spatial_data_format(spatial_dims, options.data_format)) {
  InputSpec spec;
  spec.ndim = spatial_dims + 2;
  input_spec_ = {spec};
}

nlohmann::json SpatialDropoutImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = rate();
  c["seed"] = detail::optional_json(seed());
  if (spatial_dims_ > 1) c["data_format"] = data_format_;
  return c;
}

SpatialDropout1D::SpatialDropout1D(double rate, SpatialDropoutOptions options)
    : LayerHolder(std::make_shared<SpatialDropoutImpl>(1, rate, std::move(options))) {}
SpatialDropout2D::SpatialDropout2D(double rate, SpatialDropoutOptions options)
    : LayerHolder(std::make_shared<SpatialDropoutImpl>(2, rate, std::move(options))) {}
SpatialDropout3D::SpatialDropout3D(double rate, SpatialDropoutOptions options)
    : LayerHolder(std::make_shared<SpatialDropoutImpl>(3, rate, std::move(options))) {}

namespace {
template <class L>
LayerHandle spatial_dropout_from_config(const nlohmann::json& c) {
  return detail::with_base_config(
      L(c.at("rate").get<double>(), {.data_format = c.value("data_format", std::string()),
                                     .seed = detail::optional_from_json<uint64_t>(c, "seed"),
                                     .name = detail::name_from(c)}),
      c);
}
}  // namespace

KEEL_REGISTER_LAYER("SpatialDropout1D", spatial_dropout_from_config<SpatialDropout1D>);
KEEL_REGISTER_LAYER("SpatialDropout2D", spatial_dropout_from_config<SpatialDropout2D>);
KEEL_REGISTER_LAYER("SpatialDropout3D", spatial_dropout_from_config<SpatialDropout3D>);

// --- GaussianNoise ---

GaussianNoiseImpl::GaussianNoiseImpl(double stddev, GaussianOptions options)
    : UnaryLayer("GaussianNoise", options.name), stddev_(stddev), options_(std::move(options)) {
  set_supports_masking(true);
  KEEL_CHECK(stddev >= 0.0, ValueError, "Invalid value received for argument `stddev`. Expected a float value >= 0. ",
             "Received: stddev=", stddev);
}

Tensor GaussianNoiseImpl::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training || stddev_ == 0.0) return x;
  const Tensor noise = random::normal(x.shape(), 0.0, stddev_, x.dtype(), next_seed(options_.seed, seeded_calls_));
  return x + noise.to(x.device());
}

nlohmann::json GaussianNoiseImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["stddev"] = stddev_;
  c["seed"] = detail::optional_json(options_.seed);
  return c;
}

GaussianNoise::GaussianNoise(double stddev, GaussianOptions options)
    : LayerHolder(std::make_shared<GaussianNoiseImpl>(stddev, std::move(options))) {}

KEEL_REGISTER_LAYER("GaussianNoise", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      GaussianNoise(c.at("stddev").get<double>(),
                    {.seed = detail::optional_from_json<uint64_t>(c, "seed"), .name = detail::name_from(c)}),
      c);
});

// --- GaussianDropout ---

GaussianDropoutImpl::GaussianDropoutImpl(double rate, GaussianOptions options)
    : UnaryLayer("GaussianDropout", options.name), rate_(rate), options_(std::move(options)) {
  set_supports_masking(true);
  KEEL_CHECK(rate >= 0.0 && rate < 1.0, ValueError,
             "Invalid value received for argument `rate`. Expected a float value in [0, 1) (at 1 the noise's variance ",
             "is infinite). Received: rate=", rate);
}

Tensor GaussianDropoutImpl::call(const Tensor& x, const CallContext& ctx) {
  if (!ctx.training || rate_ == 0.0) return x;
  const double stddev = std::sqrt(rate_ / (1.0 - rate_));
  const Tensor noise = random::normal(x.shape(), 1.0, stddev, x.dtype(), next_seed(options_.seed, seeded_calls_));
  return x * noise.to(x.device());
}

nlohmann::json GaussianDropoutImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = rate_;
  c["seed"] = detail::optional_json(options_.seed);
  return c;
}

GaussianDropout::GaussianDropout(double rate, GaussianOptions options)
    : LayerHolder(std::make_shared<GaussianDropoutImpl>(rate, std::move(options))) {}

KEEL_REGISTER_LAYER("GaussianDropout", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(
      GaussianDropout(c.at("rate").get<double>(),
                      {.seed = detail::optional_from_json<uint64_t>(c, "seed"), .name = detail::name_from(c)}),
      c);
});

// --- ActivityRegularization ---

ActivityRegularizationImpl::ActivityRegularizationImpl(ActivityRegularizationOptions options)
    : UnaryLayer("ActivityRegularization", options.name), options_(std::move(options)) {
  set_supports_masking(true);
  set_activity_regularizer(regularizers::L1L2({.l1 = options_.l1, .l2 = options_.l2}));
}

nlohmann::json ActivityRegularizationImpl::get_config() const {
  nlohmann::json c = Layer::get_config();
  c.erase("activity_regularizer");
  c["l1"] = options_.l1;
  c["l2"] = options_.l2;
  return c;
}

ActivityRegularization::ActivityRegularization(ActivityRegularizationOptions options)
    : LayerHolder(std::make_shared<ActivityRegularizationImpl>(std::move(options))) {}

KEEL_REGISTER_LAYER("ActivityRegularization", [](const nlohmann::json& c) -> LayerHandle {
  return detail::with_base_config(ActivityRegularization({.l1 = c.value("l1", 0.0),
                                                          .l2 = c.value("l2", 0.0),
                                                          .name = detail::name_from(c)}),
                                  c);
});

}  // namespace keel::layers
