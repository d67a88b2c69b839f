// Reductions: error messages (bad axes, empty max/min/argmax) and the behaviour the op table cannot
// express: result dtypes, NaN propagation, first-occurrence argmax, zeros in prod's gradient, and
// agreement of the threaded kernels with the reference on larger shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "keel/keel.h"
#include "ops/dispatch.h"
#include "test_util.h"
#include "ops/op_cases.h"

namespace keel {
namespace {

using keel::testing::expect_error;
using keel::testing::throws_with;

TEST(ReductionErrors, AxisOutOfRangeNamesOpAxisAndRank) {
  Tensor x = zeros({2, 3});
  EXPECT_TRUE(throws_with<IndexError>([&] { ops::sum(x, {2}); }, {"sum", "axis 2", "rank 2"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { ops::mean(x, {-3}); }, {"mean", "axis -3"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { ops::argmax(x, 5); }, {"argmax", "axis 5"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::max(x, {1, -1}); }, {"max", "repeated axis"}));
}

TEST(ReductionErrors, MaxMinOverEmptyAxisNameOpAndShape) {
  Tensor x = zeros({2, 0});
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::max(x, {1}); }, {"max", "(2, 0)", "axis 1"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::min(x); }, {"min", "(2, 0)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::argmin(x); }, {"argmin", "(2, 0)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::argmax(x, 1); }, {"argmax", "(2, 0)"}));
  // Reducing only the non-empty axis is fine: the result is empty.
  EXPECT_EQ(ops::max(x, {0}).shape(), (Shape{0}));
  // sum and prod have identities.
  EXPECT_EQ(ops::sum(x, {1}).to_vector<float>(), (std::vector<float>{0, 0}));
  EXPECT_EQ(ops::prod(x, {1}).to_vector<float>(), (std::vector<float>{1, 1}));
}

TEST(ReductionBehaviour, ResultDtypes) {
  EXPECT_EQ(ops::sum(zeros({3}, DType::i32)).dtype(), DType::i32);
  EXPECT_EQ(ops::sum(zeros({3}, DType::i64)).dtype(), DType::i64);
  EXPECT_EQ(ops::sum(ones({3}, DType::b8)).dtype(), DType::i32);
  EXPECT_EQ(ops::sum(ones({3}, DType::b8)).item<int>(), 3);
  EXPECT_EQ(ops::sum(ones({3}, DType::u8)).dtype(), DType::i32);
  EXPECT_EQ(ops::prod(full({3}, 2, DType::u8)).item<int>(), 8);
  EXPECT_EQ(ops::max(zeros({3}, DType::u8)).dtype(), DType::u8);
  EXPECT_EQ(ops::mean(from_vector<int32_t>({1, 2}, {2})).dtype(), DType::f32);
  EXPECT_FLOAT_EQ(ops::mean(from_vector<int32_t>({1, 2}, {2})).item<float>(), 1.5f);
  EXPECT_EQ(ops::var(zeros({3}, DType::i64)).dtype(), DType::f32);
  EXPECT_EQ(ops::argmax(zeros({3})).dtype(), DType::i64);
  EXPECT_EQ(ops::sum(ones({4}, DType::f16)).dtype(), DType::f16);
  EXPECT_FLOAT_EQ(ops::sum(ones({4}, DType::f16)).item<float>(), 4.0f);
}

TEST(ReductionBehaviour, KeepdimsAndArgmaxFlattenedShapes) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(ops::sum(x, {0, 2}, true).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(ops::sum(x, {-1}).shape(), (Shape{2, 3}));
  EXPECT_EQ(ops::sum(x).shape(), Shape{});
  EXPECT_EQ(ops::argmax(x).shape(), Shape{});
  EXPECT_EQ(ops::argmax(x, std::nullopt, true).shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(ops::argmin(x, 1, true).shape(), (Shape{2, 1, 4}));
}

TEST(ReductionBehaviour, NanPropagatesThroughMaxAndWinsArgmax) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = from_vector<float>({1, nan, 3, 2, 5, nan}, {2, 3});
  std::vector<float> m = ops::max(x, {1}).to_vector<float>();
  EXPECT_TRUE(std::isnan(m[0]) && std::isnan(m[1]));
  EXPECT_EQ(ops::argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(ops::argmin(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1}));
  {
    ReferenceKernelsScope reference;
    EXPECT_EQ(ops::argmax(x, 1).to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(ops::argmin(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1}));
  }
}

TEST(ReductionBehaviour, ArgmaxReturnsFirstOccurrence) {
  Tensor x = from_vector<float>({1, 4, 4, 0, 4, 2}, {2, 3});
  EXPECT_EQ(ops::argmax(x).item<int64_t>(), 1);
  EXPECT_EQ(ops::argmax(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 0}));
}

