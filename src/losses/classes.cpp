// Loss classes (keras.losses.*): each holds its options and applies its per-sample function.
#include <nlohmann/json.hpp>

#include "keel/losses/losses.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "losses/crossentropy_config.h"

namespace keel::losses {

namespace {
// Keras's default names are fixed strings, not uniquified auto names.
std::string or_default(const std::string& name, const char* fallback) { return name.empty() ? fallback : name; }
}  // namespace

#define KEEL_DEFINE_SIMPLE_LOSS(Class, default_name, fn)                                                         \
  Class::Class(LossOptions options) : Loss(#Class, or_default(options.name, default_name), options.reduction) {} \
  Tensor Class::call(const Tensor& y_true, const Tensor& y_pred) const { return fn(y_true, y_pred); }

KEEL_DEFINE_SIMPLE_LOSS(MeanSquaredError, "mean_squared_error", mean_squared_error)
KEEL_DEFINE_SIMPLE_LOSS(MeanAbsoluteError, "mean_absolute_error", mean_absolute_error)
KEEL_DEFINE_SIMPLE_LOSS(MeanAbsolutePercentageError, "mean_absolute_percentage_error", mean_absolute_percentage_error)
KEEL_DEFINE_SIMPLE_LOSS(MeanSquaredLogarithmicError, "mean_squared_logarithmic_error", mean_squared_logarithmic_error)
KEEL_DEFINE_SIMPLE_LOSS(LogCosh, "log_cosh", log_cosh)
KEEL_DEFINE_SIMPLE_LOSS(Hinge, "hinge", hinge)
KEEL_DEFINE_SIMPLE_LOSS(SquaredHinge, "squared_hinge", squared_hinge)
KEEL_DEFINE_SIMPLE_LOSS(CategoricalHinge, "categorical_hinge", categorical_hinge)
KEEL_DEFINE_SIMPLE_LOSS(KLDivergence, "kl_divergence", kl_divergence)
KEEL_DEFINE_SIMPLE_LOSS(Poisson, "poisson", poisson)
#undef KEEL_DEFINE_SIMPLE_LOSS

// --- Huber ---

Huber::Huber(HuberOptions options)
    : Loss("Huber", or_default(options.name, "huber_loss"), options.reduction), options_(std::move(options)) {}

Tensor Huber::call(const Tensor& y_true, const Tensor& y_pred) const { return huber(y_true, y_pred, options_.delta); }

nlohmann::json Huber::get_config() const {
  nlohmann::json c = Loss::get_config();
  c["delta"] = options_.delta;
  return c;
}

// --- CosineSimilarity ---

CosineSimilarity::CosineSimilarity(CosineSimilarityOptions options)
    : Loss("CosineSimilarity", or_default(options.name, "cosine_similarity"), options.reduction),
      options_(std::move(options)) {}

Tensor CosineSimilarity::call(const Tensor& y_true, const Tensor& y_pred) const {
  return cosine_similarity(y_true, y_pred, options_.axis);
}

nlohmann::json CosineSimilarity::get_config() const {
  nlohmann::json c = Loss::get_config();
  c["axis"] = options_.axis;
  return c;
}

// --- crossentropies ---

BinaryCrossentropy::BinaryCrossentropy(CrossentropyOptions options)
    : Loss("BinaryCrossentropy", or_default(options.name, "binary_crossentropy"), options.reduction),
      options_(std::move(options)) {}

Tensor BinaryCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  return binary_crossentropy(y_true, y_pred, options_.from_logits, options_.label_smoothing, options_.axis);
}

nlohmann::json BinaryCrossentropy::get_config() const {
  return detail::with_crossentropy_config(Loss::get_config(), options_);
}

CategoricalCrossentropy::CategoricalCrossentropy(CrossentropyOptions options)
    : Loss("CategoricalCrossentropy", or_default(options.name, "categorical_crossentropy"), options.reduction),
      options_(std::move(options)) {}

Tensor CategoricalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  return categorical_crossentropy(y_true, y_pred, options_.from_logits, options_.label_smoothing, options_.axis);
}

nlohmann::json CategoricalCrossentropy::get_config() const {
  return detail::with_crossentropy_config(Loss::get_config(), options_);
}

SparseCategoricalCrossentropy::SparseCategoricalCrossentropy(SparseCrossentropyOptions options)
    : Loss("SparseCategoricalCrossentropy", or_default(options.name, "sparse_categorical_crossentropy"),
           options.reduction),
      options_(std::move(options)) {}

Tensor SparseCategoricalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  return sparse_categorical_crossentropy(y_true, y_pred, options_.from_logits, options_.ignore_class, options_.axis);
}

Tensor SparseCategoricalCrossentropy::mask(const Tensor& y_true, const Tensor& y_pred) const {
  if (!options_.ignore_class) return Tensor();
  // Shaped like call()'s result: y_pred without the class axis.
  Shape batch = y_pred.shape();
  batch.erase(batch.begin() + normalize_axis(options_.axis, y_pred.ndim(), name()));
  Tensor labels = y_true.detach().reshape(batch);
  return ops::not_equal(labels, scalar_tensor(static_cast<double>(*options_.ignore_class))).astype(DType::f32);
}

nlohmann::json SparseCategoricalCrossentropy::get_config() const {
  return detail::with_crossentropy_config(Loss::get_config(), options_);
}

// --- focal crossentropies ---

BinaryFocalCrossentropy::BinaryFocalCrossentropy(BinaryFocalCrossentropyOptions options)
    : Loss("BinaryFocalCrossentropy", or_default(options.name, "binary_focal_crossentropy"), options.reduction),
      options_(std::move(options)) {}

Tensor BinaryFocalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  const auto& o = options_;
  return binary_focal_crossentropy(y_true, y_pred, o.apply_class_balancing, o.alpha, o.gamma, o.from_logits,
                                   o.label_smoothing, o.axis);
}

nlohmann::json BinaryFocalCrossentropy::get_config() const {
  return detail::with_crossentropy_config(Loss::get_config(), options_);
}

CategoricalFocalCrossentropy::CategoricalFocalCrossentropy(CategoricalFocalCrossentropyOptions options)
    : Loss("CategoricalFocalCrossentropy", or_default(options.name, "categorical_focal_crossentropy"),
           options.reduction),
      options_(std::move(options)) {}

Tensor CategoricalFocalCrossentropy::call(const Tensor& y_true, const Tensor& y_pred) const {
  const auto& o = options_;
  return categorical_focal_crossentropy(y_true, y_pred, o.alpha, o.gamma, o.from_logits, o.label_smoothing, o.axis);
}

nlohmann::json CategoricalFocalCrossentropy::get_config() const {
  return detail::with_crossentropy_config(Loss::get_config(), options_);
}

}  // namespace keel::losses
