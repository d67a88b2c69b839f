// keras.regularizers: penalties against the formulas of Keras's regularizers_test.py computed here in double
// precision, gradients by finite differences, identifiers, configs and argument errors.
#include "keel/regularizers/regularizers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "keel/core/error.h"
#include "test_util.h"

namespace keel {
namespace {

// A 3×4 matrix with mixed signs and no two rows parallel.
const std::vector<double> kValues = {0.5, -1.25, 0.75, 2.0, -0.3, 0.8, 1.1, -0.6, 1.5, 0.2, -0.9, 0.4};
const Shape kShape = {3, 4};

Tensor matrix(DType dtype = DType::f64) { return from_vector(kValues, kShape).astype(dtype); }

double sum_abs(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::abs(x);
  return s;
}
double sum_sq(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return s;
}

// Keras's test: factor · 0.5 · Σ|V Vᵀ · (1 − I)| / (n(n−1)/2) with V the rows (or columns) scaled to unit norm.
double orthogonal_reference(const std::vector<double>& a, int64_t rows, int64_t cols, double factor, bool by_rows) {
  const int64_t n = by_rows ? rows : cols, len = by_rows ? cols : rows;
  auto at = [&](int64_t vec, int64_t k) { return by_rows ? a[vec * cols + k] : a[k * cols + vec]; };
  std::vector<double> norm(n, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < len; ++k) norm[i] += at(i, k) * at(i, k);
    norm[i] = std::sqrt(norm[i]);
  }
  double total = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      if (i == j) continue;
      double dot = 0;
      for (int64_t k = 0; k < len; ++k) dot += at(i, k) * at(j, k);
      total += std::abs(dot / (norm[i] * norm[j]));
    }
  return factor * 0.5 * total / (n * (n - 1.0) / 2.0);
}

TEST(Regularizers, PenaltiesMatchKerasFormulas) {
  const Tensor x = matrix();
  EXPECT_NEAR(regularizers::L1(0.1)(x).item<double>(), 0.1 * sum_abs(kValues), 1e-12);
  EXPECT_NEAR(regularizers::L2(0.05)(x).item<double>(), 0.05 * sum_sq(kValues), 1e-12);
  EXPECT_NEAR(regularizers::L1L2({.l1 = 0.02, .l2 = 0.3})(x).item<double>(),
              0.02 * sum_abs(kValues) + 0.3 * sum_sq(kValues), 1e-12);
  // The orthogonal penalty multiplies matrices, which the CPU backend does in float32 only.
  const Tensor x32 = matrix(DType::f32);
  EXPECT_NEAR(regularizers::OrthogonalRegularizer({.factor = 0.1, .mode = "rows"})(x32).item<float>(),
              orthogonal_reference(kValues, 3, 4, 0.1, true), 1e-7);
  EXPECT_NEAR(regularizers::OrthogonalRegularizer({.factor = 0.2, .mode = "columns"})(x32).item<float>(),
              orthogonal_reference(kValues, 3, 4, 0.2, false), 1e-7);
}

TEST(Regularizers, PenaltyHasTheInputsDtype) {
  const Tensor p = regularizers::L2(0.01)(matrix(DType::f32));
  EXPECT_EQ(p.dtype(), DType::f32);
  EXPECT_EQ(p.ndim(), 0);
  EXPECT_NEAR(p.item<double>(), 0.01 * sum_sq(kValues), 1e-6);
}

// Central differences in `dtype` with step h; the tolerance is relative to max(1, |fd|).
void expect_gradients_match(const Regularizer& r, DType dtype, double h, double tolerance) {
  SCOPED_TRACE(r.get_config().dump());
  auto penalty = [&](const std::vector<double>& v) {
    return r(from_vector(v, kShape).astype(dtype)).astype(DType::f64).item<double>();
  };
  Tensor x = matrix(dtype);
  x.requires_grad_();
  r(x).backward();
  const std::vector<double> grad = x.grad().astype(DType::f64).to_vector<double>();
  for (size_t i = 0; i < kValues.size(); ++i) {
    std::vector<double> plus = kValues, minus = kValues;
    plus[i] += h;
    minus[i] -= h;
    const double fd = (penalty(plus) - penalty(minus)) / (2 * h);
    EXPECT_NEAR(grad[i], fd, tolerance * std::max(1.0, std::abs(fd))) << "element " << i;
  }
}

