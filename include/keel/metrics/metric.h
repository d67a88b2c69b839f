// Streaming metrics (keras.metrics.Metric) and the reduction metrics every other metric builds on:
// Mean, Sum and MeanMetricWrapper (keras-reference §7.2).
//   metrics::Mean m;
//   m.update_state(values);  m.update_state(more, weights);
//   double r = m.result();   // Σ(v·w) / Σw over everything seen since reset_state()
#pragma once
#include <concepts>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>
#include "keel/core/tensor.h"
#include "keel/core/variable.h"

namespace keel {

class Metric {
 public:
  /// `name` empty: the snake_case class name made unique ("auc", "auc_1", ...), as keras auto_name.
  Metric(std::string class_name, std::string name);
  virtual ~Metric();

  /// Accumulates one batch; never records autograd.
  virtual void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) = 0;
  /// update_state for a prediction that carries a Keras mask (1/true where the element counts; undefined:
  /// none), as fit and evaluate call it. Only MeanMetricWrapper reads the mask, and only together with
  /// sample weights, as Keras 3 does; every other metric ignores it.
  virtual void update_state_masked(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                                   const Tensor& y_pred_mask);
  virtual double result() const = 0;
  /// Zeroes every state variable.
  virtual void reset_state();
  /// The Keras state variables (total, count, true_positives, ...): new non-trainable float32 variables
  /// holding the current state (a snapshot; assigning them does not change the metric).
  virtual std::vector<Variable> variables() const;
  /// Every state variable's values, flattened in registration order. The states are sums (totals, counts,
  /// confusion counts), so the states of several replicas add up to the state of all their data, as
  /// Keras's SUM-aggregated metric variables do under a distribution strategy.
  std::vector<double> state_values() const;
  /// Replaces the state with `values` (the layout state_values() returns; ValueError on a size mismatch).
  void set_state_values(const std::vector<double>& values);

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }
  const std::string& class_name() const { return class_name_; }
  /// +1: larger is better (accuracy family, AUC, Precision, Recall); -1: smaller is better (loss-like);
  /// 0: unknown.
  virtual int direction() const { return direction_; }
  /// {"name": ..., "dtype": "float32"} plus the options of the concrete metric.
  virtual nlohmann::json get_config() const;

 protected:
  /// Registers a zeroed state variable of `shape`, accumulated in double; returns its index for state().
  size_t add_state(const std::string& name, const Shape& shape = {});
  std::vector<double>& state(size_t index) { return states_[index].values; }
  const std::vector<double>& state(size_t index) const { return states_[index].values; }
  int direction_ = 0;

 private:
  struct State {
    std::string name;
    Shape shape;
    std::vector<double> values;
  };
  std::string class_name_, name_;
  std::vector<State> states_;
};

/// What compile(metrics=...) accepts for one metric: a string, a Metric object by value, or a
/// shared_ptr<Metric>. Empty = none given.
class MetricArg {
 public:
  MetricArg() = default;
  MetricArg(const char* identifier);  // NOLINT: implicit on purpose, as Keras accepts strings
  MetricArg(std::string identifier);  // NOLINT
  template <class T>
  requires std::derived_from<T, Metric> MetricArg(T metric)
      : metric_(std::make_shared<T>(std::move(metric))) {}  // NOLINT
  MetricArg(std::shared_ptr<Metric> metric);                // NOLINT

  bool empty() const { return !metric_ && identifier_.empty(); }
  bool is_string() const { return !metric_ && !identifier_.empty(); }
  /// The string given; for an object, its name.
  const std::string& identifier() const;
  /// The metric object; strings go through metrics::get with the output's shapes (a new object each call).
  std::shared_ptr<Metric> resolve(const Shape& y_true_shape, const Shape& y_pred_shape) const;

 private:
  std::string identifier_;
  std::shared_ptr<Metric> metric_;
};

namespace metrics {

struct MeanOptions {
  std::string name = "";
};

/// Weighted mean of per-sample values: variables total and count.
class Mean : public Metric {
 public:
  explicit Mean(MeanOptions options = {});
  /// `values` are first averaged to one value per sample (over every axis but the first; with weights of
  /// rank r, axes beyond r first), then total += Σ v·w and count += Σ w (number of samples unweighted).
  void update_state(const Tensor& values, const Tensor& sample_weight = Tensor());
  /// Mean takes values, not (y_true, y_pred): this form is a ValueError. Subclasses (MeanMetricWrapper)
  /// turn (y_true, y_pred) into values.
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) override;
  double result() const override;
  double total() const { return state(total_)[0]; }
  double count() const { return state(count_)[0]; }

 protected:
  Mean(std::string class_name, std::string name);

 private:
  size_t total_, count_;
};

/// Σ of all values seen: variable total.
class Sum : public Metric {
 public:
  explicit Sum(MeanOptions options = {});
  void update_state(const Tensor& values, const Tensor& sample_weight = Tensor());
  /// As for Mean: Sum takes values; this form is a ValueError.
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) override;
  double result() const override;

 private:
  size_t total_;
};

/// Mean of fn(y_true, y_pred): what every accuracy, regression and probabilistic metric is.
class MeanMetricWrapper : public Mean {
 public:
  using Fn = std::function<Tensor(const Tensor& y_true, const Tensor& y_pred)>;
  /// `direction` as Metric::direction().
  MeanMetricWrapper(Fn fn, std::string name, int direction = 0);
  void update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight = Tensor()) override;
  /// Masked elements get weight 0 when sample weights are given (Keras 3's MeanMetricWrapper).
  void update_state_masked(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                           const Tensor& y_pred_mask) override;

 protected:
  MeanMetricWrapper(std::string class_name, std::string name, Fn fn, int direction);

 private:
  Fn fn_;
};

}  // namespace metrics
}  // namespace keel
