// The broadcasting binary ops, comparisons and logical ops, defined once for the CPU loops and the CUDA
// kernel. T is the operand type (the glue has converted both operands to one compute dtype; bool for the
// logical ops). Where is not here: it moves bits, and each backend selects in its own best way.
#pragma once
#include <cstdint>
#include <type_traits>

#include "backends/elementwise/host_device.h"
#include "backends/elementwise/math.h"

namespace keel::elementwise {

// --- arithmetic (T is the operand and result type) ---
struct Add {
  template <class T> KEEL_HOST_DEVICE T operator()(T a, T b) const { return static_cast<T>(a + b); }
};
struct Subtract {
  template <class T> KEEL_HOST_DEVICE T operator()(T a, T b) const { return static_cast<T>(a - b); }
};
struct Multiply {
  template <class T> KEEL_HOST_DEVICE T operator()(T a, T b) const { return static_cast<T>(a * b); }
};
struct Divide {
  template <class T> KEEL_HOST_DEVICE T operator()(T a, T b) const { return a / b; }
};
// NaN in either operand gives NaN (like torch.maximum / numpy.maximum).
struct Maximum {
  template <class T> KEEL_HOST_DEVICE T operator()(T a, T b) const { return a != a ? a : (a > b ? a : b); }
};
struct Minimum {
  template <class T> KEEL_HOST_DEVICE T operator()(T a, T b) const { return a != a ? a : (a < b ? a : b); }
};
// Integers: exact repeated squaring (wrapping like NumPy); a negative exponent gives 1/a truncated.
struct Power {
  template <class T> KEEL_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      return math::pow(a, b);
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
  template <class T> KEEL_HOST_DEVICE bool operator()(T a, T b) const { return a == b; }
};
struct NotEqual {
  template <class T> KEEL_HOST_DEVICE bool operator()(T a, T b) const { return a != b; }
};
struct Less {
  template <class T> KEEL_HOST_DEVICE bool operator()(T a, T b) const { return a < b; }
};
struct LessEqual {
  template <class T> KEEL_HOST_DEVICE bool operator()(T a, T b) const { return a <= b; }
};
struct Greater {
  template <class T> KEEL_HOST_DEVICE bool operator()(T a, T b) const { return a > b; }
};
struct GreaterEqual {
  template <class T> KEEL_HOST_DEVICE bool operator()(T a, T b) const { return a >= b; }
};

// --- logic on bool operands, whose bytes are 0 or 1 ---
struct LogicalAnd {
  KEEL_HOST_DEVICE bool operator()(bool x, bool y) const { return x & y; }
};
struct LogicalOr {
  KEEL_HOST_DEVICE bool operator()(bool x, bool y) const { return x | y; }
};
struct LogicalXor {
  KEEL_HOST_DEVICE bool operator()(bool x, bool y) const { return x != y; }
};
struct LogicalNot {
  KEEL_HOST_DEVICE bool operator()(bool x) const { return !x; }
};

}  // namespace keel::elementwise
