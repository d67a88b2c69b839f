// Keras's metrics (keras-reference §7.3) and compile()'s string resolution (§7.1). Option structs hold
// Keras's keyword arguments in order with the name last; an empty name means the Keras default name.
//   auto acc = metrics::get("accuracy", y_true.shape(), y_pred.shape());   // SparseCategoricalAccuracy...
//   metrics::AUC auc({.num_thresholds = 200, .curve = "PR"});
//   auc.update_state(y, p);  double v = auc.result();
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "keel/metrics/metric.h"

namespace keel::metrics {

// --- per-sample functions (float32 0/1 matches, or the values of the loss functions) ---

/// y_true == (y_pred > threshold), elementwise after rank alignment.
Tensor binary_accuracy(const Tensor& y_true, const Tensor& y_pred, double threshold = 0.5);
/// argmax(y_true) == argmax(y_pred) along the last axis.
Tensor categorical_accuracy(const Tensor& y_true, const Tensor& y_pred);
/// y_true == argmax(y_pred); y_true of shape (B, 1) is squeezed.
Tensor sparse_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred);
/// y_true == y_pred exactly, elementwise.
Tensor accuracy(const Tensor& y_true, const Tensor& y_pred);
/// Whether argmax(y_true) is among the k largest predictions (ties at the boundary count, as TF's in_top_k).
Tensor top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred, int64_t k = 5);
Tensor sparse_top_k_categorical_accuracy(const Tensor& y_true, const Tensor& y_pred, int64_t k = 5);

// --- option structs ---

struct MetricOptions {
  std::string name = "";
};
struct BinaryAccuracyOptions {
  double threshold = 0.5;
  std::string name = "";
};
struct TopKOptions {
  int64_t k = 5;
  std::string name = "";
};
struct CosineSimilarityOptions {
  int64_t axis = -1;
  std::string name = "";
};
struct BinaryCrossentropyOptions {
  bool from_logits = false;
  double label_smoothing = 0.0;
  std::string name = "";
};
struct CategoricalCrossentropyOptions {
  bool from_logits = false;
  double label_smoothing = 0.0;
  int64_t axis = -1;
  std::string name = "";
};
struct SparseCategoricalCrossentropyOptions {
  bool from_logits = false;
  int64_t axis = -1;
  std::string name = "";
};
/// Precision and Recall. No thresholds: 0.5 (or, with top_k, every value kept by the top-k filter).
struct PrecisionRecallOptions {
  std::vector<double> thresholds = {};
  std::optional<int64_t> top_k = std::nullopt;
  std::optional<int64_t> class_id = std::nullopt;
  std::string name = "";
};
struct AUCOptions {
  int64_t num_thresholds = 200;
  std::string curve = "ROC";                       // "ROC" or "PR"
  std::string summation_method = "interpolation";  // "interpolation", "minoring", "majoring"
  std::vector<double> thresholds = {};             // given: used (with -ε and 1+ε added) instead of num_thresholds
  bool from_logits = false;
  std::string name = "";
};

// --- accuracy metrics (direction +1) ---

class BinaryAccuracy : public MeanMetricWrapper {
 public:
  explicit BinaryAccuracy(BinaryAccuracyOptions options = {});
  nlohmann::json get_config() const override;

 private:
  double threshold_;
};
class CategoricalAccuracy : public MeanMetricWrapper {
 public:
  explicit CategoricalAccuracy(MetricOptions options = {});
};
class SparseCategoricalAccuracy : public MeanMetricWrapper {
 public:
  explicit SparseCategoricalAccuracy(MetricOptions options = {});
};
class Accuracy : public MeanMetricWrapper {
 public:
  explicit Accuracy(MetricOptions options = {});
};
class TopKCategoricalAccuracy : public MeanMetricWrapper {
 public:
  explicit TopKCategoricalAccuracy(TopKOptions options = {});
  nlohmann::json get_config() const override;

 private:
  int64_t k_;
};
class SparseTopKCategoricalAccuracy : public MeanMetricWrapper {
 public:
  explicit SparseTopKCategoricalAccuracy(TopKOptions options = {});
  nlohmann::json get_config() const override;

 private:
  int64_t k_;
};

// --- regression metrics (direction -1, CosineSimilarity +1) ---

