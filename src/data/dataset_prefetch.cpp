// prefetch: a worker thread pulls from the input into a bounded queue. The consumer gets elements in
// order; an exception in the worker is stored and rethrown by next() after the elements before it.
// The destructor stops the worker and joins it (after the element it may be producing).
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>

#include "data/dataset_stage.h"
#include "keel/core/grad_mode.h"

namespace keel::data::detail {
namespace {

class PrefetchIterator : public ElementIterator {
 public:
  PrefetchIterator(std::unique_ptr<ElementIterator> input, int64_t capacity)
      : input_(std::move(input)), capacity_(static_cast<size_t>(capacity)), worker_([this] { run(); }) {}

  ~PrefetchIterator() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    space_.notify_all();
    worker_.join();
  }

  std::optional<Element> next() override {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [&] { return !queue_.empty() || finished_; });
    if (!queue_.empty()) {
      Element e = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      space_.notify_one();
      return e;
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));  // once; then the pass is over
    return std::nullopt;
  }

 private:
  void run() {
    NoGradGuard no_grad;  // grad mode is thread-local: the worker must not record graphs either
    while (true) {
      {
        std::unique_lock lock(mu_);
        space_.wait(lock, [&] { return queue_.size() < capacity_ || stop_; });
        if (stop_) break;
      }
      std::optional<Element> e;
      std::exception_ptr error;
      try {
        e = input_->next();
      } catch (...) {
        error = std::current_exception();
      }
      std::lock_guard lock(mu_);
      if (e) {
        queue_.push_back(std::move(*e));
      } else {
        error_ = std::move(error);  // the consumer becomes its only owner
        finished_ = true;
      }
      ready_.notify_one();
      if (finished_) break;
    }
    std::lock_guard lock(mu_);
    finished_ = true;
    ready_.notify_all();
  }

  std::unique_ptr<ElementIterator> input_;  // used only by the worker
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<Element> queue_;
  std::exception_ptr error_;
  bool finished_ = false, stop_ = false;
  std::thread worker_;  // last: starts after every other member exists
};

class PrefetchStage : public DatasetStage {
 public:
  PrefetchStage(StagePtr input, int64_t buffer_size) : input_(std::move(input)), buffer_size_(buffer_size) {}
  int64_t cardinality() const override { return input_->cardinality(); }
  std::unique_ptr<ElementIterator> make_iterator() const override {
    return std::make_unique<PrefetchIterator>(input_->make_iterator(), buffer_size_);
  }

 private:
  void collect_pass_counters(PassCounters& out) const override { input_->collect_pass_counters(out); }
  StagePtr input_;
  int64_t buffer_size_;
};

}  // namespace

StagePtr make_prefetch_stage(StagePtr input, int64_t buffer_size) {
  KEEL_CHECK(buffer_size >= 1, ValueError, "Dataset.prefetch: buffer_size must be >= 1, got ", buffer_size,
             " (no AUTOTUNE: give a size)");
  return std::make_shared<PrefetchStage>(std::move(input), buffer_size);
}

}  // namespace keel::data::detail
