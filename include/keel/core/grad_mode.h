// The thread-local grad mode: whether ops record autograd nodes on this thread.
#pragma once

namespace keel {

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
