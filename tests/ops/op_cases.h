// The op test table (after PyTorch's OpInfo): each OpCase says how to make inputs and how to call one op
// configuration. Generic suites (op_suite.cpp) run every case: forward against the reference kernels,
// float64 gradients against central finite differences, float32 CPU gradients against the reference
// backward, and forward + gradients against PyTorch fixtures (golden_test.cpp). Families add cases in
// tests/ops/table_<family>.cpp with KEEL_OP_CASES.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "keel/keel.h"
#include "ops/op_id.h"

namespace keel::testing {

struct OpCase {
  std::string name;                     // unique; the PyTorch fixture of the same name is checked against it
  std::vector<OpId> covers;             // primitive ops this case exercises (coverage check)
  /// Inputs in dtype `dt` (float32 or float64). Integer inputs (indices, labels) keep their own dtype.
  /// Use case_rng(...) helpers so every call gives the same values.
  std::function<std::vector<Tensor>(DType dt)> make_inputs;
  /// The computation under test; may build views (transpose, slices) of its inputs first.
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  /// Inputs whose gradient is checked (empty: forward-only, e.g. comparisons, argmax, one_hot).
  std::vector<size_t> grad_inputs;
  double fwd_rtol = 1e-5, fwd_atol = 1e-5;    // float32 CPU vs reference
  double grad_rtol = 1e-5, grad_atol = 1e-6;  // float64 autograd vs finite differences
  double fd_step = 1e-6;
};

std::vector<OpCase>& op_cases();
struct OpCaseRegistrar {
  explicit OpCaseRegistrar(std::vector<OpCase> cases);
};

// --- input helpers (deterministic: each call with the same seed gives the same values) ---
/// Uniform in [lo, hi) in dtype dt.
Tensor rand_uniform(const Shape& shape, DType dt, uint64_t seed, double lo = -1.0, double hi = 1.0);
/// Like rand_uniform but every |value| >= min_abs (keeps inputs away from kinks such as relu's 0).
Tensor rand_away_from_zero(const Shape& shape, DType dt, uint64_t seed, double min_abs = 0.1, double hi = 1.0);
/// Integers uniform in [lo, hi) as int64.
Tensor rand_int(const Shape& shape, int64_t lo, int64_t hi, uint64_t seed, DType dt = DType::i64);
/// The transposed view of a contiguous tensor built as shape reversed: a non-contiguous input.
Tensor non_contiguous(const Shape& shape, DType dt, uint64_t seed);

/// max |a-b| <= atol + rtol·|b| elementwise; on failure a message naming the worst element.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rtol, double atol);

}  // namespace keel::testing

#define KEEL_OP_CASES_CONCAT2(a, b) a##b
#define KEEL_OP_CASES_CONCAT(a, b) KEEL_OP_CASES_CONCAT2(a, b)
/// KEEL_OP_CASES({ OpCase{...}, ... }); registers cases at load time.
#define KEEL_OP_CASES(...) \
  static ::keel::testing::OpCaseRegistrar KEEL_OP_CASES_CONCAT(keel_op_cases_, __LINE__)(__VA_ARGS__)
