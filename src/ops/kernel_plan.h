// Note [Kernel plans]
// A KernelPlan is the list of kernels that a piece of eager code dispatched, each with its operands
// (the very tensors, so the same buffers) and a copy of its attributes, recorded while the code ran
// under a KernelPlanRecorder. Replaying the plan runs the same kernels on the same buffers and skips
// everything around them: operand checks, shape inference, output allocation, autograd bookkeeping.
// Writing new values into the buffers the code read (a new batch) and replaying gives what running the
// code again would give, provided the code is a fixed function of those values. The recorder checks
// what would break that, and a plan that fails a check says why and is never replayed:
//   - the code read tensor values on the host (to_vector, item): it may have decided something on them;
//   - it drew random numbers other than through ops that redraw them on replay (refresh_last_draw:
//     dropout), so a replay would repeat the same numbers;
//   - a kernel wrote into a buffer it did not create (the plan's inputs, constants made on the host):
//     a replay would start from the written values;
//   - a kernel's attributes came without their type (nothing to copy them with).
// Kernels that dispatch other kernels inside themselves are recorded once, as the outer kernel.
#pragma once
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/thread_observer.h"
#include "dispatch.h"

namespace keel {

struct RecordedKernel {
  KernelFn fn = nullptr;
  OpId op{};
  Backend backend = Backend::kCpu;
  std::vector<Tensor> inputs, outputs;
  std::shared_ptr<void> attrs;                 // this kernel's own copy, or null
  std::function<void(void* attrs)> redraw;     // set for ops that draw random numbers
};

class KernelPlan {
 public:
  /// Runs every recorded kernel again, in order (random-drawing ops draw afresh first).
  void replay();
  size_t size() const { return kernels_.size(); }
  /// Empty when replayable, else the first reason it is not.
  const std::string& not_replayable_because() const { return reason_; }
  bool replayable() const { return reason_.empty(); }

  /// Lets the plan's own buffers (those a recorded kernel wrote first) share memory when their uses do
  /// not overlap, as the eager code's allocator reused them; `keep` are read after the plan ends (its
  /// results) and keep their own buffers. Returns the bytes no longer needed.
  size_t share_buffers(std::span<const Tensor> keep);

  /// An input operand of a recorded kernel.
  struct InputSlot {
    size_t kernel = 0, slot = 0;
  };
  /// Every input operand that reads `storage` (to bind other buffers there between replays).
  std::vector<InputSlot> inputs_reading(const Storage* storage) const;
  const Tensor& input(InputSlot s) const { return kernels_[s.kernel].inputs[s.slot]; }
  void set_input(InputSlot s, Tensor t) { kernels_[s.kernel].inputs[s.slot] = std::move(t); }

 private:
  friend class KernelPlanRecorder;
  std::vector<RecordedKernel> kernels_;
  std::string reason_;
};

/// RAII: while alive, kernels dispatched on this thread (outside other kernels) are recorded. It observes
/// the thread (core/thread_observer.h) for host reads and random draws, which make a plan unreplayable.
class KernelPlanRecorder : private detail::ThreadObserver {
 public:
  KernelPlanRecorder();
  ~KernelPlanRecorder() override;
  KernelPlanRecorder(const KernelPlanRecorder&) = delete;
  KernelPlanRecorder& operator=(const KernelPlanRecorder&) = delete;

  /// The recorder of this thread, or null.
  static KernelPlanRecorder* active();
  /// Stops recording and returns the plan (with the reason it is not replayable, if any).
  KernelPlan finish();

  /// Called by dispatch. `copy_attrs` is null when the attributes' type is unknown.
  void add(KernelFn fn, OpId op, Backend backend, std::span<const Tensor> inputs, std::span<const Tensor> outputs,
           const void* attrs, std::shared_ptr<void> (*copy_attrs)(const void*));
  /// The kernel recorded last drew one random-stream position into its attributes; on replay, `redraw`
  /// draws a fresh one into the plan's copy, in the same order as the eager code would.
  void refresh_last_draw(std::function<void(void* attrs)> redraw);
  /// Makes the plan unreplayable for `reason`: the recorded code depends on something a replay would not
  /// bring up to date (a stateful RNN's carried states).
  void refuse(std::string reason) { fail(std::move(reason)); }

 private:
  void host_read() override;
  void stream_draw() override;
  void stop();
  void fail(std::string reason);
  KernelPlan plan_;
  bool finished_ = false;
  uint64_t host_reads_ = 0, draws_ = 0, draws_claimed_ = 0;
  KernelPlanRecorder* previous_;
  detail::ThreadObserver* previous_observer_;
  std::unordered_set<const Storage*> produced_, external_;  // buffers first seen as a kernel's output / input
};

}  // namespace keel
