// Dataset: sources (tensor slices, a single element) and the simple transformations (map, take,
// repeat); shuffle, batch and prefetch have files of their own.
#include "keel/data/dataset.h"

#include "core/tensor_internals.h"
#include "data/dataset_stage.h"
#include "keel/core/grad_mode.h"

namespace keel::data {

ElementIterator::~ElementIterator() = default;

namespace detail {
namespace {

// A CPU view of `t` outside the autograd graph (the pipeline only reads its inputs).
Tensor as_cpu_data(const Tensor& t, const char* api, size_t index) {
  KEEL_CHECK(t.defined(), ValueError, api, ": component ", index, " is an undefined tensor");
  Tensor cpu = t.device().is_cpu() ? t : keel::detail::copy_to_device(t, Device::cpu());
  return keel::detail::make_view(cpu, cpu.shape(), cpu.strides(), cpu.offset());
}

class SliceStage : public DatasetStage {
 public:
  explicit SliceStage(std::vector<Tensor> components) : components_(std::move(components)) {}
  int64_t cardinality() const override { return components_[0].dim(0); }

  std::unique_ptr<ElementIterator> make_iterator() const override {
    class It : public ElementIterator {
     public:
      explicit It(const SliceStage& s) : s_(s) {}
      std::optional<Element> next() override {
        if (i_ >= s_.cardinality()) return std::nullopt;
        Element e;
        for (const Tensor& c : s_.components_) {
          Shape shape(c.shape().begin() + 1, c.shape().end());
          Strides strides(c.strides().begin() + 1, c.strides().end());
          e.push_back(
              keel::detail::make_view(c, std::move(shape), std::move(strides), c.offset() + i_ * c.strides()[0]));
        }
        ++i_;
        return e;
      }

     private:
      const SliceStage& s_;  // kept alive by the iterator's owner chain (see Dataset::iterator)
      int64_t i_ = 0;
    };
    return std::make_unique<It>(*this);
  }

 private:
  std::vector<Tensor> components_;
};

class TensorsStage : public DatasetStage {
 public:
  explicit TensorsStage(Element element) : element_(std::move(element)) {}
  int64_t cardinality() const override { return 1; }
  std::unique_ptr<ElementIterator> make_iterator() const override {
    class It : public ElementIterator {
     public:
      explicit It(const Element& e) : element_(e) {}
      std::optional<Element> next() override {
        if (done_) return std::nullopt;
        done_ = true;
        return element_;
      }

     private:
      Element element_;
      bool done_ = false;
    };
    return std::make_unique<It>(element_);
  }

 private:
  Element element_;
};

class MapStage : public DatasetStage {
 public:
  MapStage(StagePtr input, std::function<Element(const Element&)> fn) : input_(std::move(input)), fn_(std::move(fn)) {}
  int64_t cardinality() const override { return input_->cardinality(); }
  std::unique_ptr<ElementIterator> make_iterator() const override {
    class It : public ElementIterator {
     public:
      It(std::unique_ptr<ElementIterator> input, const std::function<Element(const Element&)>& fn)
          : input_(std::move(input)), fn_(fn) {}
      std::optional<Element> next() override {
        std::optional<Element> e = input_->next();
        if (!e) return std::nullopt;
        NoGradGuard no_grad;
        return fn_(*e);
      }

     private:
      std::unique_ptr<ElementIterator> input_;
      const std::function<Element(const Element&)>& fn_;
    };
    return std::make_unique<It>(input_->make_iterator(), fn_);
  }

 private:
  void collect_pass_counters(PassCounters& out) const override { input_->collect_pass_counters(out); }
  StagePtr input_;
  std::function<Element(const Element&)> fn_;
};

class TakeStage : public DatasetStage {
 public:
  TakeStage(StagePtr input, int64_t count) : input_(std::move(input)), count_(count) {}
  int64_t cardinality() const override {
    const int64_t n = input_->cardinality();
    if (count_ < 0) return n;
    if (n == kInfiniteCardinality) return count_;
    if (n == kUnknownCardinality) return kUnknownCardinality;
    return std::min(n, count_);
  }
  std::unique_ptr<ElementIterator> make_iterator() const override {
    class It : public ElementIterator {
     public:
      It(std::unique_ptr<ElementIterator> input, int64_t count) : input_(std::move(input)), left_(count) {}
      std::optional<Element> next() override {
        if (left_ == 0) return std::nullopt;
        std::optional<Element> e = input_->next();
        if (e && left_ > 0) --left_;
        return e;
      }

     private:
      std::unique_ptr<ElementIterator> input_;
      int64_t left_;  // negative: unlimited
    };
    return std::make_unique<It>(input_->make_iterator(), count_);
  }

