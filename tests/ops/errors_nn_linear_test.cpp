// Error messages of matmul, dense, the convolutions and pooling: each names the op and the offending
// shapes, dtypes or options. Also edge cases the op table cannot reach with its small, tie-free inputs:
// max pooling's tie rule on both backends, and the large-matmul sgemm route of the CPU kernel.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "keel/keel.h"
#include "ops/dispatch.h"
#include "test_util.h"
#include "ops/op_cases.h"
#include "ops/pooling_attrs.h"

namespace keel {
namespace {

using keel::testing::expect_error;
using keel::testing::throws_with;


ops::ConvOptions opts(std::vector<int64_t> strides, std::string padding, int64_t groups = 1) {
  return ops::ConvOptions{std::move(strides), std::move(padding), {1}, groups};
}

TEST(NnLinearErrors, MatMul) {
  expect_error<ShapeError>([] { ops::matmul(zeros({2, 3}), zeros({4, 5})); },
                           {"matmul", "inner dimensions", "(2, 3)", "(4, 5)", "3 vs 4"});
  expect_error<ShapeError>([] { ops::matmul(zeros({2, 2, 3}), zeros({3, 3, 4})); },
                           {"matmul", "batch", "(2, 2, 3)", "(3, 3, 4)"});
  expect_error<ValueError>([] { ops::matmul(scalar_tensor(1.0), zeros({3})); }, {"matmul", "1-D", "()"});
  expect_error<DTypeError>([] { ops::matmul(zeros({2, 3}, DType::i32), zeros({3, 2}, DType::i32)); },
                           {"matmul", "int32", "(2, 3)"});
  // The oneDNN kernel is float32/bfloat16 only; float64 runs on the reference backend.
  expect_error<DTypeError>([] { ops::matmul(zeros({2, 3}, DType::f64), zeros({3, 2}, DType::f64)); },
                           {"matmul", "float64"});
}

TEST(NnLinearErrors, Dense) {
  expect_error<ShapeError>([] { ops::dense(zeros({2, 3}), zeros({3})); }, {"dense", "kernel", "2-D", "(3,)"});
  expect_error<ShapeError>([] { ops::dense(zeros({2, 3}), zeros({4, 5})); }, {"dense", "(2, 3)", "(4, 5)", "3", "4"});
  expect_error<ShapeError>([] { ops::dense(zeros({2, 3}), zeros({3, 5}), zeros({4})); },
                           {"dense", "bias", "(5,)", "(4,)"});
  expect_error<DTypeError>([] { ops::dense(zeros({2, 3}), zeros({3, 5}, DType::f64)); },
                           {"dense", "float32", "float64"});
}

TEST(NnLinearErrors, Conv) {
  Tensor x = zeros({1, 5, 5, 4});
  expect_error<ShapeError>([] { ops::conv2d(zeros({5, 5, 4}), zeros({3, 3, 4, 2})); }, {"conv2d", "(5, 5, 4)"});
  expect_error<ShapeError>([&] { ops::conv2d(x, zeros({3, 3, 3, 2})); },
                           {"conv2d", "(1, 5, 5, 4)", "(3, 3, 3, 2)", "4 channels"});
  expect_error<ValueError>([&] { ops::conv2d(x, zeros({3, 3, 2, 3}), opts({1}, "valid", 2)); },
                           {"conv2d", "groups=2", "(3, 3, 2, 3)"});
  expect_error<ValueError>([&] { ops::conv2d(x, zeros({3, 3, 4, 2}), opts({1}, "full")); },
                           {"conv2d", "padding", "full"});
  expect_error<ValueError>([&] { ops::conv2d(x, zeros({3, 3, 4, 2}), opts({1, 2, 3}, "valid")); },
                           {"conv2d", "strides", "(1, 2, 3)"});
  expect_error<ValueError>([&] { ops::conv2d(x, zeros({3, 3, 4, 2}), opts({0}, "valid")); },
                           {"conv2d", "strides", "positive"});
  expect_error<ValueError>([&] { ops::conv2d(x, zeros({6, 3, 4, 2})); },
                           {"conv2d", "zero or negative", "(1, 5, 5, 4)", "(6, 3, 4, 2)"});
  expect_error<DTypeError>([&] { ops::conv2d(x, zeros({3, 3, 4, 2}, DType::f64)); }, {"conv2d", "float32", "float64"});
  expect_error<ShapeError>([&] { ops::depthwise_conv2d(x, zeros({3, 3, 3, 2})); },
                           {"depthwise_conv2d", "(1, 5, 5, 4)", "(3, 3, 3, 2)"});
  expect_error<ShapeError>([] { ops::conv1d(zeros({2, 7, 3}), zeros({3, 2, 4})); },
                           {"conv1d", "(2, 7, 3)", "(3, 2, 4)"});
  expect_error<ShapeError>([&] { ops::conv2d_transpose(x, zeros({3, 3, 4, 2})); },
                           {"conv2d_transpose", "(1, 5, 5, 4)", "(3, 3, 4, 2)"});
  expect_error<ValueError>([&] { ops::conv2d_transpose(x, zeros({3, 3, 2, 4}), opts({2}, "same"), {{2}}); },
                           {"conv2d_transpose", "output_padding", "(2, 2)", "strides"});
}

TEST(NnLinearErrors, Pooling) {
  expect_error<ShapeError>([] { ops::max_pool2d(zeros({5, 5, 4}), {2}); }, {"max_pool2d", "4-D", "(5, 5, 4)"});
  expect_error<ShapeError>([] { ops::avg_pool1d(zeros({1, 5, 5, 4}), {2}); }, {"avg_pool1d", "3-D", "(1, 5, 5, 4)"});
  expect_error<ValueError>([] { ops::max_pool2d(zeros({1, 5, 5, 4}), {2}, {{}, "causal"}); },
                           {"max_pool2d", "padding", "causal"});
  expect_error<ValueError>([] { ops::avg_pool2d(zeros({1, 5, 5, 4}), {2, 2, 2}); },
                           {"avg_pool2d", "pool_size", "(2, 2, 2)"});
  expect_error<ValueError>([] { ops::max_pool2d(zeros({1, 2, 5, 4}), {3}); },
                           {"max_pool2d", "zero or negative", "(1, 2, 5, 4)"});
  expect_error<DTypeError>([] { ops::avg_pool2d(zeros({1, 4, 4, 1}, DType::i32), {2}); }, {"avg_pool2d", "int32"});
  expect_error<ValueError>([] { ops::max_pool1d(zeros({2, 2, 3}), {3}); },
                           {"max_pool1d", "zero or negative", "(2, 2, 3)", "pool_size (3,)"});
}

// Windows with several equal maxima: oneDNN's workspace and the reference kernel both route each
// window's gradient to its first maximum in row-major window order (PyTorch's rule).
TEST(NnLinearEdgeCases, MaxPoolTiesGoToTheFirstMaximumOnBothBackends) {
  Tensor x = from_vector(std::vector<float>{1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 2, 2, 1, 1, 2, 2}, {1, 4, 4, 1});
  PoolAttrs a;
  a.window = {2, 2};
  a.strides = {1, 1};
  Tensor gy = ones({1, 3, 3, 1});
  Tensor fast = detail::max_pool_backward(x, gy, a);
  Tensor ref;
  {
    ReferenceKernelsScope reference;
    ref = detail::max_pool_backward(x, gy, a);
  }
  std::vector<float> expected{1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0, 0};
  EXPECT_EQ(fast.to_vector<float>(), expected);
  EXPECT_EQ(ref.to_vector<float>(), expected);
}

// Products of >= 2^20 multiply-adds per matrix take the dnnl::sgemm route (Note [Large sgemm] in
// backends/cpu/matmul.cpp): check broadcast batches and transposed operands there against sampled dot
// products computed in double. (The op table's small cases run the matmul primitive.)
TEST(NnLinearEdgeCases, LargeMatmulSgemmRoute) {
  const int64_t n = 96, k = 160, m = 80;  // 1.2M multiply-adds per matrix
  Tensor a = random::uniform({1, n, k}, -1, 1, DType::f32, 7);
  Tensor bt = random::uniform({2, m, k}, -1, 1, DType::f32, 8);  // b = bt transposed: column-major
  Tensor y = ops::matmul(a, ops::transpose(bt, {0, 2, 1}));
  ASSERT_EQ(y.shape(), (Shape{2, n, m}));
  std::vector<float> av = a.to_vector<float>(), bv = bt.to_vector<float>(), yv = y.to_vector<float>();
  std::mt19937 rng(3);
  for (int s = 0; s < 200; ++s) {
    const int64_t b = rng() % 2, i = rng() % n, j = rng() % m;
    double dot = 0;
    for (int64_t p = 0; p < k; ++p) dot += double(av[i * k + p]) * bv[(b * m + j) * k + p];
    EXPECT_NEAR(yv[(b * n + i) * m + j], dot, 1e-3) << "batch " << b << ", row " << i << ", column " << j;
  }
}

}  // namespace
}  // namespace keel
