// Shared fixture for the optimizer tests: two small variables, three steps of fixed gradients, and the
// comparison against values computed independently (numpy / torch, snippets in each test file).
#pragma once
#include <gtest/gtest.h>

#include <vector>

#include "keel/core/tensor.h"
#include "keel/core/variable.h"
#include "keel/ops/elementwise.h"
#include "keel/optimizers/optimizers.h"

namespace keel::optimizers::testing {

using Values = std::vector<std::vector<float>>;

// W0 (2x2) and W1 (3,) start at these values; step k's gradients are B0·S[k] and B1·S[k].
inline const std::vector<float> kW0 = {1.0f, -2.0f, 3.0f, 0.5f};
inline const std::vector<float> kW1 = {0.1f, 0.2f, -0.3f};
inline const std::vector<float> kB0 = {0.5f, -1.0f, 0.25f, 2.0f};
inline const std::vector<float> kB1 = {-0.3f, 0.0f, 1.5f};
inline const std::vector<double> kS = {1.0, -0.5, 2.0};

inline std::vector<Variable> make_variables() {
  return {Variable("kernel", from_vector(kW0, {2, 2})), Variable("bias", from_vector(kW1, {3}))};
}

inline std::vector<Tensor> gradients(size_t step) {
  return {from_vector(kB0, {2, 2}) * kS[step], from_vector(kB1, {3}) * kS[step]};
}

/// Runs `steps` steps of `opt` on fresh variables and returns their values.
inline Values run_steps(Optimizer& opt, size_t steps = 3) {
  std::vector<Variable> vars = make_variables();
  for (size_t k = 0; k < steps; ++k) opt.apply(gradients(k), vars);
  return {vars[0].value().to_vector<float>(), vars[1].value().to_vector<float>()};
}

inline void expect_values(const Values& actual, const Values& expected, double tol = 2e-6) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t v = 0; v < expected.size(); ++v) {
    ASSERT_EQ(actual[v].size(), expected[v].size()) << "variable " << v;
    for (size_t i = 0; i < expected[v].size(); ++i)
      EXPECT_NEAR(actual[v][i], expected[v][i], tol * (1.0 + std::abs(expected[v][i])))
          << "variable " << v << " element " << i;
  }
}

}  // namespace keel::optimizers::testing
