// CPU kernels of the unary elementwise ops, activations and clip: the functors of
// backends/elementwise/unary.h (shared with CUDA), run by elementwise_loop (flat vectorisable loops, threads
// for large tensors). float32 computes in float.
#include "backends/elementwise/unary.h"
#include "elementwise_loop.h"
#include "ops/elementwise_attrs.h"

namespace keel::cpu {
namespace {

using namespace keel::elementwise;

// Same dtype in and out. kInts: the op also runs on int32/int64/uint8 (and bool, which the glue never
// sends to these ops).
template <class Op, bool kInts> void unary_kernel(const KernelArgs& a) {
  if (run_half_as_float32(a, &unary_kernel<Op, kInts>)) return;
  const Op op = make_op<Op>(a);
  visit_compute<kInts>(a.out[0].dtype(), a.op, [&]<class T>(keel::detail::TypeTag<T>) {
    if constexpr (std::is_same_v<T, bool>) {
      throw DTypeError(keel::detail::cat(op_name(a.op), ": the CPU kernel does not support dtype bool"));
    } else {
      elementwise_loop<T, T>(a, [op](T x) { return op(x); });
    }
  });
}

// The form is chosen once per call, not per element.
void gelu_kernel(const KernelArgs& a) {
  if (a.get<GeluAttrs>().approximate) unary_kernel<GeluTanh, false>(a);
  else unary_kernel<GeluErf, false>(a);
}

#define KEEL_REGISTER_UNARY(Op, kInts) KEEL_REGISTER_KERNEL(Op, kCpu, (unary_kernel<Op, kInts>));
KEEL_UNARY_FUNCTOR_OPS(KEEL_REGISTER_UNARY)
#undef KEEL_REGISTER_UNARY
KEEL_REGISTER_KERNEL(Gelu, kCpu, gelu_kernel);

}  // namespace
}  // namespace keel::cpu