TEST(Regularizers, GradientsMatchFiniteDifferences) {
  for (const Regularizer& r :
       {regularizers::L1(0.1), regularizers::L2(0.05), regularizers::L1L2({.l1 = 0.02, .l2 = 0.3})})
    expect_gradients_match(r, DType::f64, 1e-6, 1e-7);
  for (const Regularizer& r : {regularizers::OrthogonalRegularizer({.factor = 0.1}),
                               regularizers::OrthogonalRegularizer({.factor = 0.1, .mode = "columns"})})
    expect_gradients_match(r, DType::f32, 1e-2, 1e-4);
}

TEST(Regularizers, IdentifiersResolveAsKerasGet) {
  const Tensor x = matrix();
  // Strings take each class's defaults: L1(0.01), L2(0.01), L1L2(0, 0), OrthogonalRegularizer(0.01, "rows").
  EXPECT_NEAR(Regularizer("l1")(x).item<double>(), 0.01 * sum_abs(kValues), 1e-12);
  EXPECT_NEAR(Regularizer("L2")(x).item<double>(), 0.01 * sum_sq(kValues), 1e-12);
  EXPECT_EQ(Regularizer("l1l2")(x).item<double>(), 0.0);
  EXPECT_NEAR(Regularizer("orthogonal_regularizer")(matrix(DType::f32)).item<float>(),
              orthogonal_reference(kValues, 3, 4, 0.01, true), 1e-8);
  // Keras's to_snake_case makes "l1l2" of L1L2, so "l1_l2" is not an identifier.
  testing::expect_error<ValueError>([] { Regularizer r("l1_l2"); }, "Could not interpret regularizer identifier",
                                    "'l1_l2'", "l1l2");
}

TEST(Regularizers, ConfigsAreKerasAndRoundTrip) {
  EXPECT_EQ(regularizers::L2(0.5).get_config(),
            nlohmann::json::parse(R"({"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5},
                                      "registered_name": null})"));
  EXPECT_EQ(regularizers::L1L2({.l1 = 0.1}).get_config().at("config"),
            nlohmann::json::parse(R"({"l1": 0.1, "l2": 0.0})"));
  EXPECT_EQ(regularizers::OrthogonalRegularizer({.mode = "columns"}).get_config().at("config"),
            nlohmann::json::parse(R"({"factor": 0.01, "mode": "columns"})"));
  EXPECT_TRUE(Regularizer().get_config().is_null());
  EXPECT_FALSE(Regularizer::from_config(nullptr));
  const Tensor x = matrix(DType::f32);
  for (const Regularizer& r : {regularizers::L1(0.3), regularizers::L1L2({.l1 = 0.1, .l2 = 0.2}),
                               regularizers::OrthogonalRegularizer({.factor = 0.4, .mode = "columns"})}) {
    const Regularizer back = Regularizer::from_config(r.get_config());
    EXPECT_EQ(back.get_config(), r.get_config());
    EXPECT_EQ(back(x).item<float>(), r(x).item<float>());
  }
}

TEST(Regularizers, BadArgumentsNameWhatIsWrong) {
  testing::expect_error<ValueError>([] { regularizers::L1(-0.1); }, "Invalid value for argument l1", "non-negative",
                                    "l1=-0.1");
  testing::expect_error<ValueError>([] { regularizers::L2(std::nan("")); }, "argument l2");
  testing::expect_error<ValueError>([] { regularizers::L1L2({.l2 = INFINITY}); }, "argument l2");
  testing::expect_error<ValueError>([] { regularizers::OrthogonalRegularizer({.mode = "diagonal"}); }, "`mode`",
                                    "mode=diagonal");
  testing::expect_error<ValueError>(
      [] {
        regularizers::OrthogonalRegularizer()(zeros({2, 2, 2}));
      },
      "rank 2", "(2, 2, 2)");
  testing::expect_error<ValueError>([] { Regularizer::from_config(nlohmann::json{{"class_name", "L3"}}); }, "'L3'");
  testing::expect_error<ValueError>(
      [] {
        Regularizer::from_config(nlohmann::json{{"class_name", "L2"}, {"config", {{"l2", "big"}}}});
      },
      "\"l2\"", "must be a number");
  testing::expect_error<ValueError>([] { Regularizer()(zeros({2})); }, "empty");
}

}  // namespace
}  // namespace keel