 private:
  void collect_pass_counters(PassCounters& out) const override { input_->collect_pass_counters(out); }
  StagePtr input_;
  int64_t count_;
};

class RepeatStage : public DatasetStage {
 public:
  RepeatStage(StagePtr input, int64_t count) : input_(std::move(input)), count_(count) {}
  int64_t cardinality() const override {
    const int64_t n = input_->cardinality();
    if (count_ == 0 || n == 0) return 0;
    if (count_ < 0 || n == kInfiniteCardinality) return kInfiniteCardinality;
    if (n == kUnknownCardinality) return kUnknownCardinality;
    return n * count_;
  }
  std::unique_ptr<ElementIterator> make_iterator() const override {
    class It : public ElementIterator {
     public:
      It(const RepeatStage& s) : s_(s) {}
      std::optional<Element> next() override {
        while (true) {
          if (!pass_) {
            if (s_.count_ >= 0 && passes_ == s_.count_) return std::nullopt;
            pass_ = s_.input_->make_iterator();
            ++passes_;
            pass_empty_ = true;
          }
          if (std::optional<Element> e = pass_->next()) {
            pass_empty_ = false;
            return e;
          }
          pass_.reset();
          if (pass_empty_) return std::nullopt;  // an empty input repeated forever is still empty
        }
      }

     private:
      const RepeatStage& s_;
      std::unique_ptr<ElementIterator> pass_;
      int64_t passes_ = 0;
      bool pass_empty_ = true;
    };
    return std::make_unique<It>(*this);
  }

 private:
  void collect_pass_counters(PassCounters& out) const override { input_->collect_pass_counters(out); }
  StagePtr input_;
  int64_t count_;
};

// Holds the pipeline's last stage for as long as the iterator lives, so iterators may outlive the
// Dataset they came from (stages' iterators refer to their stage).
class OwningIterator : public ElementIterator {
 public:
  explicit OwningIterator(StagePtr stage) : stage_(std::move(stage)), it_(stage_->make_iterator()) {}
  std::optional<Element> next() override { return it_->next(); }

 private:
  StagePtr stage_;
  std::unique_ptr<ElementIterator> it_;
};

}  // namespace
}  // namespace detail

Dataset::Dataset(std::shared_ptr<const detail::DatasetStage> stage) : stage_(std::move(stage)) {}

Dataset Dataset::from_tensor_slices(std::vector<Tensor> components) {
  KEEL_CHECK(!components.empty(), ValueError, "Dataset.from_tensor_slices: expected at least one tensor");
  for (size_t k = 0; k < components.size(); ++k) {
    components[k] = detail::as_cpu_data(components[k], "Dataset.from_tensor_slices", k);
    KEEL_CHECK(components[k].ndim() >= 1, ValueError, "Dataset.from_tensor_slices: component ", k,
               " is a scalar; slicing needs at least one dimension");
  }
  for (size_t k = 1; k < components.size(); ++k) {
    if (components[k].dim(0) != components[0].dim(0)) {
      std::string sizes;
      for (size_t j = 0; j < components.size(); ++j)
        sizes += keel::detail::cat(j ? ", " : "", shape_str(components[j].shape()));
      throw ValueError(
          keel::detail::cat("Dataset.from_tensor_slices: all components need the same size in axis 0; "
                            "got shapes ",
                            sizes));
    }
  }
  return Dataset(std::make_shared<detail::SliceStage>(std::move(components)));
}

Dataset Dataset::from_tensors(std::vector<Tensor> components) {
  KEEL_CHECK(!components.empty(), ValueError, "Dataset.from_tensors: expected at least one tensor");
  for (size_t k = 0; k < components.size(); ++k)
    components[k] = detail::as_cpu_data(components[k], "Dataset.from_tensors", k);
  return Dataset(std::make_shared<detail::TensorsStage>(std::move(components)));
}

Dataset Dataset::shuffle(int64_t buffer_size, std::optional<uint64_t> seed, bool reshuffle_each_iteration) const {
  return Dataset(detail::make_shuffle_stage(stage_, buffer_size, seed, reshuffle_each_iteration));
}

Dataset Dataset::batch(int64_t batch_size, bool drop_remainder) const {
  return Dataset(detail::make_batch_stage(stage_, batch_size, drop_remainder));
}

Dataset Dataset::map(std::function<Element(const Element&)> fn) const {
  KEEL_CHECK(fn, ValueError, "Dataset.map: the function is empty");
  return Dataset(std::make_shared<detail::MapStage>(stage_, std::move(fn)));
}

Dataset Dataset::prefetch(int64_t buffer_size) const {
  return Dataset(detail::make_prefetch_stage(stage_, buffer_size));
}

Dataset Dataset::take(int64_t count) const { return Dataset(std::make_shared<detail::TakeStage>(stage_, count)); }

Dataset Dataset::repeat(int64_t count) const { return Dataset(std::make_shared<detail::RepeatStage>(stage_, count)); }

std::unique_ptr<ElementIterator> Dataset::iterator() const { return std::make_unique<detail::OwningIterator>(stage_); }

int64_t Dataset::cardinality() const { return stage_->cardinality(); }

std::vector<uint64_t> Dataset::shuffle_passes() const {
  detail::DatasetStage::PassCounters counters;
  stage_->collect_pass_counters(counters);
  std::vector<uint64_t> passes;
  for (const auto* c : counters) passes.push_back(c->load());
  return passes;
}

void Dataset::set_shuffle_passes(const std::vector<uint64_t>& passes) const {
  detail::DatasetStage::PassCounters counters;
  stage_->collect_pass_counters(counters);
  KEEL_CHECK(passes.size() == counters.size(), ValueError, "Dataset::set_shuffle_passes: ", passes.size(),
             " pass counts given, but the dataset has ", counters.size(), " shuffle stages");
  for (size_t i = 0; i < passes.size(); ++i) counters[i]->store(passes[i]);
}

}  // namespace keel::data
