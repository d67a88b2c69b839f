// The op case registry and the input/comparison helpers the tables use.
#include "ops/op_cases.h"

#include <cmath>
#include <sstream>

namespace keel::testing {

std::vector<OpCase>& op_cases() {
  static std::vector<OpCase> cases;
  return cases;
}

OpCaseRegistrar::OpCaseRegistrar(std::vector<OpCase> cases) {
  for (auto& c : cases) op_cases().push_back(std::move(c));
}

Tensor rand_uniform(const Shape& shape, DType dt, uint64_t seed, double lo, double hi) {
  return random::uniform(shape, lo, hi, DType::f64, seed).astype(dt);
}

Tensor rand_away_from_zero(const Shape& shape, DType dt, uint64_t seed, double min_abs, double hi) {
  NoGradGuard no_grad;
  Tensor u = random::uniform(shape, min_abs, hi, DType::f64, seed);
  Tensor s = random::uniform(shape, 0.0, 1.0, DType::f64, seed + 7919);
  return ops::where(s < 0.5, -u, u).astype(dt);
}

Tensor rand_int(const Shape& shape, int64_t lo, int64_t hi, uint64_t seed, DType dt) {
  Tensor u = random::uniform(shape, 0.0, 1.0, DType::f64, seed);
  std::vector<double> v = u.to_vector<double>();
  std::vector<int64_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = lo + static_cast<int64_t>(std::floor(v[i] * (hi - lo)));
  return from_vector(out, shape).astype(dt);
}

Tensor non_contiguous(const Shape& shape, DType dt, uint64_t seed) {
  Shape rev(shape.rbegin(), shape.rend());
  return ops::transpose(rand_uniform(rev, dt, seed));
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(actual.shape()) << " != expected "
                                         << shape_str(expected.shape());
  std::vector<double> a = actual.to_vector<double>(), e = expected.to_vector<double>();
  double worst = 0;
  int64_t worst_i = -1;
  for (size_t i = 0; i < a.size(); ++i) {
    bool both_nan = std::isnan(a[i]) && std::isnan(e[i]);
    bool same_inf = std::isinf(a[i]) && a[i] == e[i];
    if (both_nan || same_inf) continue;
    double err = std::abs(a[i] - e[i]) - (atol + rtol * std::abs(e[i]));
    if (!(err <= 0) && (worst_i < 0 || !(err <= worst))) {
      worst = err;
      worst_i = static_cast<int64_t>(i);
    }
  }
  if (worst_i < 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "element " << worst_i << " (flat) is " << a[worst_i] << ", expected "
                                       << e[worst_i] << " (rtol " << rtol << ", atol " << atol << ")";
}

}  // namespace keel::testing
