// make_in_process_group: replicas of one process, each on its own thread, meet in rounds. Every rank of a
// round registers its tensor; the last to arrive checks that all agree, computes the result in rank order
// (so every rank gets identical bits) and writes it into every rank's tensor while the others wait.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>

#include "distribute/collective_util.h"
#include "keel/core/error.h"
#include "keel/distribute/communicator.h"

namespace keel::distribute {

namespace {

using Clock = std::chrono::steady_clock;

enum class Kind { kAllReduce, kBroadcast, kAllGather, kBarrier };

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::kAllReduce:
      return "all_reduce";
    case Kind::kBroadcast:
      return "broadcast";
    case Kind::kAllGather:
      return "all_gather";
    case Kind::kBarrier:
      return "barrier";
  }
  return "?";
}

// What one rank brings to a round.
struct Contribution {
  Kind kind = Kind::kBarrier;
  ReduceOp op = ReduceOp::kSum;
  int root = 0;
  DType dtype = DType::f32;
  Shape shape;
  void* data = nullptr;    // all_reduce and broadcast: in and out; all_gather: in
  void* output = nullptr;  // all_gather: size() times data's bytes
  size_t bytes = 0;        // of data

  std::string str() const {
    std::ostringstream os;
    os << kind_name(kind);
    if (kind == Kind::kAllReduce) os << "(" << detail::to_string(op) << ")";
    if (kind == Kind::kBroadcast) os << "(root " << root << ")";
    if (kind != Kind::kBarrier) os << " of " << dtype_name(dtype) << " tensor of shape " << shape_str(shape);
    return os.str();
  }
  bool matches(const Contribution& o) const {
    if (kind != o.kind) return false;
    if (kind == Kind::kBarrier) return true;
    return dtype == o.dtype && shape == o.shape && (kind != Kind::kAllReduce || op == o.op) &&
           (kind != Kind::kBroadcast || root == o.root);
  }
};

// The state the communicators of one group share.
struct Group {
  explicit Group(int n) : size(n), slots(static_cast<size_t>(n)), came(static_cast<size_t>(n), false) {}
  const int size;
  std::mutex mutex;
  std::condition_variable round_done;
  uint64_t round = 0;  // rounds completed so far
  int arrived = 0;
  std::vector<std::optional<Contribution>> slots;
  // Who joined the current round, even if it has since timed out and withdrawn: a timeout names the others.
  std::vector<bool> came;
  // When the ranks of round `error_round` disagreed, why (every rank of that round reads it before the next
  // round can complete, since that needs all of them).
  std::string error;
  uint64_t error_round = 0;
  int aborted_by = -1;
};

template <class T>
T combine(ReduceOp op, T a, T b) {
  switch (op) {
    case ReduceOp::kSum:
      return a + b;
    case ReduceOp::kMin:
      return std::min(a, b);
    case ReduceOp::kMax:
      return std::max(a, b);
  }
  return a;
}

// Reduces in rank order into a scratch buffer first: the outputs are also the inputs.
template <class T>
void reduce_all(std::vector<std::optional<Contribution>>& slots, ReduceOp op) {
  const size_t n = slots[0]->bytes / sizeof(T);
  std::vector<T> acc(static_cast<const T*>(slots[0]->data), static_cast<const T*>(slots[0]->data) + n);
  for (size_t r = 1; r < slots.size(); ++r) {
    const T* x = static_cast<const T*>(slots[r]->data);
    for (size_t i = 0; i < n; ++i) acc[i] = combine(op, acc[i], x[i]);
  }
  for (auto& slot : slots) std::memcpy(slot->data, acc.data(), n * sizeof(T));
}

