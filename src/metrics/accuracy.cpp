// Accuracy functions and metrics (keras/src/metrics/accuracy_metrics.py).
#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/losses/loss.h"
#include "keel/metrics/metrics.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/reduction.h"

namespace keel::metrics {

namespace {

Tensor as_f32(const Tensor& t) { return t.dtype() == DType::f32 ? t.detach() : t.detach().astype(DType::f32); }

void check_defined(const char* fn, const Tensor& y_true, const Tensor& y_pred) {
  KEEL_CHECK(y_true.defined() && y_pred.defined(), ValueError, fn, ": y_true and y_pred must be defined tensors");
}

Tensor matches(const Tensor& a, const Tensor& b) { return ops::equal(a, b).astype(DType::f32); }

// TF's in_top_k: target t of row r is in the top k when fewer than k classes score strictly higher.
Tensor in_top_k(const char* fn, const std::vector<int64_t>& targets, const Tensor& y_pred, int64_t k) {
  KEEL_CHECK(y_pred.ndim() >= 1, ShapeError, fn, ": y_pred must have a class axis, got shape ",
             shape_str(y_pred.shape()));
  const int64_t classes = y_pred.shape().back();
  const Shape batch(y_pred.shape().begin(), y_pred.shape().end() - 1);
  KEEL_CHECK(static_cast<int64_t>(targets.size()) == shape_numel(batch), ShapeError, fn, ": y_true holds ",
             targets.size(), " labels but y_pred of shape ", shape_str(y_pred.shape()), " has ", shape_numel(batch),
             " samples");
  const std::vector<float> scores = y_pred.to_vector<float>();
  std::vector<float> out(targets.size(), 0.0f);
  for (size_t r = 0; r < targets.size(); ++r) {
    const int64_t t = targets[r];
    if (t < 0 || t >= classes) continue;
    const float* row = scores.data() + r * static_cast<size_t>(classes);
    if (!std::isfinite(row[t])) continue;
    int64_t higher = 0;
    for (int64_t c = 0; c < classes; ++c) higher += row[c] > row[t];
    out[r] = higher < k ? 1.0f : 0.0f;
  }
  return from_vector(out, batch);
}

std::string or_default(const std::string& name, const char* fallback) { return name.empty() ? fallback : name; }

}  // namespace

Tensor binary_accuracy(const Tensor& y_true, const Tensor& y_pred, double threshold) {
  check_defined("binary_accuracy", y_true, y_pred);
  auto [t, p] = squeeze_or_expand_to_same_rank(as_f32(y_true), as_f32(y_pred));
  return matches(t, (p > threshold).astype(DType::f32));
}

Tensor categorical_accuracy(const Tensor& y_true, const Tensor& y_pred) {
  check_defined("categorical_accuracy", y_true, y_pred);
  Tensor t = ops::argmax(y_true.detach(), -1);
  if (t.ndim() == y_pred.ndim() && t.ndim() > 0 && t.shape().back() == 1) t = ops::squeeze(t, {-1});
  return matches(t, ops::argmax(y_pred.detach(), -1));
}

Tensor sparse_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred) {
  check_defined("sparse_categorical_accuracy", y_true, y_pred);
  Tensor t = as_f32(y_true);
  if (t.ndim() == y_pred.ndim() && t.ndim() > 0 && t.shape().back() == 1) t = ops::squeeze(t, {-1});
  Tensor m = matches(t, ops::argmax(y_pred.detach(), -1).astype(DType::f32));
  if (m.ndim() > 1 && m.shape().back() == 1) m = ops::squeeze(m, {-1});
  return m;
}

Tensor accuracy(const Tensor& y_true, const Tensor& y_pred) {
  check_defined("accuracy", y_true, y_pred);
  auto [t, p] = squeeze_or_expand_to_same_rank(as_f32(y_true), as_f32(y_pred));
  return matches(t, p);
}

Tensor top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred, int64_t k) {
  check_defined("top_k_categorical_accuracy", y_true, y_pred);
  return in_top_k("top_k_categorical_accuracy", ops::argmax(y_true.detach(), -1).to_vector<int64_t>(), y_pred, k);
}

Tensor sparse_top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred, int64_t k) {
  check_defined("sparse_top_k_categorical_accuracy", y_true, y_pred);
  return in_top_k("sparse_top_k_categorical_accuracy", y_true.to_vector<int64_t>(), y_pred, k);
}

// --- classes ---

BinaryAccuracy::BinaryAccuracy(BinaryAccuracyOptions options)
    : MeanMetricWrapper(
          "BinaryAccuracy", or_default(options.name, "binary_accuracy"),
          [t = options.threshold](const Tensor& y, const Tensor& p) { return binary_accuracy(y, p, t); }, +1),
      threshold_(options.threshold) {}

nlohmann::json BinaryAccuracy::get_config() const {
  nlohmann::json c = Metric::get_config();
  c["threshold"] = threshold_;
  return c;
}

CategoricalAccuracy::CategoricalAccuracy(MetricOptions options)
    : MeanMetricWrapper("CategoricalAccuracy", or_default(options.name, "categorical_accuracy"), categorical_accuracy,
                        +1) {}

SparseCategoricalAccuracy::SparseCategoricalAccuracy(MetricOptions options)
    : MeanMetricWrapper("SparseCategoricalAccuracy", or_default(options.name, "sparse_categorical_accuracy"),
                        sparse_categorical_accuracy, +1) {}

Accuracy::Accuracy(MetricOptions options)
    : MeanMetricWrapper("Accuracy", or_default(options.name, "accuracy"), accuracy, +1) {}

TopKCategoricalAccuracy::TopKCategoricalAccuracy(TopKOptions options)
    : MeanMetricWrapper(
          "TopKCategoricalAccuracy", or_default(options.name, "top_k_categorical_accuracy"),
          [k = options.k](const Tensor& y, const Tensor& p) { return top_k_categorical_accuracy(y, p, k); }, +1),
      k_(options.k) {}

nlohmann::json TopKCategoricalAccuracy::get_config() const {
  nlohmann::json c = Metric::get_config();
  c["k"] = k_;
  return c;
}

SparseTopKCategoricalAccuracy::SparseTopKCategoricalAccuracy(TopKOptions options)
    : MeanMetricWrapper(
          "SparseTopKCategoricalAccuracy", or_default(options.name, "sparse_top_k_categorical_accuracy"),
          [k = options.k](const Tensor& y, const Tensor& p) { return sparse_top_k_categorical_accuracy(y, p, k); }, +1),
      k_(options.k) {}

nlohmann::json SparseTopKCategoricalAccuracy::get_config() const {
  nlohmann::json c = Metric::get_config();
  c["k"] = k_;
  return c;
}

}  // namespace keel::metrics
