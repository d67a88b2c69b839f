// Reference DropoutMask: one Philox draw per element, exactly as dropout_attrs.h specifies.
#include "core/dtype_dispatch.h"
#include "keel/core/random.h"
#include "ops/dispatch.h"
#include "ops/dropout_attrs.h"

namespace keel::cpu_ref {
namespace {

void dropout_mask_ref(const KernelArgs& a) {
  const Tensor& mask = a.out[0];
  const auto& attrs = a.get<DropoutMaskAttrs>();
  detail::visit_float(mask.dtype(), "dropout", [&]<class T>(detail::TypeTag<T>) {
    T* out = static_cast<T*>(mask.data_ptr());
    for (int64_t i = 0; i < mask.numel(); ++i) {
      uint32_t r[4];
      Philox::generate(attrs.key, 0, attrs.counter + static_cast<uint64_t>(i / 4), r);
      double u = random::uint_to_unit_float(r[i % 4]);
      out[i] = static_cast<T>(u >= attrs.rate ? 1.0 / (1.0 - attrs.rate) : 0.0);
    }
  });
}

KEEL_REGISTER_KERNEL(DropoutMask, kCpuRef, dropout_mask_ref);

}  // namespace
}  // namespace keel::cpu_ref
