// Tensor internals the other modules of Keel share and users never see: views without autograd, CPU copies
// and reads for kernels, device copies, and the host-read report that kernel plans check.
#pragma once
#include <cstdint>

#include "keel/core/tensor.h"

namespace keel::detail {

/// A new view of `base`'s storage (no autograd recorded; the ops module records).
Tensor make_view(const Tensor& base, Shape shape, Strides strides, int64_t offset);
/// Copies `src` (any strides, any dtype) into `dst` (same shape) on the CPU, converting dtypes.
void copy_cpu(const Tensor& src, const Tensor& dst);
/// t itself when contiguous, else a contiguous CPU copy (no autograd: for kernels).
Tensor contiguous_cpu(const Tensor& t);
/// A contiguous copy of `t` on `device` (no autograd; Tensor::to records).
Tensor copy_to_device(const Tensor& t, Device device);
/// Reads element `i` (row-major logical index) of a CPU tensor as double.
double read_as_double(const Tensor& t, int64_t i);

/// Reports a read of tensor values into host memory (to_vector, item) to this thread's observer
/// (core/thread_observer.h): a recorded kernel plan is replayable only if the recorded code never looked at
/// values (see ops/kernel_plan.h).
void note_host_read();
/// RAII: host reads in this scope only validate values (an error or nothing), never change what is
/// computed, so they are not reported.
class ValidationReadScope {
 public:
  ValidationReadScope();
  ~ValidationReadScope();
  ValidationReadScope(const ValidationReadScope&) = delete;
  ValidationReadScope& operator=(const ValidationReadScope&) = delete;

 private:
  bool previous_;
};
}  // namespace keel::detail
