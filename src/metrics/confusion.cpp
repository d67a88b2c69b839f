// Confusion-matrix metrics: Precision, Recall, AUC (keras/src/metrics/confusion_metrics.py,
// keras/src/metrics/metrics_utils.py). Counts are accumulated on the host in double.
#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>

#include "keel/core/grad_mode.h"
#include "keel/losses/loss.h"
#include "keel/metrics/metrics.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"

namespace keel::metrics {

namespace {

constexpr double kEpsilon = 1e-7;
constexpr double kNegInf = -1e10;  // Keras's NEG_INF: the value top_k filtering gives to dropped predictions

double divide_no_nan(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

// One flattened entry per prediction: whether the label is positive, the prediction, its weight.
struct Samples {
  std::vector<bool> positive;
  std::vector<float> pred;
  std::vector<double> weight;
};

// Keras update_confusion_matrix_variables up to the thresholding: rank alignment, weight broadcast,
// top-k filtering and class selection, all flattened.
Samples gather(const std::string& metric, const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
               std::optional<int64_t> top_k, std::optional<int64_t> class_id) {
  KEEL_CHECK(y_true.defined() && y_pred.defined(), ValueError, "Metric \"", metric,
             "\": y_true and y_pred must both be defined tensors");
  auto [p, t] = squeeze_or_expand_to_same_rank(y_pred.detach().astype(DType::f32), y_true.detach().astype(DType::f32));
  KEEL_CHECK(p.shape() == t.shape(), ShapeError, "Metric \"", metric,
             "\": y_true and y_pred must have the same shape, ", "got y_true ", shape_str(y_true.shape()),
             " and y_pred ", shape_str(y_pred.shape()));
  Tensor w;
  if (sample_weight.defined()) {
    Tensor aligned;
    std::tie(std::ignore, aligned) = squeeze_or_expand_to_same_rank(p, sample_weight.detach().astype(DType::f32));
    w = ops::broadcast_to(aligned, p.shape());
  }
  const int64_t classes = p.ndim() > 0 ? p.shape().back() : 1;
  std::vector<float> pred = p.to_vector<float>(), truth = t.to_vector<float>();
  std::vector<float> weight = w.defined() ? w.to_vector<float>() : std::vector<float>(pred.size(), 1.0f);
  const size_t rows = classes > 0 ? pred.size() / static_cast<size_t>(classes) : 0;

  if (top_k) {
    KEEL_CHECK(*top_k > 0, ValueError, "Metric \"", metric, "\": top_k must be positive, got ", *top_k);
    std::vector<int64_t> order(static_cast<size_t>(classes));
    for (size_t r = 0; r < rows; ++r) {
      float* row = pred.data() + r * classes;
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [row](int64_t a, int64_t b) { return row[a] > row[b]; });
      for (size_t i = static_cast<size_t>(std::min(*top_k, classes)); i < order.size(); ++i)
        row[order[i]] = static_cast<float>(kNegInf);
    }
  }
  Samples s;
  auto push = [&](size_t i) {
    s.positive.push_back(truth[i] != 0.0f);
    s.pred.push_back(pred[i]);
    s.weight.push_back(weight[i]);
  };
  if (class_id) {
    KEEL_CHECK(*class_id >= 0 && *class_id < classes, ValueError, "Metric \"", metric, "\": class_id ", *class_id,
               " is out of range for predictions with ", classes, " classes (shape ", shape_str(p.shape()), ")");
    for (size_t r = 0; r < rows; ++r) push(r * classes + static_cast<size_t>(*class_id));
  } else {
    for (size_t i = 0; i < pred.size(); ++i) push(i);
  }
  return s;
}

}  // namespace

// --- Precision / Recall ---

Precision::Precision(PrecisionRecallOptions options) : Precision("Precision", std::move(options)) {}

Precision::Precision(std::string class_name, PrecisionRecallOptions options)
    : Metric(std::move(class_name), options.name), options_(std::move(options)) {
  thresholds_ = options_.thresholds;
  if (thresholds_.empty()) thresholds_ = {options_.top_k ? kNegInf : 0.5};
  const Shape shape{static_cast<int64_t>(thresholds_.size())};
  true_positives_ = add_state("true_positives", shape);
  other_ = add_state(this->class_name() == "Recall" ? "false_negatives" : "false_positives", shape);
  direction_ = +1;
}

Recall::Recall(PrecisionRecallOptions options) : Precision("Recall", std::move(options)) {}

void Precision::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  NoGradGuard no_grad;
  const Samples s = gather(name(), y_true, y_pred, sample_weight, options_.top_k, options_.class_id);
  const bool recall = class_name() == "Recall";
  std::vector<double>& tp = state(true_positives_);
  std::vector<double>& other = state(other_);
  for (size_t j = 0; j < thresholds_.size(); ++j) {
    const float threshold = static_cast<float>(thresholds_[j]);
    for (size_t i = 0; i < s.pred.size(); ++i) {
      const bool predicted = s.pred[i] > threshold;
      if (predicted && s.positive[i]) tp[j] += s.weight[i];
      if (recall ? (!predicted && s.positive[i]) : (predicted && !s.positive[i])) other[j] += s.weight[i];
    }
  }
}

