// Flushing denormal floats to zero (x86 MXCSR: FTZ for results, DAZ for operands) while Keel's CPU kernels run,
// as TensorFlow does on its CPU threads. Training drives Adam's second moments and small gradients into the
// denormal range, where every operation takes a microcode assist: the suite's MLP lost a third of its speed
// over 25 epochs that way. config::set_flush_denormals(false) or KEEL_FLUSH_DENORMALS=0 keep IEEE denormals.
// The CPU backend registers this as its context (register_backend_context, ops/dispatch.h): the dispatcher
// and KernelPlan::replay enter it around CPU kernels.
#pragma once

namespace keel::cpu {

/// Sets FTZ and DAZ on the calling thread for its lifetime (when flushing is enabled), restoring the
/// caller's flags after; brings the OpenMP pool's workers, which Keel and oneDNN own, to the current setting.
class ScopedFlushDenormals {
 public:
  ScopedFlushDenormals();
  ~ScopedFlushDenormals();
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
  unsigned saved_ = 0;
  bool set_ = false;
};

}  // namespace keel::cpu
