// CPU kernels of the broadcasting binary ops, comparisons, logical ops and where: the functors of
// backends/elementwise/binary.h (shared with CUDA) run by elementwise_loop. The glue has already converted
// operands to one compute dtype (bool for logical ops), so each kernel sees a single dtype.
#include <cstdint>

#include "backends/elementwise/binary.h"
#include "elementwise_loop.h"

namespace keel::cpu {
namespace {

using namespace keel::elementwise;

// kInts: also int32/int64/uint8/bool.
template <class Op, bool kInts> void arithmetic_kernel(const KernelArgs& a) {
  if (run_half_as_float32(a, &arithmetic_kernel<Op, kInts>)) return;
  visit_compute<kInts>(a.out[0].dtype(), a.op, [&]<class T>(keel::detail::TypeTag<T>) {
    elementwise_loop<T, T, T>(a, [](T x, T y) { return Op{}(x, y); });
  });
}

template <class Op> void comparison_kernel(const KernelArgs& a) {
  if (run_half_as_float32(a, &comparison_kernel<Op>)) return;
  visit_compute<true>(a.in[0].dtype(), a.op, [&]<class T>(keel::detail::TypeTag<T>) {
    elementwise_loop<bool, T, T>(a, [](T x, T y) { return Op{}(x, y); });
  });
}

template <class Op> void logical_kernel(const KernelArgs& a) {
  elementwise_loop<bool, bool, bool>(a, [](bool x, bool y) { return Op{}(x, y); });
}
void logical_not_kernel(const KernelArgs& a) {
  elementwise_loop<bool, bool>(a, [](bool x) { return LogicalNot{}(x); });
}

// where(cond, a, b) only moves elements, so it runs on their bits: one instantiation per element size
// serves every dtype.
// The select is a mask, not a branch: masks such as relu's (x > 0) are random, and a branch mispredicts on
// half the elements (it made the relu gradient a quarter of a small MLP's training step).
template <class Bits> void where_bits(const KernelArgs& a) {
  elementwise_loop<Bits, bool, Bits, Bits>(a, [](bool c, Bits x, Bits y) {
    const Bits mask = static_cast<Bits>(0) - static_cast<Bits>(c);
    return static_cast<Bits>((x & mask) | (y & static_cast<Bits>(~mask)));
  });
}
void where_kernel(const KernelArgs& a) {
  keel::detail::visit_bits(a.out[0].dtype(), "where", [&]<class B>(keel::detail::TypeTag<B>) { where_bits<B>(a); });
}

KEEL_REGISTER_KERNEL(Add, kCpu, (arithmetic_kernel<Add, true>));
KEEL_REGISTER_KERNEL(Subtract, kCpu, (arithmetic_kernel<Subtract, true>));
KEEL_REGISTER_KERNEL(Multiply, kCpu, (arithmetic_kernel<Multiply, true>));
KEEL_REGISTER_KERNEL(Divide, kCpu, (arithmetic_kernel<Divide, false>));
KEEL_REGISTER_KERNEL(Maximum, kCpu, (arithmetic_kernel<Maximum, true>));
KEEL_REGISTER_KERNEL(Minimum, kCpu, (arithmetic_kernel<Minimum, true>));
KEEL_REGISTER_KERNEL(Power, kCpu, (arithmetic_kernel<Power, true>));
KEEL_REGISTER_KERNEL(Equal, kCpu, comparison_kernel<Equal>);
KEEL_REGISTER_KERNEL(NotEqual, kCpu, comparison_kernel<NotEqual>);
KEEL_REGISTER_KERNEL(Less, kCpu, comparison_kernel<Less>);
KEEL_REGISTER_KERNEL(LessEqual, kCpu, comparison_kernel<LessEqual>);
KEEL_REGISTER_KERNEL(Greater, kCpu, comparison_kernel<Greater>);
KEEL_REGISTER_KERNEL(GreaterEqual, kCpu, comparison_kernel<GreaterEqual>);
KEEL_REGISTER_KERNEL(LogicalAnd, kCpu, logical_kernel<LogicalAnd>);
KEEL_REGISTER_KERNEL(LogicalOr, kCpu, logical_kernel<LogicalOr>);
KEEL_REGISTER_KERNEL(LogicalXor, kCpu, logical_kernel<LogicalXor>);
KEEL_REGISTER_KERNEL(LogicalNot, kCpu, logical_not_kernel);
KEEL_REGISTER_KERNEL(Where, kCpu, where_kernel);

}  // namespace
}  // namespace keel::cpu
