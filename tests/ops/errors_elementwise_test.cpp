// Elementwise ops: error messages (op name, shapes, values) and the dtype rules of results.
#include <gtest/gtest.h>

#include <cmath>

#include "keel/keel.h"
#include "test_util.h"

namespace keel {
namespace {

using keel::testing::expect_error;
using keel::testing::throws_with;


TEST(ElementwiseErrors, BinaryShapesThatDoNotBroadcast) {
  Tensor a = zeros({2, 3}), b = zeros({4});
  EXPECT_TRUE(throws_with<ShapeError>([&] { ops::add(a, b); }, {"add", "(2, 3)", "(4,)"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ops::multiply(a, b); }, {"multiply", "(2, 3)", "(4,)"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ops::less(a, b); }, {"less", "(2, 3)", "(4,)"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ops::logical_xor(a, b); }, {"logical_xor", "(2, 3)", "(4,)"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { a - zeros({3, 3}); }, {"subtract", "(2, 3)", "(3, 3)"}));
}

TEST(ElementwiseErrors, WhereShapesThatDoNotBroadcast) {
  Tensor c = ones({2, 1}, DType::b8);
  EXPECT_TRUE(throws_with<ShapeError>([&] { ops::where(c, zeros({2, 3}), zeros({4})); }, {"where", "(2, 3)", "(4,)"}));
  EXPECT_TRUE(throws_with<ShapeError>(
      [&] {
        ops::where(ones({5}, DType::b8), zeros({2, 3}), zeros({3}));
      },
      {"where", "(5,)", "(2, 3)"}));
}

TEST(ElementwiseErrors, UndefinedOperands) {
  Tensor x = zeros({2});
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::maximum(x, Tensor()); }, {"maximum", "second operand", "undefined"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::exp(Tensor()); }, {"exp", "undefined"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::where(Tensor(), x, x); }, {"where", "condition"}));
}

TEST(ElementwiseErrors, ClipWithNaNBound) {
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::clip(zeros({2}), std::nan(""), 1.0); }, {"clip", "NaN"}));
}

TEST(ElementwiseDTypes, ResultDTypes) {
  Tensor i32 = zeros({2}, DType::i32), i64 = zeros({2}, DType::i64), f32 = zeros({2}), f64 = zeros({2}, DType::f64);
  Tensor b = zeros({2}, DType::b8);
  EXPECT_EQ(ops::add(i32, f32).dtype(), DType::f32);
  EXPECT_EQ(ops::add(f32, f64).dtype(), DType::f64);
  EXPECT_EQ(ops::add(i32, i32).dtype(), DType::i32);
  EXPECT_EQ(ops::divide(i32, i64).dtype(), DType::f32);
  EXPECT_EQ(ops::divide(f64, i32).dtype(), DType::f64);
  EXPECT_EQ(ops::less(i32, f64).dtype(), DType::b8);
  EXPECT_EQ(ops::logical_and(i32, f32).dtype(), DType::b8);
  EXPECT_EQ(ops::exp(i32).dtype(), DType::f32);
  EXPECT_EQ(ops::sigmoid(b).dtype(), DType::f32);
  EXPECT_EQ(ops::neg(i64).dtype(), DType::i64);
  EXPECT_EQ(ops::abs(f64).dtype(), DType::f64);
  EXPECT_EQ(ops::where(b, i32, f64).dtype(), DType::f64);
  EXPECT_EQ(ops::clip(b, 0, 1).dtype(), DType::i32);
  EXPECT_EQ(ops::clip(i64, 0, 1).dtype(), DType::i64);
  EXPECT_EQ((i32 + 1.0).dtype(), DType::f32);
  EXPECT_EQ((f64 * 2.0).dtype(), DType::f64);
  EXPECT_EQ((1.0 - f32).dtype(), DType::f32);
  EXPECT_EQ((i32 > 0.5).dtype(), DType::b8);
  EXPECT_EQ(ops::relu6(i32).dtype(), DType::f32);
}

TEST(ElementwiseDTypes, TrueDivisionOfIntegers) {
  Tensor a = from_vector<int32_t>({7, -7, 1}, {3}), b = from_vector<int32_t>({2, 2, 3}, {3});
  std::vector<float> q = ops::divide(a, b).to_vector<float>();
  EXPECT_FLOAT_EQ(q[0], 3.5f);
  EXPECT_FLOAT_EQ(q[1], -3.5f);
  EXPECT_FLOAT_EQ(q[2], 1.0f / 3.0f);
}

TEST(ElementwiseDTypes, IntegerScalarComparisonUsesFloat) {
  Tensor x = from_vector<int32_t>({0, 1, 2}, {3});
  EXPECT_EQ((x > 0.5).to_vector<bool>(), (std::vector<bool>{false, true, true}));
}

TEST(ElementwiseDTypes, NaNPropagatesThroughMaximumReluAndClip) {
  const float nan = std::nanf("");
  Tensor x = from_vector<float>({nan, 1.0f}, {2});
  EXPECT_TRUE(std::isnan(ops::maximum(x, zeros({2})).to_vector<float>()[0]));
  EXPECT_TRUE(std::isnan(ops::minimum(zeros({2}), x).to_vector<float>()[0]));
  EXPECT_TRUE(std::isnan(ops::relu(x).to_vector<float>()[0]));
  EXPECT_TRUE(std::isnan(ops::clip(x, 0, 0.5).to_vector<float>()[0]));
  EXPECT_FLOAT_EQ(ops::clip(x, 0, 0.5).to_vector<float>()[1], 0.5f);
}

TEST(ElementwiseDTypes, CastGradientReturnsToInputDType) {
  Tensor x = from_vector<float>({1.0f, 2.0f}, {2}).requires_grad_();
  ops::sum(ops::square(ops::cast(x, DType::f64))).backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().dtype(), DType::f32);
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2.0f, 4.0f}));
}

TEST(ElementwiseDTypes, MixedDTypeGradientsReturnInEachInputsDType) {
  Tensor a = from_vector<float>({1.0f, 2.0f}, {2}).requires_grad_();
  Tensor b = from_vector<double>({3.0}, {1}).requires_grad_();
  Tensor y = ops::multiply(a, b);
  EXPECT_EQ(y.dtype(), DType::f64);
  ops::sum(y).backward();
  EXPECT_EQ(a.grad().dtype(), DType::f32);
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{3.0f, 3.0f}));
  EXPECT_EQ(b.grad().dtype(), DType::f64);
  EXPECT_EQ(b.grad().shape(), Shape{1});
  EXPECT_DOUBLE_EQ(b.grad().item<double>(), 3.0);
}

TEST(ElementwiseDTypes, ComparisonsAreNotRecorded) {
  Tensor x = from_vector<float>({1.0f, -2.0f}, {2}).requires_grad_();
  Tensor m = x > 0.0;
  EXPECT_FALSE(m.requires_grad());
  Tensor y = ops::where(m, x, x * 0.5);
  EXPECT_TRUE(y.requires_grad());
}

}  // namespace
}  // namespace keel
