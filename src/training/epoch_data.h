// The data side of fit/evaluate/predict: arrays (or a Dataset) cut into batches, per-epoch shuffling,
// validation split and class weights (keras-reference §8.2; keras/src/trainers/epoch_iterator.py).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "keel/core/tensor.h"
#include "keel/data/dataset.h"

namespace keel::training_detail {

struct Batch {
  std::vector<Tensor> x, y;
  Tensor sample_weight;  // (B,) or undefined
  int64_t size = 0;
};

/// The batch with every tensor on `device` (the model's): arrays and datasets live on the host, the
/// weights on the device they were created on (GPU:0 by default when one is visible).
Batch on_device(const Batch& batch, Device device);
/// Rows [begin, end) of every tensor of the batch (views).
Batch rows_of(const Batch& batch, int64_t begin, int64_t end);

/// In-memory inputs, targets and sample weights with the same number of samples.
class ArrayData {
 public:
  ArrayData(std::vector<Tensor> x, std::vector<Tensor> y, Tensor sample_weight);
  int64_t size() const { return size_; }
  /// The first `at` samples and the rest (views, no copy).
  std::pair<ArrayData, ArrayData> split(int64_t at) const;
  /// Turns {class: weight} into per-sample weights from the targets (argmax of one-hot, else rounded label).
  void apply_class_weight(const std::map<int64_t, double>& class_weight);
  /// Samples [begin, end) in order (views), or the given indices (a gather).
  Batch range(int64_t begin, int64_t end) const;
  Batch gather(const std::vector<int64_t>& indices) const;
  Batch all() const { return range(0, size_); }

 private:
  std::vector<Tensor> x_, y_;
  Tensor sample_weight_;
  int64_t size_ = 0;
};

/// Batches for one pass after another, from arrays or from a Dataset.
class EpochData {
 public:
  /// `steps` (named `steps_name` in errors: "steps_per_epoch", "validation_steps" or "steps") limits the
  /// batches of an epoch; it must be positive when given.
  EpochData(ArrayData arrays, int64_t batch_size, bool shuffle, std::optional<int64_t> steps, const char* steps_name);
  EpochData(data::Dataset dataset, std::optional<int64_t> steps, const char* steps_name);
  /// Batches per epoch, or -1 when unknown.
  int64_t steps() const;
  void begin_epoch();
  std::optional<Batch> next();
  /// Moves past the next batch without making it (arrays) or drops it (a Dataset); false at the end.
  bool skip();
  /// The input's state between passes that the global generator does not hold: a Dataset's shuffle pass
  /// counts (Dataset::shuffle_passes); empty for arrays.
  std::vector<uint64_t> data_state() const;
  void set_data_state(const std::vector<uint64_t>& state);
  /// Called with each new sample order (after shuffling): under a multi-process strategy it makes every
  /// process use the chief's order, so the replicas' slices of a global batch never overlap.
  void set_order_sync(std::function<void(std::vector<int64_t>&)> sync) { order_sync_ = std::move(sync); }

 private:
  void restart_arrays();

  std::optional<ArrayData> arrays_;
  int64_t batch_size_ = 32;
  bool shuffle_ = false;
  std::vector<int64_t> order_;
  std::function<void(std::vector<int64_t>&)> order_sync_;
  int64_t position_ = 0;

  std::optional<data::Dataset> dataset_;
  std::unique_ptr<data::ElementIterator> iterator_;

  std::optional<int64_t> steps_per_epoch_;
  int64_t steps_this_epoch_ = 0;
};

}  // namespace keel::training_detail
