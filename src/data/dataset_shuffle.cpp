// tf.data shuffle: keep a buffer of up to buffer_size elements; each output is a uniformly drawn buffer
// slot, whose place the next input element takes. Draws come from Philox so a seed fixes the order.
#include <atomic>

#include "data/dataset_stage.h"
#include "keel/core/random.h"

namespace keel::data::detail {
namespace {

// Shuffle draws use counter_hi with the top bit set, so they never share counters with random::uniform
// and friends (which use counter_hi 0) even under the same key.
constexpr uint64_t kShuffleDomain = uint64_t{1} << 63;

class ShuffleStage : public DatasetStage {
 public:
  ShuffleStage(StagePtr input, int64_t buffer_size, uint64_t key, bool reshuffle)
      : input_(std::move(input)), buffer_size_(buffer_size), key_(key), reshuffle_(reshuffle) {}
  int64_t cardinality() const override { return input_->cardinality(); }

  std::unique_ptr<ElementIterator> make_iterator() const override {
    const uint64_t epoch = reshuffle_ ? epochs_.fetch_add(1) : 0;
    return std::make_unique<It>(input_->make_iterator(), buffer_size_, key_, kShuffleDomain | epoch);
  }

 private:
  class It : public ElementIterator {
   public:
    It(std::unique_ptr<ElementIterator> input, int64_t buffer_size, uint64_t key, uint64_t stream)
        : input_(std::move(input)), buffer_size_(buffer_size), key_(key), stream_(stream) {}

    std::optional<Element> next() override {
      while (!input_done_ && static_cast<int64_t>(buffer_.size()) < buffer_size_) {
        std::optional<Element> e = input_->next();
        if (e)
          buffer_.push_back(std::move(*e));
        else
          input_done_ = true;
      }
      if (buffer_.empty()) return std::nullopt;
      const size_t pick = static_cast<size_t>(draw() % buffer_.size());
      Element out = std::move(buffer_[pick]);
      buffer_[pick] = std::move(buffer_.back());
      buffer_.pop_back();
      return out;
    }

   private:
    uint64_t draw() {
      uint32_t r[4];
      Philox::generate(key_, stream_, draws_++, r);
      return uint64_t{r[0]} << 32 | r[1];  // 64 bits: the modulo bias is negligible for any buffer
    }

    std::unique_ptr<ElementIterator> input_;
    int64_t buffer_size_;
    uint64_t key_, stream_, draws_ = 0;
    std::vector<Element> buffer_;
    bool input_done_ = false;
  };

  void collect_pass_counters(PassCounters& out) const override {
    input_->collect_pass_counters(out);
    out.push_back(&epochs_);
  }
  StagePtr input_;
  int64_t buffer_size_;
  uint64_t key_;
  bool reshuffle_;
  mutable std::atomic<uint64_t> epochs_{0};  // passes started so far; each reshuffled pass gets its own stream
};

}  // namespace

StagePtr make_shuffle_stage(StagePtr input, int64_t buffer_size, std::optional<uint64_t> seed, bool reshuffle) {
  KEEL_CHECK(buffer_size >= 1, ValueError, "Dataset.shuffle: buffer_size must be >= 1, got ", buffer_size);
  uint64_t key;
  if (seed) {
    key = *seed;
  } else {
    // A fresh key from the global stream, so random::set_seed makes unseeded shuffles reproducible too.
    const random::StreamPosition pos = random::next_stream(1);
    uint32_t r[4];
    Philox::generate(pos.key, 0, pos.counter, r);
    key = uint64_t{r[0]} << 32 | r[1];
  }
  return std::make_shared<ShuffleStage>(std::move(input), buffer_size, key, reshuffle);
}

}  // namespace keel::data::detail