TEST(ReductionBehaviour, ProdGradientWithZerosHasNoNan) {
  Tensor x = from_vector<float>({2, 0, 3, 0, 0, 5}, {2, 3}).requires_grad_();
  ops::sum(ops::prod(x, {1})).backward();
  // Row 0 has one zero: only the zero gets the product of the others (6). Row 1 has two: all zero.
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0, 6, 0, 0, 0, 0}));
}

TEST(ReductionBehaviour, LogsumexpOfAllMinusInfinityRowIsMinusInfinity) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor x = from_vector<float>({-inf, -inf, 1000, 1000}, {2, 2});
  std::vector<float> r = ops::logsumexp(x, {1}).to_vector<float>();
  EXPECT_EQ(r[0], -inf);
  EXPECT_NEAR(r[1], 1000 + std::log(2.0f), 1e-3);
}

// The threaded and multi-pass paths against the reference on shapes above the serial threshold.
TEST(ReductionBehaviour, LargeShapesMatchReference) {
  Tensor x = testing::rand_uniform({64, 33, 40}, DType::f32, 7, 0.5, 1.5);
  std::vector<std::vector<int64_t>> axes_sets = {{0}, {1}, {2}, {0, 2}, {0, 1}, {1, 2}, {}};
  for (const auto& axes : axes_sets) {
    for (int op = 0; op < 3; ++op) {
      auto run = [&](const Tensor& t) {
        return op == 0 ? ops::sum(t, axes) : op == 1 ? ops::max(t, axes) : ops::min(t, axes);
      };
      Tensor fast = run(x), fast_t = run(ops::transpose(ops::transpose(x, {2, 1, 0}).contiguous(), {2, 1, 0}));
      Tensor ref;
      {
        ReferenceKernelsScope reference;
        ref = run(x);
      }
      EXPECT_TRUE(testing::all_close(fast, ref, 2e-6, 1e-5)) << "op " << op << " axes " << shape_str(axes);
      EXPECT_TRUE(testing::all_close(fast_t, ref, 2e-6, 1e-5)) << "op " << op << " axes " << shape_str(axes);
    }
  }
  // Few columns (the narrow-column path), with row counts that leave partial lane groups.
  for (const Shape& shape : {Shape{1001, 3}, Shape{777, 5, 2}, Shape{40000, 7}, Shape{9, 4099, 2}}) {
    Tensor y = testing::rand_uniform(shape, DType::f32, 9, 0.5, 1.5);
    for (int op = 0; op < 3; ++op) {
      auto run = [&](const Tensor& t) {
        const ops::Axes axes = t.ndim() == 3 && t.dim(0) == 9 ? ops::Axes{1} : ops::Axes{0};
        return op == 0 ? ops::sum(t, axes) : op == 1 ? ops::max(t, axes) : ops::min(t, axes);
      };
      Tensor fast = run(y), ref;
      {
        ReferenceKernelsScope reference;
        ref = run(y);
      }
      EXPECT_TRUE(testing::all_close(fast, ref, 2e-6, 1e-5)) << "op " << op << " shape " << shape_str(shape);
    }
  }
  Tensor big = testing::rand_uniform({3, 70000}, DType::f32, 8);
  Tensor am = ops::argmax(big, 1), am0 = ops::argmin(ops::transpose(big), 0);
  ReferenceKernelsScope reference;
  EXPECT_EQ(am.to_vector<int64_t>(), ops::argmax(big, 1).to_vector<int64_t>());
  EXPECT_EQ(am0.to_vector<int64_t>(), ops::argmin(big, 1).to_vector<int64_t>());
}

}  // namespace
}  // namespace keel
