// Helpers of the convolution/pooling layer tests: the closed-form patterns reference_values.h is computed from,
// and an element-wise comparison.
#pragma once
#include <cstdint>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "keel/core/tensor.h"

namespace keel::testing {

/// pattern(shape, a, b, s)[i] = s·sin(a·i + b) over the row-major flat index i (as the reference script).
inline Tensor pattern(const Shape& shape, double a, double b, double s) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(s * std::sin(a * static_cast<double>(i) + b));
  return from_vector(v, shape);
}
inline Tensor input_pattern(const Shape& shape) { return pattern(shape, 0.37, 0.1, 1.0); }
inline Tensor kernel_pattern(const Shape& shape) { return pattern(shape, 0.23, 0.2, 0.5); }
inline Tensor bias_pattern(int64_t n) { return pattern({n}, 0.9, 0.3, 0.2); }

inline void expect_values(const Tensor& y, const Shape& shape, const std::vector<float>& expected, double tol = 1e-4) {
  ASSERT_EQ(y.shape(), shape);
  auto got = y.to_vector<float>();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol) << "element " << i;
}

}  // namespace keel::testing
