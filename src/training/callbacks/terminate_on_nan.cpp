// TerminateOnNaN (keras/src/callbacks/terminate_on_nan.py, keras-reference §9.6).
#include <cmath>
#include <cstdio>

#include "keel/core/error.h"
#include "keel/training/callbacks.h"
#include "keel/training/trainer.h"
#include "training/callbacks/python_float.h"

namespace keel::callbacks {

void TerminateOnNaN::on_batch_end(int64_t batch, Logs& logs) {
  auto it = logs.find("loss");
  if (it == logs.end() || std::isfinite(it->second)) return;
  if (options_.raise_error) {
    throw RuntimeError(keel::detail::cat("NaN or Inf loss encountered at batch ", batch, ". Loss value: ",
                                         detail::python_float_repr(it->second), ". Terminating training immediately."));
  }
  std::printf("Batch %lld: Invalid loss, terminating training\n", static_cast<long long>(batch));
  std::fflush(stdout);
  model().stop_training = true;
}

}  // namespace keel::callbacks
