// Metrics that average a loss function (keras/src/metrics/{regression,probabilistic,hinge}_metrics.py).
#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/core/grad_mode.h"
#include "keel/losses/losses.h"
#include "keel/metrics/metrics.h"
#include "keel/ops/elementwise.h"
#include "losses/crossentropy_config.h"

namespace keel::metrics {

namespace {
std::string or_default(const std::string& name, const char* fallback) { return name.empty() ? fallback : name; }
constexpr int kDown = -1;
}  // namespace

#define KEEL_DEFINE_LOSS_METRIC(Class, default_name, fn, direction) \
  Class::Class(MetricOptions options)                               \
      : MeanMetricWrapper(#Class, or_default(options.name, default_name), fn, direction) {}

KEEL_DEFINE_LOSS_METRIC(MeanSquaredError, "mean_squared_error", losses::mean_squared_error, kDown)
KEEL_DEFINE_LOSS_METRIC(MeanAbsoluteError, "mean_absolute_error", losses::mean_absolute_error, kDown)
KEEL_DEFINE_LOSS_METRIC(MeanAbsolutePercentageError, "mean_absolute_percentage_error",
                        losses::mean_absolute_percentage_error, kDown)
KEEL_DEFINE_LOSS_METRIC(MeanSquaredLogarithmicError, "mean_squared_logarithmic_error",
                        losses::mean_squared_logarithmic_error, kDown)
KEEL_DEFINE_LOSS_METRIC(LogCoshError, "logcosh", losses::log_cosh, kDown)
KEEL_DEFINE_LOSS_METRIC(KLDivergence, "kl_divergence", losses::kl_divergence, kDown)
KEEL_DEFINE_LOSS_METRIC(Poisson, "poisson", losses::poisson, kDown)
KEEL_DEFINE_LOSS_METRIC(Hinge, "hinge", losses::hinge, kDown)
KEEL_DEFINE_LOSS_METRIC(SquaredHinge, "squared_hinge", losses::squared_hinge, kDown)
KEEL_DEFINE_LOSS_METRIC(CategoricalHinge, "categorical_hinge", losses::categorical_hinge, kDown)
#undef KEEL_DEFINE_LOSS_METRIC

// --- CosineSimilarity ---

CosineSimilarity::CosineSimilarity(CosineSimilarityOptions options)
    : MeanMetricWrapper(
          "CosineSimilarity", or_default(options.name, "cosine_similarity"),
          [axis = options.axis](const Tensor& y, const Tensor& p) { return -losses::cosine_similarity(y, p, axis); },
          +1),
      axis_(options.axis) {}

nlohmann::json CosineSimilarity::get_config() const {
  nlohmann::json c = Metric::get_config();
  c["axis"] = axis_;
  return c;
}

// --- RootMeanSquaredError ---

RootMeanSquaredError::RootMeanSquaredError(MetricOptions options)
    : Mean("RootMeanSquaredError", or_default(options.name, "root_mean_squared_error")) {
  direction_ = kDown;
}

void RootMeanSquaredError::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  KEEL_CHECK(y_true.defined() && y_pred.defined(), ValueError, "Metric \"", name(),
             "\": y_true and y_pred must both be defined tensors");
  NoGradGuard no_grad;
  auto [t, p] = squeeze_or_expand_to_same_rank(y_true.detach().astype(DType::f32), y_pred.detach().astype(DType::f32));
  Mean::update_state(ops::square(p - t), sample_weight);
}

double RootMeanSquaredError::result() const { return std::sqrt(Mean::result()); }

// --- crossentropies ---

BinaryCrossentropy::BinaryCrossentropy(BinaryCrossentropyOptions options)
    : MeanMetricWrapper(
          "BinaryCrossentropy", or_default(options.name, "binary_crossentropy"),
          [o = options](const Tensor& y, const Tensor& p) {
            return losses::binary_crossentropy(y, p, o.from_logits, o.label_smoothing);
          },
          kDown),
      options_(options) {}

nlohmann::json BinaryCrossentropy::get_config() const {
  return losses::detail::with_crossentropy_config(Metric::get_config(), options_);
}

CategoricalCrossentropy::CategoricalCrossentropy(CategoricalCrossentropyOptions options)
    : MeanMetricWrapper(
          "CategoricalCrossentropy", or_default(options.name, "categorical_crossentropy"),
          [o = options](const Tensor& y, const Tensor& p) {
            return losses::categorical_crossentropy(y, p, o.from_logits, o.label_smoothing, o.axis);
          },
          kDown),
      options_(options) {}

nlohmann::json CategoricalCrossentropy::get_config() const {
  return losses::detail::with_crossentropy_config(Metric::get_config(), options_);
}

SparseCategoricalCrossentropy::SparseCategoricalCrossentropy(SparseCategoricalCrossentropyOptions options)
    : MeanMetricWrapper(
          "SparseCategoricalCrossentropy", or_default(options.name, "sparse_categorical_crossentropy"),
          [o = options](const Tensor& y, const Tensor& p) {
            return losses::sparse_categorical_crossentropy(y, p, o.from_logits, o.axis);
          },
          kDown),
      options_(options) {}

nlohmann::json SparseCategoricalCrossentropy::get_config() const {
  return losses::detail::with_crossentropy_config(Metric::get_config(), options_);
}

}  // namespace keel::metrics
