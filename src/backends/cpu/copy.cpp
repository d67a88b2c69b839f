// Copy (strided -> contiguous) and Cast (dtype conversion) kernels for the CPU backend.
#include "core/dtype_dispatch.h"
#include "core/tensor_internals.h"
#include "ops/dispatch.h"

namespace keel::cpu {
namespace {

// Copy and Cast share one body: detail::copy_cpu handles any strides and converts dtypes.
void copy_cpu_kernel(const KernelArgs& a) { detail::copy_cpu(a.in[0], a.out[0]); }

KEEL_REGISTER_KERNEL(Copy, kCpu, copy_cpu_kernel);
KEEL_REGISTER_KERNEL(Cast, kCpu, copy_cpu_kernel);

}  // namespace
}  // namespace keel::cpu
