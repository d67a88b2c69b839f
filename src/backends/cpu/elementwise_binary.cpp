// CPU kernels of the broadcasting binary ops, comparisons, logical ops and where. The glue has already
// converted operands to one compute dtype (bool for logical ops), so each kernel sees a single dtype.
#include <cmath>
#include <cstdint>

#include "elementwise_loop.h"

namespace keel::cpu {
namespace {

// --- arithmetic (T is the operand and result type) ---
struct Add {
  template <class T> T operator()(T a, T b) const { return static_cast<T>(a + b); }
};
struct Subtract {
  template <class T> T operator()(T a, T b) const { return static_cast<T>(a - b); }
};
struct Multiply {
  template <class T> T operator()(T a, T b) const { return static_cast<T>(a * b); }
};
struct Divide {
  template <class T> T operator()(T a, T b) const { return a / b; }
};
// NaN in either operand gives NaN (like torch.maximum / numpy.maximum).
struct Maximum {
  template <class T> T operator()(T a, T b) const { return a != a ? a : (a > b ? a : b); }
};
struct Minimum {
  template <class T> T operator()(T a, T b) const { return a != a ? a : (a < b ? a : b); }
};
// Integers: exact repeated squaring (wrapping like NumPy); a negative exponent gives 1/a truncated.
struct Power {
  template <class T> T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      return std::pow(a, b);
    } else {
      const int64_t base = static_cast<int64_t>(a);
      int64_t e = static_cast<int64_t>(b);
      if (e < 0) return static_cast<T>(base == 1 ? 1 : base == -1 ? (e % 2 ? -1 : 1) : 0);
      uint64_t r = 1, x = static_cast<uint64_t>(base);
      for (; e > 0; e >>= 1, x *= x)
        if (e & 1) r *= x;
      return static_cast<T>(static_cast<int64_t>(r));
    }
  }
};

// --- comparisons (bool result) ---
struct Equal {
  template <class T> bool operator()(T a, T b) const { return a == b; }
};
struct NotEqual {
  template <class T> bool operator()(T a, T b) const { return a != b; }
};
struct Less {
  template <class T> bool operator()(T a, T b) const { return a < b; }
};
struct LessEqual {
  template <class T> bool operator()(T a, T b) const { return a <= b; }
};
struct Greater {
  template <class T> bool operator()(T a, T b) const { return a > b; }
};
struct GreaterEqual {
  template <class T> bool operator()(T a, T b) const { return a >= b; }
};

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

// Logical ops: the glue converts operands to bool, whose bytes are 0 or 1.
void logical_and_kernel(const KernelArgs& a) {
  elementwise_loop<bool, bool, bool>(a, [](bool x, bool y) { return x & y; });
}
void logical_or_kernel(const KernelArgs& a) {
  elementwise_loop<bool, bool, bool>(a, [](bool x, bool y) { return x | y; });
}
void logical_xor_kernel(const KernelArgs& a) {
  elementwise_loop<bool, bool, bool>(a, [](bool x, bool y) { return x != y; });
}
void logical_not_kernel(const KernelArgs& a) {
  elementwise_loop<bool, bool>(a, [](bool x) { return !x; });
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
  switch (dtype_size(a.out[0].dtype())) {
    case 1:
      return where_bits<uint8_t>(a);
    case 2:
      return where_bits<uint16_t>(a);
    case 4:
      return where_bits<uint32_t>(a);
    case 8:
      return where_bits<uint64_t>(a);
  }
  throw DTypeError(keel::detail::cat("where: unsupported dtype ", dtype_name(a.out[0].dtype())));
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
KEEL_REGISTER_KERNEL(LogicalAnd, kCpu, logical_and_kernel);
KEEL_REGISTER_KERNEL(LogicalOr, kCpu, logical_or_kernel);
KEEL_REGISTER_KERNEL(LogicalXor, kCpu, logical_xor_kernel);
KEEL_REGISTER_KERNEL(LogicalNot, kCpu, logical_not_kernel);
KEEL_REGISTER_KERNEL(Where, kCpu, where_kernel);

}  // namespace
}  // namespace keel::cpu
