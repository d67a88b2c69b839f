// Input pipelines in the style of tf.data: a Dataset is a cheap value sharing immutable stages, and
// iterator() starts a fresh pass over them.
//   Dataset ds = Dataset::from_tensor_slices({x, y}).shuffle(1024, 42).batch(32).prefetch(2);
//   auto it = ds.iterator();
//   while (std::optional<Element> batch = it->next()) { Tensor xb = (*batch)[0], yb = (*batch)[1]; ... }
// Elements are lists of tensors ({x, y} or {x, y, sample_weight}). The pipeline runs on the CPU and
// records no autograd graph; tensors given to it are read (not copied) when it is iterated.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::data {

using Element = std::vector<Tensor>;

/// As tf.data.INFINITE_CARDINALITY and tf.data.UNKNOWN_CARDINALITY.
inline constexpr int64_t kInfiniteCardinality = -1;
inline constexpr int64_t kUnknownCardinality = -2;

class ElementIterator {
 public:
  virtual ~ElementIterator();
  /// The next element, or nullopt at the end. Exceptions from the pipeline (e.g. a map function) propagate.
  virtual std::optional<Element> next() = 0;
};

namespace detail {
/// One immutable pipeline stage (source or transformation); defined in src/data.
class DatasetStage;
}  // namespace detail

class Dataset {
 public:
  /// Element i holds every component's slice i along axis 0; all components need the same length
  /// (ValueError naming the sizes otherwise) and at least one dimension.
  static Dataset from_tensor_slices(std::vector<Tensor> components);
  /// A dataset of the single element `components`.
  static Dataset from_tensors(std::vector<Tensor> components);

  /// tf.data shuffle: a buffer of `buffer_size` elements, each output drawn uniformly from it and its slot
  /// refilled from the input. With a seed the order is reproducible; without, the seed comes from the
  /// global generator (random::set_seed). reshuffle_each_iteration: each iterator() gives a new order.
  Dataset shuffle(int64_t buffer_size, std::optional<uint64_t> seed = std::nullopt,
                  bool reshuffle_each_iteration = true) const;
  /// Stacks `batch_size` consecutive elements component-wise along a new axis 0. The last batch may be
  /// smaller unless drop_remainder. Components must agree in shape and dtype within a batch.
  Dataset batch(int64_t batch_size, bool drop_remainder = false) const;
  /// Applies `fn` to each element (with no autograd recording).
  Dataset map(std::function<Element(const Element&)> fn) const;
  /// Produces up to `buffer_size` elements ahead on a background thread. Errors reach next() in order.
  Dataset prefetch(int64_t buffer_size) const;
  /// The first `count` elements (all of them when count < 0).
  Dataset take(int64_t count) const;
  /// The data `count` times over (forever when count < 0).
  Dataset repeat(int64_t count = -1) const;

  /// A fresh pass over the data.
  std::unique_ptr<ElementIterator> iterator() const;
  /// Number of elements, or kInfiniteCardinality / kUnknownCardinality.
  int64_t cardinality() const;

  /// How many passes (iterator() calls, one per repetition under repeat) each shuffle stage of the
  /// pipeline has started, input side first: with reshuffle_each_iteration, pass k uses the k-th order of
  /// the stage's key. The counts live in the stages, which every copy of a Dataset shares. Setting them
  /// back (BackupAndRestore does, with a Dataset made the same way, its unseeded shuffle keys drawn from
  /// the same generator state) makes the next passes repeat the orders they had; ValueError when the
  /// number of counts differs from the number of shuffle stages.
  std::vector<uint64_t> shuffle_passes() const;
  void set_shuffle_passes(const std::vector<uint64_t>& passes) const;

 private:
  explicit Dataset(std::shared_ptr<const detail::DatasetStage> stage);
  std::shared_ptr<const detail::DatasetStage> stage_;
};

}  // namespace keel::data

namespace keel {
using data::Dataset;
}  // namespace keel
