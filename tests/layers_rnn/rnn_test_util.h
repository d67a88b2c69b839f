// Shared helpers of the recurrent and attention tests: deterministic weights and inputs that the
// PyTorch/NumPy reference scripts (in the test files' comments) rebuild with
//   def pat(shape, phase): n = int(np.prod(shape)); return (0.5*np.sin(0.7*np.arange(n)+phase)).reshape(shape)
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "keel/keel.h"

namespace keel::testing {

/// 0.5·sin(0.7·i + phase) over the row-major elements of `shape`.
inline Tensor pattern(const Shape& shape, double phase) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(0.5 * std::sin(0.7 * static_cast<double>(i) + phase));
  return from_vector(v, shape);
}

inline void expect_values(const Tensor& actual, const Shape& shape, const std::vector<float>& expected,
                          const std::string& what, double tol = 2e-5) {
  ASSERT_EQ(actual.shape(), shape) << what;
  std::vector<float> a = actual.to_vector<float>();
  ASSERT_EQ(a.size(), expected.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], expected[i], tol) << what << " at " << i;
}

/// Same shape, and every element within `tol` of the other's.
inline void expect_close(const Tensor& a, const Tensor& b, double tol = 1e-6) {
  ASSERT_EQ(a.shape(), b.shape());
  const std::vector<float> x = a.to_vector<float>(), y = b.to_vector<float>();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], y[i], tol) << i;
}

}  // namespace keel::testing
