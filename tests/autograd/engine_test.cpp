// The backward engine: accumulation, graph release, error messages, no-grad mode.
#include <gtest/gtest.h>

#include "keel/keel.h"

namespace keel {
namespace {

::testing::AssertionResult message_contains(const std::exception& e, const std::string& part) {
  std::string m = e.what();
  if (m.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message '" << m << "' lacks '" << part << "'";
}

TEST(Autograd, LinearModelGradient) {
  Tensor x = from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor w = from_vector<float>({0.5f, -1.0f}, {2, 1}).requires_grad_();
  Tensor loss = ops::sum(ops::matmul(x, w));
  loss.backward();
  // d/dw sum(x·w) = column sums of x.
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{9, 12}));
}

TEST(Autograd, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = from_vector<double>({1.0, 2.0}, {2}).requires_grad_();
  ops::sum(ops::square(x)).backward();
  ops::sum(ops::square(x)).backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{4.0, 8.0}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, SharedSubexpressionSumsBothPaths) {
  Tensor x = from_vector<double>({3.0}, {1}).requires_grad_();
  Tensor y = ops::multiply(x, x);    // x^2
  Tensor z = ops::add(y, ops::multiply(y, x));  // x^2 + x^3
  ops::sum(z).backward();
  EXPECT_DOUBLE_EQ(x.grad().item<double>(), 2 * 3.0 + 3 * 9.0);
}

TEST(Autograd, SecondBackwardThroughFreedGraphIsAnError) {
  Tensor x = from_vector<float>({1, 2}, {2}).requires_grad_();
  Tensor loss = ops::sum(ops::exp(x));
  loss.backward();
  try {
    loss.backward();
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_TRUE(message_contains(e, "second time"));
    EXPECT_TRUE(message_contains(e, "retain_graph"));
  }
}

TEST(Autograd, RetainGraphAllowsSecondBackward) {
  Tensor x = from_vector<float>({1, 2}, {2}).requires_grad_();
  Tensor loss = ops::sum(ops::square(x));
  loss.backward({}, /*retain_graph=*/true);
  loss.backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{4, 8}));
}

TEST(Autograd, NonScalarNeedsSeed) {
  Tensor x = from_vector<float>({1, 2}, {2}).requires_grad_();
  Tensor y = ops::square(x);
  try {
    y.backward();
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_TRUE(message_contains(e, "scalar"));
    EXPECT_TRUE(message_contains(e, "(2,)"));
  }
  y.backward(from_vector<float>({1, 10}, {2}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2, 40}));
}

TEST(Autograd, BackwardThroughNonDifferentiableOpIsAnError) {
  Tensor x = from_vector<float>({1, 2}, {2}).requires_grad_();
  Tensor idx = ops::argmax(x);
  try {
    idx.backward();
    FAIL();
  } catch (const RuntimeError& e) {
    EXPECT_TRUE(message_contains(e, "does not require grad"));
  }
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Tensor x = from_vector<float>({1, 2}, {2}).requires_grad_();
  Tensor y;
  {
    NoGradGuard guard;
    y = ops::square(x);
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_TRUE(y.is_leaf());
  EXPECT_TRUE(ops::square(x).requires_grad());
}

TEST(Autograd, GraphIsFreedAfterBackward) {
  Tensor x = from_vector<float>({1, 2}, {2}).requires_grad_();
  std::weak_ptr<Storage> intermediate;
  Tensor loss;
  {
    Tensor e = ops::exp(x);  // its output is saved by the exp node for the gradient
    intermediate = e.storage();
    loss = ops::sum(ops::multiply(e, e));
  }
  EXPECT_FALSE(intermediate.expired());
  loss.backward();
  EXPECT_TRUE(intermediate.expired()) << "saved tensors must be released by backward";
}

TEST(Autograd, IntegerTensorsCannotRequireGrad) {
  Tensor i = zeros({2}, DType::i64);
  EXPECT_THROW(i.requires_grad_(), DTypeError);
}

}  // namespace
}  // namespace keel