std::vector<double> Precision::results() const {
  std::vector<double> r;
  for (size_t j = 0; j < thresholds_.size(); ++j)
    r.push_back(divide_no_nan(state(true_positives_)[j], state(true_positives_)[j] + state(other_)[j]));
  return r;
}

double Precision::result() const {
  KEEL_CHECK(thresholds_.size() == 1, ValueError, "Metric \"", name(), "\" has ", thresholds_.size(),
             " thresholds: use results() for one value per threshold");
  return results()[0];
}

nlohmann::json Precision::get_config() const {
  nlohmann::json c = Metric::get_config();
  c["thresholds"] = options_.thresholds.empty()       ? nlohmann::json(nullptr)
                    : options_.thresholds.size() == 1 ? nlohmann::json(options_.thresholds[0])
                                                      : nlohmann::json(options_.thresholds);
  c["top_k"] = options_.top_k ? nlohmann::json(*options_.top_k) : nlohmann::json(nullptr);
  c["class_id"] = options_.class_id ? nlohmann::json(*options_.class_id) : nlohmann::json(nullptr);
  return c;
}

// --- AUC ---

AUC::AUC(AUCOptions options) : Metric("AUC", options.name), options_(std::move(options)) {
  auto& o = options_;
  KEEL_CHECK(o.curve == "ROC" || o.curve == "PR" || o.curve == "roc" || o.curve == "pr", ValueError,
             "Invalid AUC curve value: \"", o.curve, "\". Expected values are [\"ROC\", \"PR\"]");
  if (o.curve == "roc") o.curve = "ROC";
  if (o.curve == "pr") o.curve = "PR";
  std::string method = o.summation_method;
  std::transform(method.begin(), method.end(), method.begin(), [](unsigned char c) { return std::tolower(c); });
  KEEL_CHECK(method == "interpolation" || method == "minoring" || method == "majoring", ValueError,
             "Invalid AUC summation method value: \"", o.summation_method,
             "\". Expected values are [\"interpolation\", \"majoring\", \"minoring\"]");
  o.summation_method = method;
  if (!o.thresholds.empty()) {
    std::vector<double> inner = o.thresholds;
    std::sort(inner.begin(), inner.end());
    thresholds_.push_back(0.0 - kEpsilon);
    thresholds_.insert(thresholds_.end(), inner.begin(), inner.end());
    thresholds_.push_back(1.0 + kEpsilon);
    o.num_thresholds = static_cast<int64_t>(thresholds_.size());
  } else {
    KEEL_CHECK(o.num_thresholds > 1, ValueError,
               "Argument `num_thresholds` must be an integer > 1. Received: ", "num_thresholds=", o.num_thresholds);
    const int64_t n = o.num_thresholds;
    thresholds_.push_back(0.0 - kEpsilon);
    for (int64_t i = 0; i < n - 2; ++i) thresholds_.push_back(static_cast<double>(i + 1) / static_cast<double>(n - 1));
    thresholds_.push_back(1.0 + kEpsilon);
  }
  const Shape shape{o.num_thresholds};
  tp_ = add_state("true_positives", shape);
  fp_ = add_state("false_positives", shape);
  tn_ = add_state("true_negatives", shape);
  fn_ = add_state("false_negatives", shape);
  direction_ = +1;
}

