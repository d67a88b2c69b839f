// The stages behind keel::data::Dataset. Each stage is immutable and shared by every Dataset built on
// it; make_iterator() gives an independent pass. Factories validate their arguments.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "keel/data/dataset.h"

namespace keel::data::detail {

class DatasetStage {
 public:
  virtual ~DatasetStage() = default;
  virtual std::unique_ptr<ElementIterator> make_iterator() const = 0;
  virtual int64_t cardinality() const = 0;
  /// The pass counters (iterators made so far) of the shuffle stages this stage reads from, itself last:
  /// Dataset::shuffle_passes reads and sets them. Each stage with an input forwards to it.
  using PassCounters = std::vector<std::atomic<uint64_t>*>;
  virtual void collect_pass_counters(PassCounters& /*out*/) const {}
};

using StagePtr = std::shared_ptr<const DatasetStage>;

StagePtr make_shuffle_stage(StagePtr input, int64_t buffer_size, std::optional<uint64_t> seed, bool reshuffle);
StagePtr make_batch_stage(StagePtr input, int64_t batch_size, bool drop_remainder);
StagePtr make_prefetch_stage(StagePtr input, int64_t buffer_size);

/// Stacks the elements of `batch` component-wise into new contiguous CPU tensors with a leading axis.
Element stack_elements(const std::vector<Element>& batch);

}  // namespace keel::data::detail
