// Accuracy of the float32 CPU kernels that do not call libm (exp, tanh, and sigmoid/gelu built on them):
// dense sweeps against double-precision libm, measured in ulps, plus the special values.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "keel/keel.h"

namespace keel {
namespace {

// Distance in representable floats between a and the float nearest to the exact value e.
double ulps(float a, double e) {
  const float ef = static_cast<float>(e);
  if (a == ef) return 0;
  const double ulp = std::abs(static_cast<double>(std::nextafter(ef, std::numeric_limits<float>::infinity())) - ef);
  return std::abs(static_cast<double>(a) - e) / (ulp > 0 ? ulp : std::numeric_limits<float>::denorm_min());
}

std::vector<float> sweep(float lo, float hi, int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i)
    v[i] = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n - 1);
  return v;
}

template <class Op, class Exact>
double max_ulps(const std::vector<float>& xs, Op op, Exact exact, double min_abs_exact = 0.0) {
  std::vector<float> y = op(from_vector(xs, {static_cast<int64_t>(xs.size())})).template to_vector<float>();
  double worst = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double e = exact(static_cast<double>(xs[i]));
    if (std::abs(e) < min_abs_exact) continue;
    worst = std::max(worst, ulps(y[i], e));
  }
  return worst;
}

TEST(ElementwiseAccuracy, ExpFloat32) {
  // Normal results, then the gradual-underflow range (denormals, where ulps are absolute).
  EXPECT_LE(max_ulps(
                sweep(-87.0f, 88.7f, 400001), [](const Tensor& t) { return ops::exp(t); },
                [](double x) { return std::exp(x); }),
            2.0);
  // Denormal results need IEEE gradual underflow: Keel flushes them to zero by default (config.h).
  config::set_flush_denormals(false);
  EXPECT_LE(max_ulps(
                sweep(-103.0f, -87.0f, 20001), [](const Tensor& t) { return ops::exp(t); },
                [](double x) { return std::exp(x); }),
            2.0);
  config::set_flush_denormals(true);
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> y =
      ops::exp(from_vector<float>({inf, -inf, 89.0f, -105.0f, 0.0f, std::nanf("")}, {6})).to_vector<float>();
  EXPECT_EQ(y[0], inf);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], inf);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_EQ(y[4], 1.0f);
  EXPECT_TRUE(std::isnan(y[5]));
}

TEST(ElementwiseAccuracy, TanhSigmoidGeluFloat32) {
  std::vector<float> xs = sweep(-12.0f, 12.0f, 240001);
  for (float tiny : {1e-30f, -1e-30f, 1e-7f, -3e-5f, 0.0f})
    xs.push_back(tiny);
  EXPECT_LE(max_ulps(
                xs, [](const Tensor& t) { return ops::tanh(t); }, [](double x) { return std::tanh(x); }),
            3.0);
  EXPECT_LE(
      max_ulps(
          xs, [](const Tensor& t) { return ops::sigmoid(t); }, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }),
      3.0);
  // gelu's float32 argument u carries ~1 ulp of relative error that e^(-2u) amplifies by |2u|: near
  // x = -3.9, NumPy evaluating the same formula with float32 libm calls is off by 21 ulps.
  EXPECT_LE(max_ulps(
                sweep(-4.0f, 12.0f, 160001), [](const Tensor& t) { return ops::gelu(t); },
                [](double x) {  // x/2·(1 + tanh(u)) without cancellation
                  return x / (1 + std::exp(-2 * std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
                },
                1e-30),
            24.0);
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> t = ops::tanh(from_vector<float>({inf, -inf, 100.0f, std::nanf("")}, {4})).to_vector<float>();
  EXPECT_EQ(t[0], 1.0f);
  EXPECT_EQ(t[1], -1.0f);
  EXPECT_EQ(t[2], 1.0f);
  EXPECT_TRUE(std::isnan(t[3]));
  std::vector<float> s = ops::sigmoid(from_vector<float>({inf, -inf, -200.0f}, {3})).to_vector<float>();
  EXPECT_EQ(s[0], 1.0f);
  EXPECT_EQ(s[1], 0.0f);
  EXPECT_EQ(s[2], 0.0f);
}

}  // namespace
}  // namespace keel