void AUC::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  NoGradGuard no_grad;
  Tensor pred = options_.from_logits ? ops::sigmoid(y_pred.detach().astype(DType::f32)) : y_pred;
  const Samples s = gather(name(), y_true, pred, sample_weight, std::nullopt, std::nullopt);
  // A prediction is positive at threshold j when pred > thresholds[j]: that holds for the first `above`
  // thresholds, `above` being how many thresholds lie strictly below it. Histogram, then suffix sums.
  std::vector<float> thr(thresholds_.begin(), thresholds_.end());
  const size_t n = thr.size();
  std::vector<double> pos_hist(n + 1, 0.0), neg_hist(n + 1, 0.0);
  double pos_total = 0.0, neg_total = 0.0;
  for (size_t i = 0; i < s.pred.size(); ++i) {
    const float p = std::clamp(s.pred[i], 0.0f, 1.0f);
    const size_t above = static_cast<size_t>(std::lower_bound(thr.begin(), thr.end(), p) - thr.begin());
    (s.positive[i] ? pos_hist : neg_hist)[above] += s.weight[i];
    (s.positive[i] ? pos_total : neg_total) += s.weight[i];
  }
  double pos_above = 0.0, neg_above = 0.0;  // weight of samples with `above` > j
  for (size_t j = n; j-- > 0;) {
    pos_above += pos_hist[j + 1];
    neg_above += neg_hist[j + 1];
    state(tp_)[j] += pos_above;
    state(fn_)[j] += pos_total - pos_above;
    state(fp_)[j] += neg_above;
    state(tn_)[j] += neg_total - neg_above;
  }
}

double AUC::interpolate_pr_auc() const {
  const auto& tp = state(tp_);
  const auto& fp = state(fp_);
  const auto& fn = state(fn_);
  const size_t n = tp.size();
  double auc = 0.0;
  for (size_t i = 0; i + 1 < n; ++i) {
    const double dtp = tp[i] - tp[i + 1];
    const double p0 = tp[i] + fp[i], p1 = tp[i + 1] + fp[i + 1];
    const double dp = p0 - p1;
    const double prec_slope = divide_no_nan(dtp, std::max(dp, 0.0));
    const double intercept = tp[i + 1] - prec_slope * p1;
    const double safe_p_ratio = (p0 > 0 && p1 > 0) ? divide_no_nan(p0, std::max(p1, 0.0)) : 1.0;
    auc += divide_no_nan(prec_slope * (dtp + intercept * std::log(safe_p_ratio)), std::max(tp[i + 1] + fn[i + 1], 0.0));
  }
  return auc;
}

double AUC::result() const {
  if (options_.curve == "PR" && options_.summation_method == "interpolation") return interpolate_pr_auc();
  const auto& tp = state(tp_);
  const auto& fp = state(fp_);
  const auto& tn = state(tn_);
  const auto& fn = state(fn_);
  const size_t n = tp.size();
  std::vector<double> x(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    const double recall = divide_no_nan(tp[i], tp[i] + fn[i]);
    if (options_.curve == "ROC") {
      x[i] = divide_no_nan(fp[i], fp[i] + tn[i]);
      y[i] = recall;
    } else {
      x[i] = recall;
      y[i] = divide_no_nan(tp[i], tp[i] + fp[i]);
    }
  }
  double auc = 0.0;
  for (size_t i = 0; i + 1 < n; ++i) {
    const double height = options_.summation_method == "interpolation" ? (y[i] + y[i + 1]) / 2.0
                          : options_.summation_method == "minoring"    ? std::min(y[i], y[i + 1])
                                                                       : std::max(y[i], y[i + 1]);
    auc += (x[i] - x[i + 1]) * height;
  }
  return auc;
}

nlohmann::json AUC::get_config() const {
  nlohmann::json c = Metric::get_config();
  c["num_thresholds"] = options_.num_thresholds;
  c["curve"] = options_.curve;
  c["summation_method"] = options_.summation_method;
  c["multi_label"] = false;
  c["num_labels"] = nullptr;
  c["label_weights"] = nullptr;
  // Keras stores the inner thresholds (without the -ε and 1+ε ends).
  c["thresholds"] = std::vector<double>(thresholds_.begin() + 1, thresholds_.end() - 1);
  c["from_logits"] = options_.from_logits;
  return c;
}

}  // namespace keel::metrics
