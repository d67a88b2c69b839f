// Per-tensor autograd state, behind TensorImpl::autograd. Kept in core so a Tensor can carry its gradient
// and the node that produced it without core knowing how backward runs. Internal: users reach it through
// Tensor's requires_grad(), grad() and grad_fn(); ops' record() and the autograd engine read it here.
#pragma once
#include <memory>

#include "keel/core/tensor.h"

namespace keel {

struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                        // accumulated gradient (leaves)
  std::shared_ptr<GradNode> grad_fn;  // node that produced this tensor (non-leaves)
  int output_index = 0;               // which output of grad_fn this tensor is
};

}  // namespace keel
