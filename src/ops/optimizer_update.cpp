// Validation and dispatch of the fused optimizer updates (optimizer_update.h).
#include "optimizer_update.h"

#include <span>
#include <string_view>

#include "dispatch.h"

namespace keel {
namespace {

bool same_span(const Tensor& a, const Tensor& b) { return a.storage() == b.storage() && a.offset() == b.offset(); }

// Output k may be input k itself (in place) but must not overlap any other operand: the kernels read and
// write element i of each tensor in one iteration, which is only safe for exact aliasing.
void check_operands(OpId op, std::span<const Tensor> in, std::span<const Tensor> out,
                    std::span<const char* const> roles) {
  const std::string_view name = op_name(op);
  const Tensor& ref = in[0];
  auto check_one = [&](const Tensor& t, const char* role) {
    KEEL_CHECK(t.defined(), ValueError, name, ": ", role, " is an undefined tensor");
    KEEL_CHECK(t.dtype() == DType::f32, DTypeError, name, ": ", role, " must be float32, got ", dtype_name(t.dtype()));
    KEEL_CHECK(t.shape() == ref.shape(), ShapeError, name, ": ", role, " has shape ", shape_str(t.shape()),
               " but the variable has shape ", shape_str(ref.shape()));
    KEEL_CHECK(t.is_contiguous(), ValueError, name, ": ", role, " must be contiguous");
    KEEL_CHECK(t.device() == ref.device(), ValueError, name, ": ", role, " is on ", t.device().str(),
               " but the variable is on ", ref.device().str());
  };
  for (size_t i = 0; i < in.size(); ++i) check_one(in[i], roles[i]);
  for (size_t k = 0; k < out.size(); ++k) {
    check_one(out[k], "an output");
    if (ref.numel() == 0) continue;  // nothing is read or written
    for (size_t j = 0; j < in.size(); ++j) {
      if (j == k && same_span(out[k], in[j])) continue;
      KEEL_CHECK(out[k].storage() != in[j].storage(), ValueError, name, ": output ", k, " shares memory with the ",
                 roles[j], " (only writing an operand onto itself is allowed)");
    }
    for (size_t j = 0; j < k; ++j)
      KEEL_CHECK(out[k].storage() != out[j].storage(), ValueError, name, ": outputs ", j, " and ", k, " share memory");
  }
}

}  // namespace

bool fused_update_supported(std::initializer_list<Tensor> operands) {
  const Tensor& ref = *operands.begin();
  for (const Tensor& t : operands) {
    if (!t.defined() || t.dtype() != DType::f32 || !t.is_contiguous()) return false;
    if (t.shape() != ref.shape() || !(t.device() == ref.device())) return false;
  }
  return true;
}

void adam_update(const Tensor& var, const Tensor& m, const Tensor& v, const Tensor& grad, const Tensor& var_out,
                 const Tensor& m_out, const Tensor& v_out, const AdamUpdateAttrs& attrs) {
  const Tensor in[] = {var, m, v, grad};
  const Tensor out[] = {var_out, m_out, v_out};
  static constexpr const char* kRoles[] = {"the variable", "the momentum", "the velocity", "the gradient"};
  check_operands(OpId::AdamUpdate, in, out, kRoles);
  dispatch(OpId::AdamUpdate, in, out, &attrs);
}

void sgd_momentum_update(const Tensor& var, const Tensor& momentum, const Tensor& grad, const Tensor& var_out,
                         const Tensor& momentum_out, const SgdMomentumUpdateAttrs& attrs) {
  const Tensor in[] = {var, momentum, grad};
  const Tensor out[] = {var_out, momentum_out};
  static constexpr const char* kRoles[] = {"the variable", "the momentum", "the gradient"};
  check_operands(OpId::SgdMomentumUpdate, in, out, kRoles);
  dispatch(OpId::SgdMomentumUpdate, in, out, &attrs);
}

}  // namespace keel
