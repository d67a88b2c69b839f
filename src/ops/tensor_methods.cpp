// Tensor's methods that need kernels or autograd (declared in keel/core/tensor.h).
#include "core/tensor_internals.h"
#include "keel/core/grad_mode.h"
#include "keel/ops/elementwise.h"
#include "keel/ops/manipulation.h"
#include "record.h"

namespace keel {

Tensor Tensor::reshape(const Shape& new_shape) const { return ops::reshape(*this, new_shape); }

Tensor Tensor::contiguous() const { return is_contiguous() ? *this : clone(); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  Tensor in[] = {*this};
  Tensor outs[] = {out};
  run_op(OpId::Copy, in, outs);
  return out;
}

Tensor Tensor::astype(DType dt) const { return dt == dtype() ? *this : ops::cast(*this, dt); }

Tensor Tensor::to(Device target) const {
  if (target == device()) return *this;
  // Note [Cross-device autograd]: the copy is not recorded; with only the CPU backend built there is no
  // second device to differentiate across. The CUDA backend (issue 4) adds the recorded transfer.
  KEEL_CHECK(!(grad_mode_enabled() && requires_grad()), UnimplementedError, "Tensor::to(", target.str(),
             "): gradients through device transfers are not supported yet; detach() first");
  return detail::copy_to_device(*this, target);
}

}  // namespace keel
