// batch: stacks consecutive elements component-wise; the last batch may be short unless drop_remainder.
#include "data/dataset_stage.h"

#include "core/tensor_internals.h"

namespace keel::data::detail {
namespace {

class BatchStage : public DatasetStage {
 public:
  BatchStage(StagePtr input, int64_t batch_size, bool drop_remainder)
      : input_(std::move(input)), batch_size_(batch_size), drop_remainder_(drop_remainder) {}

  int64_t cardinality() const override {
    const int64_t n = input_->cardinality();
    if (n < 0) return n;  // infinite or unknown stays so
    return drop_remainder_ ? n / batch_size_ : (n + batch_size_ - 1) / batch_size_;
  }

  std::unique_ptr<ElementIterator> make_iterator() const override {
    class It : public ElementIterator {
     public:
      It(std::unique_ptr<ElementIterator> input, const BatchStage& s) : input_(std::move(input)), s_(s) {}
      std::optional<Element> next() override {
        std::vector<Element> parts;
        while (static_cast<int64_t>(parts.size()) < s_.batch_size_) {
          std::optional<Element> e = input_->next();
          if (!e) break;
          parts.push_back(std::move(*e));
        }
        if (parts.empty() || (s_.drop_remainder_ && static_cast<int64_t>(parts.size()) < s_.batch_size_))
          return std::nullopt;
        return stack_elements(parts);
      }

     private:
      std::unique_ptr<ElementIterator> input_;
      const BatchStage& s_;
    };
    return std::make_unique<It>(input_->make_iterator(), *this);
  }

 private:
  void collect_pass_counters(PassCounters& out) const override { input_->collect_pass_counters(out); }
  StagePtr input_;
  int64_t batch_size_;
  bool drop_remainder_;
};

}  // namespace

Element stack_elements(const std::vector<Element>& batch) {
  const Element& first = batch.front();
  Element out;
  for (size_t k = 0; k < first.size(); ++k) {
    const Shape& shape = first[k].shape();
    const int64_t row = shape_numel(shape);
    Shape stacked_shape{static_cast<int64_t>(batch.size())};
    stacked_shape.insert(stacked_shape.end(), shape.begin(), shape.end());
    Tensor stacked = empty(stacked_shape, first[k].dtype(), Device::cpu());  // pipelines batch on the host
    for (size_t j = 0; j < batch.size(); ++j) {
      KEEL_CHECK(batch[j].size() == first.size(), ValueError, "Dataset.batch: element ", j, " of the batch has ",
                 batch[j].size(), " components, element 0 has ", first.size());
      const Tensor& part = batch[j][k];
      KEEL_CHECK(part.shape() == shape && part.dtype() == first[k].dtype(), ValueError,
                 "Dataset.batch: cannot stack component ", k, " of element ", j, " (", dtype_name(part.dtype()), " ",
                 shape_str(part.shape()), ") with that of element 0 (", dtype_name(first[k].dtype()), " ",
                 shape_str(shape), "); all elements of a batch need the same shapes");
      Tensor src = part.device().is_cpu() ? part : keel::detail::copy_to_device(part, Device::cpu());
      keel::detail::copy_cpu(
          src, keel::detail::make_view(stacked, shape, contiguous_strides(shape), static_cast<int64_t>(j) * row));
    }
    out.push_back(std::move(stacked));
  }
  return out;
}

StagePtr make_batch_stage(StagePtr input, int64_t batch_size, bool drop_remainder) {
  KEEL_CHECK(batch_size >= 1, ValueError, "Dataset.batch: batch_size must be >= 1, got ", batch_size);
  return std::make_shared<BatchStage>(std::move(input), batch_size, drop_remainder);
}

}  // namespace keel::data::detail
