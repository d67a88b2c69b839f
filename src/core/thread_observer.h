// What core tells an observer about the calling thread: reads of tensor values into host memory and draws
// from the global random stream. Core has no use for either; ops' KernelPlanRecorder installs an observer
// while it records, because a plan is replayable only if the recorded code did neither behind its back
// (Note [Kernel plans], ops/kernel_plan.h).
#pragma once

namespace keel::detail {

class ThreadObserver {
 public:
  virtual ~ThreadObserver() = default;
  /// Tensor::to_vector or item read values (reads inside a ValidationReadScope are not reported).
  virtual void host_read() = 0;
  /// random::next_stream handed out a stream position.
  virtual void stream_draw() = 0;
};

/// Installs `observer` (or none) for this thread and returns the one it replaces, which the caller puts
/// back when it is done (observers nest: an observer may forward what it sees to the one it replaced).
ThreadObserver* exchange_thread_observer(ThreadObserver* observer);
/// This thread's observer, or null.
ThreadObserver* thread_observer();

}  // namespace keel::detail