class MeanSquaredError : public MeanMetricWrapper {
 public:
  explicit MeanSquaredError(MetricOptions options = {});
};
class MeanAbsoluteError : public MeanMetricWrapper {
 public:
  explicit MeanAbsoluteError(MetricOptions options = {});
};
class MeanAbsolutePercentageError : public MeanMetricWrapper {
 public:
  explicit MeanAbsolutePercentageError(MetricOptions options = {});
};
class MeanSquaredLogarithmicError : public MeanMetricWrapper {
 public:
  explicit MeanSquaredLogarithmicError(MetricOptions options = {});
};
class LogCoshError : public MeanMetricWrapper {
 public:
  explicit LogCoshError(MetricOptions options = {});
};
/// Σ(ŷ/‖ŷ‖ · y/‖y‖): the similarity itself, not the loss's negative.
class CosineSimilarity : public MeanMetricWrapper {
 public:
  explicit CosineSimilarity(CosineSimilarityOptions options = {});
  nlohmann::json get_config() const override;

 private:
  int64_t axis_;
};
/// sqrt(weighted mean of (y − ŷ)²).
class RootMeanSquaredError : public Mean {
 public:
  explicit RootMeanSquaredError(MetricOptions options = {});
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
};

// --- probabilistic and hinge metrics (direction -1) ---

class BinaryCrossentropy : public MeanMetricWrapper {
 public:
  explicit BinaryCrossentropy(BinaryCrossentropyOptions options = {});
  nlohmann::json get_config() const override;

 private:
  BinaryCrossentropyOptions options_;
};
class CategoricalCrossentropy : public MeanMetricWrapper {
 public:
  explicit CategoricalCrossentropy(CategoricalCrossentropyOptions options = {});
  nlohmann::json get_config() const override;

 private:
  CategoricalCrossentropyOptions options_;
};
class SparseCategoricalCrossentropy : public MeanMetricWrapper {
 public:
  explicit SparseCategoricalCrossentropy(SparseCategoricalCrossentropyOptions options = {});
  nlohmann::json get_config() const override;

 private:
  SparseCategoricalCrossentropyOptions options_;
};
class KLDivergence : public MeanMetricWrapper {
 public:
  explicit KLDivergence(MetricOptions options = {});
};
class Poisson : public MeanMetricWrapper {
 public:
  explicit Poisson(MetricOptions options = {});
};
class Hinge : public MeanMetricWrapper {
 public:
  explicit Hinge(MetricOptions options = {});
};
class SquaredHinge : public MeanMetricWrapper {
 public:
  explicit SquaredHinge(MetricOptions options = {});
};
class CategoricalHinge : public MeanMetricWrapper {
 public:
  explicit CategoricalHinge(MetricOptions options = {});
};

// --- confusion-matrix metrics (direction +1) ---

/// TP/(TP+FP), accumulated over batches; a prediction is positive when it is > threshold. With several
/// thresholds, results() gives one value each and result() is a ValueError.
class Precision : public Metric {
 public:
  explicit Precision(PrecisionRecallOptions options = {});
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  std::vector<double> results() const;
  nlohmann::json get_config() const override;

 protected:
  Precision(std::string class_name, PrecisionRecallOptions options);
  PrecisionRecallOptions options_;
  std::vector<double> thresholds_;
  size_t true_positives_, other_;  // other_: false_positives (Precision) or false_negatives (Recall)
};

/// TP/(TP+FN), as Precision.
class Recall : public Precision {
 public:
  explicit Recall(PrecisionRecallOptions options = {});
};

/// Area under the ROC or PR curve from confusion counts at fixed thresholds (ŷ clipped to [0, 1];
/// PR with "interpolation" uses Davis & Goadrich's interpolation). multi_label is not supported.
class AUC : public Metric {
 public:
  explicit AUC(AUCOptions options = {});
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  double result() const override;
  const std::vector<double>& thresholds() const { return thresholds_; }
  nlohmann::json get_config() const override;

 private:
  double interpolate_pr_auc() const;
  AUCOptions options_;
  std::vector<double> thresholds_;
  size_t tp_, fp_, tn_, fn_;
};

/// compile()-style resolution for one output (keras-reference §7.1): "accuracy"/"acc" (any case) become
/// Binary/Sparse/Categorical accuracy from the shapes; other strings are class names, their snake_case
/// and the aliases mse, mae, mape, msle, bce (and upper case). The metric is named by the string given.
/// Unknown: ValueError listing the valid identifiers.
std::shared_ptr<Metric> get(const std::string& identifier, const Shape& y_true_shape, const Shape& y_pred_shape);
/// Every identifier get() accepts besides accuracy/acc, sorted.
std::vector<std::string> identifiers();

/// keras.metrics.deserialize for Keel's classes: the metric `class_name` ("BinaryAccuracy") built from the
/// config Keras writes for it (missing or null keys take Keras's defaults); nullptr when Keel has no class
/// of that name. Keys the class does not take are not looked at: a caller that must refuse them compares
/// get_config() with `config`, as load_model does.
std::shared_ptr<Metric> from_config(const std::string& class_name, const nlohmann::json& config);
/// The class names from_config() knows, sorted.
std::vector<std::string> config_class_names();

}  // namespace keel::metrics
