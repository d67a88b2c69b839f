#include "training/epoch_data.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <sstream>
#include <utility>

#include "keel/core/grad_mode.h"
#include "keel/core/random.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "keel/ops/reduction.h"

namespace keel::training_detail {

ArrayData::ArrayData(std::vector<Tensor> x, std::vector<Tensor> y, Tensor sample_weight)
    : x_(std::move(x)), y_(std::move(y)), sample_weight_(std::move(sample_weight)) {
  KEEL_CHECK(!x_.empty(), ValueError, "No input data (x) was given");
  auto first_dim = [](const Tensor& t) -> int64_t {
    KEEL_CHECK(t.defined(), ValueError, "An input or target array is an undefined tensor");
    KEEL_CHECK(t.ndim() >= 1, ValueError, "Arrays passed to fit/evaluate/predict need a sample axis; got a scalar");
    return t.dim(0);
  };
  size_ = first_dim(x_[0]);
  bool consistent = true;
  for (const auto& t : x_) consistent = consistent && first_dim(t) == size_;
  for (const auto& t : y_) consistent = consistent && first_dim(t) == size_;
  if (sample_weight_.defined()) consistent = consistent && first_dim(sample_weight_) == size_;
  if (!consistent) {
    std::ostringstream msg;
    msg << "Data cardinality is ambiguous. Make sure all arrays contain the same number of samples.";
    auto sizes = [&msg](const char* name, const std::vector<Tensor>& ts) {
      if (ts.empty()) return;
      msg << "\n'" << name << "' sizes: ";
      for (size_t i = 0; i < ts.size(); ++i) msg << (i ? ", " : "") << ts[i].dim(0);
    };
    sizes("x", x_);
    sizes("y", y_);
    if (sample_weight_.defined()) sizes("sample_weight", {sample_weight_});
    throw ValueError(msg.str());
  }
}

std::pair<ArrayData, ArrayData> ArrayData::split(int64_t at) const {
  NoGradGuard no_grad;
  auto cut = [&](const std::vector<Tensor>& ts, int64_t b, int64_t e) {
    std::vector<Tensor> out;
    for (const auto& t : ts) out.push_back(ops::slice_axis(t, 0, b, e));
    return out;
  };
  Tensor w1, w2;
  if (sample_weight_.defined()) {
    w1 = ops::slice_axis(sample_weight_, 0, 0, at);
    w2 = ops::slice_axis(sample_weight_, 0, at, size_);
  }
  return {ArrayData(cut(x_, 0, at), cut(y_, 0, at), w1), ArrayData(cut(x_, at, size_), cut(y_, at, size_), w2)};
}

void ArrayData::apply_class_weight(const std::map<int64_t, double>& class_weight) {
  KEEL_CHECK(y_.size() == 1, ValueError, "class_weight is only supported for models with a single output");
  NoGradGuard no_grad;
  const Tensor& y = y_[0];
  Tensor classes;
  if (y.ndim() >= 2 && y.dim(-1) > 1) classes = ops::argmax(y, -1);
  else classes = ops::reshape(y, {size_});
  std::vector<double> labels = classes.to_vector<double>();
  std::vector<float> weights(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    auto it = class_weight.find(static_cast<int64_t>(std::llround(labels[i])));
    weights[i] = it == class_weight.end() ? 1.0f : static_cast<float>(it->second);
  }
  sample_weight_ = from_vector(weights, {size_}, y.device());
}

Batch on_device(const Batch& batch, Device device) {
  auto move = [device](const Tensor& t) { return !t.defined() || t.device() == device ? t : t.to(device); };
  Batch out = batch;
  for (auto& x : out.x) x = move(x);
  for (auto& y : out.y) y = move(y);
  out.sample_weight = move(out.sample_weight);
  return out;
}

Batch rows_of(const Batch& batch, int64_t begin, int64_t end) {
  NoGradGuard no_grad;
  Batch b;
  for (const auto& t : batch.x) b.x.push_back(ops::slice_axis(t, 0, begin, end));
  for (const auto& t : batch.y) b.y.push_back(ops::slice_axis(t, 0, begin, end));
  if (batch.sample_weight.defined()) b.sample_weight = ops::slice_axis(batch.sample_weight, 0, begin, end);
  b.size = end - begin;
  return b;
}

Batch ArrayData::range(int64_t begin, int64_t end) const {
  NoGradGuard no_grad;
  Batch b;
  for (const auto& t : x_) b.x.push_back(ops::slice_axis(t, 0, begin, end));
  for (const auto& t : y_) b.y.push_back(ops::slice_axis(t, 0, begin, end));
  if (sample_weight_.defined()) b.sample_weight = ops::slice_axis(sample_weight_, 0, begin, end);
  b.size = end - begin;
  return b;
}

Batch ArrayData::gather(const std::vector<int64_t>& indices) const {
  NoGradGuard no_grad;
  // The rows are gathered where each array lives (the user's arrays may sit on a GPU: new tensors go to
  // GPU:0 by default, as in TensorFlow), so the indices go to that device, once per device.
  std::map<std::string, Tensor> idx;
  auto rows = [&](const Tensor& t) {
    Tensor& i = idx[t.device().str()];
    if (!i.defined()) i = from_vector(indices, {static_cast<int64_t>(indices.size())}, t.device());
    return ops::take(t, i, 0);
  };
  Batch b;
  for (const auto& t : x_) b.x.push_back(rows(t));
  for (const auto& t : y_) b.y.push_back(rows(t));
  if (sample_weight_.defined()) b.sample_weight = rows(sample_weight_);
  b.size = static_cast<int64_t>(indices.size());
  return b;
}

namespace {
void check_steps(std::optional<int64_t> steps, const char* steps_name) {
  KEEL_CHECK(!steps || *steps > 0, ValueError, steps_name, " must be a positive integer; received ", steps_name, "=",
             *steps);
}
}  // namespace

EpochData::EpochData(ArrayData arrays, int64_t batch_size, bool shuffle, std::optional<int64_t> steps,
                     const char* steps_name)
    : arrays_(std::move(arrays)), batch_size_(batch_size), shuffle_(shuffle), steps_per_epoch_(steps) {
  KEEL_CHECK(batch_size > 0, ValueError, "batch_size must be a positive integer; received batch_size=", batch_size);
  check_steps(steps, steps_name);
  position_ = arrays_->size();  // the first begin_epoch starts a pass
}

EpochData::EpochData(data::Dataset dataset, std::optional<int64_t> steps, const char* steps_name)
    : dataset_(std::move(dataset)), steps_per_epoch_(steps) {
  check_steps(steps, steps_name);
}

int64_t EpochData::steps() const {
  if (steps_per_epoch_) return *steps_per_epoch_;
  if (arrays_) return (arrays_->size() + batch_size_ - 1) / batch_size_;
  const int64_t c = dataset_->cardinality();
  return c >= 0 ? c : -1;
}

void EpochData::restart_arrays() {
  const int64_t n = arrays_->size();
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  if (shuffle_ && n > 1) {
    // A fresh permutation per pass from Keel's global generator (reproducible after random::set_seed).
    std::vector<float> keys = random::uniform({n}).to_vector<float>();
    // Sorting (key, index) pairs gives the stable sort by key (ties keep index order), without the
    // indirection through keys[] in every comparison: a third of the time, which showed in small steps.
    std::vector<std::pair<float, int64_t>> keyed(n);
    for (int64_t i = 0; i < n; ++i) keyed[i] = {keys[i], i};
    std::sort(keyed.begin(), keyed.end());
    for (int64_t i = 0; i < n; ++i) order_[i] = keyed[i].second;
    if (order_sync_) order_sync_(order_);
  }
  position_ = 0;
}

void EpochData::begin_epoch() {
  steps_this_epoch_ = 0;
  if (arrays_) {
    // With steps_per_epoch Keras keeps iterating where the last epoch stopped.
    if (!steps_per_epoch_ || position_ >= arrays_->size()) restart_arrays();
    return;
  }
  if (!steps_per_epoch_ || !iterator_) iterator_ = dataset_->iterator();
}

bool EpochData::skip() {
  if (arrays_ && (!steps_per_epoch_ || steps_this_epoch_ < *steps_per_epoch_) && position_ < arrays_->size()) {
    position_ = std::min(arrays_->size(), position_ + batch_size_);
    ++steps_this_epoch_;
    return true;
  }
  return next().has_value();  // a Dataset, or the end of a pass (steps_per_epoch may restart it)
}

std::vector<uint64_t> EpochData::data_state() const {
  return dataset_ ? dataset_->shuffle_passes() : std::vector<uint64_t>{};
}

void EpochData::set_data_state(const std::vector<uint64_t>& state) {
  KEEL_CHECK(dataset_.has_value(), ValueError, "Cannot restore a Dataset's state: fit's input is arrays");
  dataset_->set_shuffle_passes(state);
}

std::optional<Batch> EpochData::next() {
  if (steps_per_epoch_ && steps_this_epoch_ >= *steps_per_epoch_) return std::nullopt;
  if (arrays_) {
    const int64_t n = arrays_->size();
    if (position_ >= n) {
      if (!steps_per_epoch_ || n == 0) return std::nullopt;
      restart_arrays();
    }
    const int64_t end = std::min(n, position_ + batch_size_);
    Batch b;
    if (shuffle_) b = arrays_->gather(std::vector<int64_t>(order_.begin() + position_, order_.begin() + end));
    else b = arrays_->range(position_, end);
    position_ = end;
    ++steps_this_epoch_;
    return b;
  }
  std::optional<data::Element> element = iterator_->next();
  if (!element && steps_per_epoch_) {
    iterator_.reset();  // a finite dataset ran out: the caller warns and stops
    return std::nullopt;
  }
  if (!element) return std::nullopt;
  KEEL_CHECK(!element->empty() && element->size() <= 3, ValueError,
             "A dataset element for fit/evaluate/predict must be (x), (x, y) or (x, y, sample_weight); got ",
             element->size(), " components");
  Batch b;
  b.x = {(*element)[0]};
  if (element->size() >= 2) b.y = {(*element)[1]};
  if (element->size() == 3) b.sample_weight = (*element)[2];
  b.size = b.x[0].ndim() ? b.x[0].dim(0) : 1;
  ++steps_this_epoch_;
  return b;
}

}  // namespace keel::training_detail
