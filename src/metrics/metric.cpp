// Metric base, MetricArg and the reduction metrics (keras/src/metrics/{metric,reduction_metrics}.py).
#include "keel/metrics/metric.h"

#include <nlohmann/json.hpp>
#include <numeric>

#include "keel/core/grad_mode.h"
#include "keel/core/naming.h"
#include "keel/losses/loss.h"
#include "keel/metrics/metrics.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/reduction.h"

namespace keel {

// --- Metric ---

Metric::Metric(std::string class_name, std::string name)
    : class_name_(std::move(class_name)),
      name_(name.empty() ? naming::unique_name(naming::to_snake_case(class_name_)) : std::move(name)) {}

Metric::~Metric() = default;

size_t Metric::add_state(const std::string& name, const Shape& shape) {
  states_.push_back(State{name, shape, std::vector<double>(static_cast<size_t>(shape_numel(shape)), 0.0)});
  return states_.size() - 1;
}

void Metric::update_state_masked(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                                 const Tensor&) {
  update_state(y_true, y_pred, sample_weight);
}

void Metric::reset_state() {
  for (State& s : states_) std::fill(s.values.begin(), s.values.end(), 0.0);
}

std::vector<Variable> Metric::variables() const {
  std::vector<Variable> vars;
  for (const State& s : states_) {
    std::vector<float> values(s.values.begin(), s.values.end());
    vars.emplace_back(s.name, from_vector(values, s.shape), /*trainable=*/false);
  }
  return vars;
}

std::vector<double> Metric::state_values() const {
  std::vector<double> out;
  for (const State& s : states_) out.insert(out.end(), s.values.begin(), s.values.end());
  return out;
}

void Metric::set_state_values(const std::vector<double>& values) {
  size_t total = 0;
  for (const State& s : states_) total += s.values.size();
  KEEL_CHECK(values.size() == total, ValueError, "Metric '", name_, "': set_state_values received ", values.size(),
             " values but the state holds ", total);
  size_t k = 0;
  for (State& s : states_)
    for (double& v : s.values) v = values[k++];
}

nlohmann::json Metric::get_config() const { return {{"name", name_}, {"dtype", "float32"}}; }

// --- MetricArg ---

MetricArg::MetricArg(const char* identifier) : identifier_(identifier ? identifier : "") {}
MetricArg::MetricArg(std::string identifier) : identifier_(std::move(identifier)) {}
MetricArg::MetricArg(std::shared_ptr<Metric> metric) : metric_(std::move(metric)) {}

const std::string& MetricArg::identifier() const { return metric_ ? metric_->name() : identifier_; }

std::shared_ptr<Metric> MetricArg::resolve(const Shape& y_true_shape, const Shape& y_pred_shape) const {
  if (metric_) return metric_;
  KEEL_CHECK(!identifier_.empty(), ValueError, "MetricArg::resolve: no metric was given");
  return metrics::get(identifier_, y_true_shape, y_pred_shape);
}

namespace metrics {

namespace {

std::vector<int64_t> axes_from(int64_t first, int64_t ndim) {
  std::vector<int64_t> axes(static_cast<size_t>(std::max<int64_t>(ndim - first, 0)));
  std::iota(axes.begin(), axes.end(), first);
  return axes;
}

Tensor as_f32(const Tensor& t) { return t.dtype() == DType::f32 ? t.detach() : t.detach().astype(DType::f32); }

// keras reduce_to_samplewise_values: one value per sample, weights multiplied in; returns (values, weights).
std::pair<Tensor, Tensor> reduce_to_samplewise(const Tensor& values, const Tensor& sample_weight, bool use_sum) {
  auto reduce = [use_sum](const Tensor& x, const std::vector<int64_t>& axes) {
    return use_sum ? ops::sum(x, axes) : ops::mean(x, axes);
  };
  Tensor v = as_f32(values);
  Tensor w;
  if (sample_weight.defined()) {
    w = as_f32(sample_weight);
    std::tie(v, w) = squeeze_or_expand_to_same_rank(v, w);
    const int64_t weight_ndim = w.ndim();
    if (v.ndim() > weight_ndim) v = reduce(v, axes_from(weight_ndim, v.ndim()));
    w = ops::broadcast_to(w, v.shape());
    v = v * w;
    if (weight_ndim > 1) w = reduce(w, axes_from(1, weight_ndim));
  }
  if (v.ndim() > 1) v = reduce(v, axes_from(1, v.ndim()));
  return {v, w};
}

double sum_of(const Tensor& t) {
  double s = 0.0;
  for (double x : t.to_vector<double>()) s += x;
  return s;
}

}  // namespace

// --- Mean ---

Mean::Mean(MeanOptions options) : Mean("Mean", options.name.empty() ? "mean" : options.name) {}

Mean::Mean(std::string class_name, std::string name)
    : Metric(std::move(class_name), std::move(name)), total_(add_state("total")), count_(add_state("count")) {}

void Mean::update_state(const Tensor& values, const Tensor& sample_weight) {
  KEEL_CHECK(values.defined(), ValueError, "Metric \"", name(), "\": update_state got an undefined tensor");
  NoGradGuard no_grad;
  auto [v, w] = reduce_to_samplewise(values, sample_weight, /*use_sum=*/false);
  state(total_)[0] += sum_of(v);
  if (w.defined())
    state(count_)[0] += sum_of(w);
  else
    state(count_)[0] += v.ndim() >= 1 ? static_cast<double>(v.shape()[0]) : 1.0;
}

void Mean::update_state(const Tensor&, const Tensor&, const Tensor&) {
  throw ValueError("Metric \"" + name() + "\" (" + class_name() +
                   ") is updated with update_state(values, sample_weight), not (y_true, y_pred, sample_weight); "
                   "wrap a function of (y_true, y_pred) in MeanMetricWrapper instead");
}

double Mean::result() const {
  const double count = state(count_)[0];
  return count == 0.0 ? 0.0 : state(total_)[0] / count;  // divide_no_nan
}

// --- Sum ---

Sum::Sum(MeanOptions options)
    : Metric("Sum", options.name.empty() ? "sum" : options.name), total_(add_state("total")) {}

void Sum::update_state(const Tensor& values, const Tensor& sample_weight) {
  KEEL_CHECK(values.defined(), ValueError, "Metric \"", name(), "\": update_state got an undefined tensor");
  NoGradGuard no_grad;
  state(total_)[0] += sum_of(reduce_to_samplewise(values, sample_weight, /*use_sum=*/true).first);
}

void Sum::update_state(const Tensor&, const Tensor&, const Tensor&) {
  throw ValueError("Metric \"" + name() +
                   "\" (Sum) is updated with update_state(values, sample_weight), not (y_true, y_pred, sample_weight)");
}

double Sum::result() const { return state(total_)[0]; }

// --- MeanMetricWrapper ---

MeanMetricWrapper::MeanMetricWrapper(Fn fn, std::string name, int direction)
    : MeanMetricWrapper("MeanMetricWrapper", std::move(name), std::move(fn), direction) {}

MeanMetricWrapper::MeanMetricWrapper(std::string class_name, std::string name, Fn fn, int direction)
    : Mean(std::move(class_name), std::move(name)), fn_(std::move(fn)) {
  KEEL_CHECK(fn_ != nullptr, ValueError, "MeanMetricWrapper \"", this->name(), "\": the function is empty");
  direction_ = direction;
}

void MeanMetricWrapper::update_state_masked(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight,
                                            const Tensor& y_pred_mask) {
  // keras/src/metrics/reduction_metrics.py applies the mask only `if sample_weight is not None and mask is
  // not None` (apply_mask with reduction "sum": the weights times the mask, no rescaling).
  if (!sample_weight.defined() || !y_pred_mask.defined()) return update_state(y_true, y_pred, sample_weight);
  NoGradGuard no_grad;
  const Tensor mask = ops::cast(y_pred_mask.detach(), DType::f32);
  auto [m, w] = squeeze_or_expand_to_same_rank(mask, ops::cast(sample_weight.detach(), DType::f32));
  update_state(y_true, y_pred, w * m);
}

void MeanMetricWrapper::update_state(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  KEEL_CHECK(y_true.defined() && y_pred.defined(), ValueError, "Metric \"", name(),
             "\": y_true and y_pred must both be defined tensors");
  NoGradGuard no_grad;
  Mean::update_state(fn_(y_true.detach(), y_pred.detach()), sample_weight);
}

}  // namespace metrics
}  // namespace keel
