// Device-neutral glue of the fused optimizer updates (optimizer_attrs.h). Each call reads the variable,
// its slots and the gradient and writes the updated variable and slots into the output tensors, which may
// be the input tensors themselves (in place) or fresh tensors of the same shape. Nothing is recorded for
// autograd. Operands must be float32, contiguous, of one shape and on one device (fused_update_supported).
#pragma once
#include <initializer_list>

#include "keel/core/tensor.h"
#include "optimizer_attrs.h"

namespace keel {

/// True when the fused kernels accept these operands: all defined, float32, contiguous, one shape, one device.
bool fused_update_supported(std::initializer_list<Tensor> operands);

/// Inputs (var, m, v, grad); outputs (var_out, m_out, v_out).
void adam_update(const Tensor& var, const Tensor& m, const Tensor& v, const Tensor& grad, const Tensor& var_out,
                 const Tensor& m_out, const Tensor& v_out, const AdamUpdateAttrs& attrs);

/// Inputs (var, momentum, grad); outputs (var_out, momentum_out).
void sgd_momentum_update(const Tensor& var, const Tensor& momentum, const Tensor& grad, const Tensor& var_out,
                         const Tensor& momentum_out, const SgdMomentumUpdateAttrs& attrs);

}  // namespace keel
