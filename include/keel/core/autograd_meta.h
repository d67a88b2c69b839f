// Per-tensor autograd state and the thread-local grad mode. Kept in core so a Tensor can carry its
// gradient and the node that produced it without core knowing how backward runs.
#pragma once
#include <memory>

#include "keel/core/tensor.h"

namespace keel {

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                          // accumulated gradient (leaves)
  std::shared_ptr<GradNode> grad_fn;    // node that produced this tensor (non-leaves)
  int output_index = 0;                 // which output of grad_fn this tensor is
};

/// Whether ops record autograd nodes on this thread (true by default).
bool grad_mode_enabled();
void set_grad_mode(bool enabled);

/// RAII: no graph is recorded while it lives (like torch.no_grad / tf.stop_recording).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(grad_mode_enabled()) { set_grad_mode(false); }
  ~NoGradGuard() { set_grad_mode(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace keel
