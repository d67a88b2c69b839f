// keras.constraints: projections against Keras's constraints_test.py examples and the formulas computed here in
// double precision; identifiers, configs and argument errors.
#include "keel/constraints/constraints.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "keel/core/error.h"
#include "test_util.h"

namespace keel {
namespace {

constexpr double kEps = 1e-7;  // keras.backend.epsilon()

// Keras's MaxNorm example: columns of norm 0, 1, 3 and 3·√3 (the transpose of its 4×3 array).
const std::vector<double> kColumns = {0, 1, 3, 3, 0, 0, 0, 3, 0, 0, 0, 3};
const Shape kShape = {3, 4};

// Norms of the columns (axis 0) or rows (axis 1) of a row-major 3×4 matrix.
std::vector<double> norms(const std::vector<double>& a, int axis) {
  std::vector<double> n(axis == 0 ? 4 : 3, 0.0);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) n[axis == 0 ? j : i] += a[i * 4 + j] * a[i * 4 + j];
  for (double& x : n) x = std::sqrt(x);
  return n;
}

void expect_all_near(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

TEST(Constraints, MaxNormMatchesKerasExample) {
  const std::vector<double> out =
      constraints::MaxNorm({.max_value = 2.0})(from_vector(kColumns, kShape)).to_vector<double>();
  const double r3 = 2.0 / std::sqrt(3.0);
  // Keras's target: norms above 2 scaled down to 2, the others (0 and 1) kept (up to ε).
  expect_all_near(out, {0, 1 / (1 + kEps), 2, r3, 0, 0, 0, r3, 0, 0, 0, r3}, 1e-6);
}

TEST(Constraints, ProjectionsMatchTheirFormulas) {
  const std::vector<double> a = {0.5, -1.25, 0.75, 2.0, -0.3, 0.8, 1.1, -0.6, 1.5, 0.2, -0.9, 0.4};
  const Tensor w = from_vector(a, kShape);
  for (int axis : {0, 1}) {
    SCOPED_TRACE(axis);
    const std::vector<double> n = norms(a, axis);
    std::vector<double> max_norm(12), min_max(12), unit(12);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 4; ++j) {
        const int k = i * 4 + j;
        const double nk = n[axis == 0 ? j : i];
        max_norm[k] = a[k] * std::min(nk, 1.2) / (kEps + nk);
        min_max[k] = a[k] * (0.25 * std::clamp(nk, 1.3, 1.6) + 0.75 * nk) / (kEps + nk);
        unit[k] = a[k] / (kEps + nk);
      }
    expect_all_near(constraints::MaxNorm({.max_value = 1.2, .axis = {axis}})(w).to_vector<double>(), max_norm, 1e-12);
    expect_all_near(constraints::MinMaxNorm({.min_value = 1.3, .max_value = 1.6, .rate = 0.25, .axis = {axis}})(w)
                        .to_vector<double>(),
                    min_max, 1e-12);
    expect_all_near(constraints::UnitNorm(axis)(w).to_vector<double>(), unit, 1e-12);
  }
  std::vector<double> non_neg = a;
  for (double& x : non_neg) x = x >= 0 ? x : 0;
  expect_all_near(constraints::NonNeg()(w).to_vector<double>(), non_neg, 0);
  // Norms over both axes: one norm for the whole matrix.
  double all = 0;
  for (double x : a) all += x * x;
  all = std::sqrt(all);
  std::vector<double> scaled = a;
  for (double& x : scaled) x = x * 2.0 / (kEps + all);
  expect_all_near(constraints::MaxNorm({.max_value = 2.0, .axis = {0, 1}})(w).to_vector<double>(), scaled, 1e-12);
}

TEST(Constraints, KeepTheValuesDtype) {
  const Tensor w = from_vector(std::vector<float>{-1.0f, 2.0f, 3.0f, -4.0f}, {2, 2});
  for (const Constraint& c :
       {constraints::MaxNorm(), constraints::NonNeg(), constraints::UnitNorm(), constraints::MinMaxNorm()})
    EXPECT_EQ(c(w).dtype(), DType::f32) << c.class_name();
}

TEST(Constraints, IdentifiersConfigsAndRoundTrips) {
  EXPECT_EQ(Constraint("max_norm").get_config(),
            nlohmann::json::parse(R"({"module": "keras.constraints", "class_name": "MaxNorm",
                                      "config": {"max_value": 2.0, "axis": 0}, "registered_name": null})"));
  EXPECT_EQ(Constraint("non_neg").class_name(), "NonNeg");
  EXPECT_EQ(Constraint("UnitNorm").get_config().at("config"), nlohmann::json::parse(R"({"axis": 0})"));
  EXPECT_EQ(Constraint("min_max_norm").get_config().at("config"),
            nlohmann::json::parse(R"({"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0})"));
  EXPECT_EQ(constraints::MaxNorm({.axis = {0, 1, 2}}).get_config().at("config").at("axis"),
            nlohmann::json::parse("[0, 1, 2]"));
  EXPECT_TRUE(Constraint().get_config().is_null());
  const Tensor w = from_vector(std::vector<double>{0.5, -1.25, 0.75, 2.0, -0.3, 0.8}, {2, 3});
  for (const Constraint& c :
       {constraints::MaxNorm({.max_value = 0.9, .axis = {1}}), constraints::NonNeg(), constraints::UnitNorm({0, 1}),
        constraints::MinMaxNorm({.min_value = 0.2, .max_value = 0.7, .rate = 0.5})}) {
    const Constraint back = Constraint::from_config(c.get_config());
    EXPECT_EQ(back.get_config(), c.get_config());
    EXPECT_EQ(back(w).to_vector<double>(), c(w).to_vector<double>());
  }
}

TEST(Constraints, BadArgumentsNameWhatIsWrong) {
  testing::expect_error<ValueError>([] { Constraint c("max_norm_2"); }, "Could not interpret constraint identifier",
                                    "'max_norm_2'", "max_norm");
  testing::expect_error<ValueError>([] { constraints::MaxNorm({.axis = {}}); }, "MaxNorm", "`axis`");
  testing::expect_error<ValueError>(
      [] {
        Constraint::from_config(nlohmann::json{{"class_name", "MaxNorm"}, {"config", {{"axis", "rows"}}}});
      },
      "\"axis\"", "\"rows\"");
  testing::expect_error<ValueError>([] { Constraint()(zeros({2})); }, "empty");
}

}  // namespace
}  // namespace keel