class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(std::shared_ptr<Group> group, int rank) : group_(std::move(group)), rank_(rank) {
    set_timeout(detail::collective_timeout(timeout()));
  }

  int rank() const override { return rank_; }
  int size() const override { return group_->size; }
  std::string backend() const override { return "in_process"; }

  void all_reduce(Tensor& tensor, ReduceOp op) override {
    detail::check_host_tensor("all_reduce", rank_, tensor, /*reducible=*/true);
    Contribution c = of(Kind::kAllReduce, tensor);
    c.op = op;
    run(c);
  }

  void broadcast(Tensor& tensor, int root) override {
    detail::check_host_tensor("broadcast", rank_, tensor, /*reducible=*/false);
    detail::check_root("broadcast", rank_, root, size());
    Contribution c = of(Kind::kBroadcast, tensor);
    c.root = root;
    run(c);
  }

  Tensor all_gather(const Tensor& tensor) override {
    detail::check_host_tensor("all_gather", rank_, tensor, /*reducible=*/false);
    Tensor out = empty(detail::gathered_shape(tensor.shape(), size()), tensor.dtype(), Device::cpu());
    Contribution c = of(Kind::kAllGather, tensor);
    c.output = out.data_ptr();
    run(c);
    return out;
  }

  void barrier() override { run(Contribution{}); }

  void abort() override {
    {
      std::lock_guard lock(group_->mutex);
      if (group_->aborted_by < 0) group_->aborted_by = rank_;
    }
    group_->round_done.notify_all();
  }

 private:
  static Contribution of(Kind kind, const Tensor& tensor) {
    Contribution c;
    c.kind = kind;
    c.dtype = tensor.dtype();
    c.shape = tensor.shape();
    c.data = tensor.data_ptr();
    c.bytes = static_cast<size_t>(tensor.numel()) * dtype_size(tensor.dtype());
    return c;
  }

  void throw_if_aborted(const char* op) const {
    KEEL_CHECK(group_->aborted_by < 0, UnavailableError, "rank ", rank_, ": ", op, " failed: the in-process group of ",
               group_->size, " was aborted by rank ", group_->aborted_by);
  }

  void run(const Contribution& mine) {
    const char* op = kind_name(mine.kind);
    std::unique_lock lock(group_->mutex);
    throw_if_aborted(op);
    KEEL_CHECK(!group_->slots[rank_].has_value(), RuntimeError, "rank ", rank_, ": ", op,
               ": this rank already has a collective pending (one call at a time per rank)");
    const uint64_t round = group_->round;
    group_->slots[rank_] = mine;
    group_->came[rank_] = true;
    if (++group_->arrived == group_->size) {
      complete_round();
    } else {
      const auto deadline = Clock::now() + timeout();
      group_->round_done.wait_until(lock, deadline, [&] { return group_->round != round || group_->aborted_by >= 0; });
      if (group_->round == round) {
        // Not completed: withdraw, so the round stays consistent for the ranks still in it.
        group_->slots[rank_].reset();
        std::ostringstream missing;
        for (int r = 0, listed = 0; r < group_->size; ++r) {
          if (!group_->came[r]) missing << (listed++ ? ", " : "") << r;
        }
        if (--group_->arrived == 0) std::fill(group_->came.begin(), group_->came.end(), false);
        throw_if_aborted(op);
        throw DeadlineExceededError(::keel::detail::cat("rank ", rank_, ": ", op, " timed out after ",
                                                        detail::format_seconds(timeout()), " waiting for ranks [",
                                                        missing.str(), "] of the in-process group of ", group_->size));
      }
    }
    if (group_->error_round == round && !group_->error.empty()) {
      throw ValueError(::keel::detail::cat("rank ", rank_, ": ", op, ": ", group_->error));
    }
  }

  // Called with the lock held by the last rank to arrive.
  void complete_round() {
    auto& slots = group_->slots;
    const Contribution& first = *slots[0];
    std::string disagreement;
    for (size_t r = 1; r < slots.size(); ++r) {
      if (!slots[r]->matches(first)) {
        disagreement = ::keel::detail::cat("the ranks' calls disagree: rank 0 called ", first.str(), ", rank ", r,
                                           " called ", slots[r]->str());
        break;
      }
    }
    if (!disagreement.empty()) {
      group_->error = disagreement;
      group_->error_round = group_->round;
    } else if (first.bytes == 0) {
      // Nothing to move (and memcpy must not see the null pointers of empty tensors).
    } else if (first.kind == Kind::kAllReduce) {
      switch (first.dtype) {
        case DType::f32:
          reduce_all<float>(slots, first.op);
          break;
        case DType::f64:
          reduce_all<double>(slots, first.op);
          break;
        case DType::i32:
          reduce_all<int32_t>(slots, first.op);
          break;
        case DType::i64:
          reduce_all<int64_t>(slots, first.op);
          break;
        default:
          break;  // check_host_tensor let only these through
      }
    } else if (first.kind == Kind::kBroadcast) {
      const void* src = slots[first.root]->data;
      for (auto& slot : slots) {
        if (slot->data != src) std::memcpy(slot->data, src, first.bytes);
      }
    } else if (first.kind == Kind::kAllGather) {
      for (auto& dst : slots) {
        for (size_t r = 0; r < slots.size(); ++r) {
          std::memcpy(static_cast<char*>(dst->output) + r * first.bytes, slots[r]->data, first.bytes);
        }
      }
    }
    for (auto& slot : slots) slot.reset();
    std::fill(group_->came.begin(), group_->came.end(), false);
    group_->arrived = 0;
    ++group_->round;
    group_->round_done.notify_all();
  }

  std::shared_ptr<Group> group_;
  int rank_;
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> make_in_process_group(int world_size) {
  KEEL_CHECK(world_size >= 1, ValueError, "make_in_process_group: world_size must be >= 1, got ", world_size);
  auto group = std::make_shared<Group>(world_size);
  std::vector<std::unique_ptr<Communicator>> comms;
  for (int r = 0; r < world_size; ++r) comms.push_back(std::make_unique<InProcessCommunicator>(group, r));
  return comms;
}

}  // namespace keel::distribute
