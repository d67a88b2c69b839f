// Error messages of softmax, normalisation, dropout and the cross-entropies: each names the op and the
// offending shapes, dtypes, axes or values.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "keel/keel.h"
#include "ops/dispatch.h"
#include "test_util.h"

namespace keel {
namespace {

using keel::testing::expect_error;
using keel::testing::throws_with;


TEST(NnNormErrors, Softmax) {
  expect_error<DTypeError>([] { ops::softmax(zeros({2, 3}, DType::i32)); }, {"softmax", "int32", "(2, 3)"});
  expect_error<IndexError>([] { ops::log_softmax(zeros({2, 3}), 2); }, {"log_softmax", "2"});
  expect_error<ValueError>([] { ops::softmax(scalar_tensor(1.0)); }, {"softmax", "()"});
  expect_error<DTypeError>([] { ops::softmax(zeros({2, 3}, DType::f16)); }, {"softmax", "float16"});
}

TEST(NnNormErrors, BatchNorm) {
  Tensor x = zeros({4, 3});
  expect_error<ShapeError>([&] { ops::batch_norm_train(x, ones({4}), zeros({3})); },
                           {"batch_norm_train", "gamma", "(3,)", "(4,)", "(4, 3)"});
  expect_error<DTypeError>([&] { ops::batch_norm_train(x, ones({3}, DType::f64), zeros({3})); },
                           {"batch_norm_train", "gamma", "float64", "float32"});
  expect_error<IndexError>([&] { ops::batch_norm_train(x, ones({3}), zeros({3}), 2); }, {"batch_norm_train"});
  expect_error<ShapeError>([&] { ops::batch_norm_inference(x, zeros({2}), ones({3}), ones({3}), zeros({3})); },
                           {"batch_norm_inference", "mean", "(3,)", "(2,)"});
  expect_error<ValueError>([&] { ops::batch_norm_train(x, ones({3}), zeros({3}), -1, -1.0); },
                           {"batch_norm_train", "epsilon"});
  // oneDNN's batch norm is float32-only on the CPU backend (the reference kernels take float64).
  expect_error<DTypeError>(
      [&] { ops::batch_norm_train(x.astype(DType::f64), ones({3}, DType::f64), zeros({3}, DType::f64)); },
      {"batch_norm_train", "float32", "float64"});
}

TEST(NnNormErrors, LayerNorm) {
  Tensor x = zeros({2, 3, 4});
  expect_error<ValueError>([&] { ops::layer_norm(x, ones({2}), zeros({2}), {0}); },
                           {"layer_norm", "axes (0,)", "last 1 axes", "(2, 3, 4)"});
  expect_error<ValueError>([&] { ops::layer_norm(x, ones({2, 4}), zeros({2, 4}), {0, 2}); },
                           {"layer_norm", "axes (0, 2)", "last 2 axes"});
  expect_error<ShapeError>([&] { ops::layer_norm(x, ones({3}), zeros({4})); },
                           {"layer_norm", "gamma", "(4,)", "(3,)"});
  expect_error<ValueError>([&] { ops::layer_norm(x, Tensor(), Tensor(), {}); }, {"layer_norm", "axes"});
}

TEST(NnNormErrors, Dropout) {
  Tensor x = ones({3});
  expect_error<ValueError>([&] { ops::dropout(x, 1.0); }, {"dropout", "rate", "[0, 1)", "1"});
  expect_error<ValueError>([&] { ops::dropout(x, -0.1); }, {"dropout", "rate", "-0.1"});
  expect_error<DTypeError>([&] { ops::dropout(zeros({3}, DType::i64), 0.5); }, {"dropout", "int64"});
}

TEST(NnNormErrors, CrossEntropies) {
  expect_error<ShapeError>(
      [] { ops::sigmoid_cross_entropy_with_logits(zeros({2, 3}), zeros({3, 2})); },
      {"sigmoid_cross_entropy_with_logits", "(2, 3)", "(3, 2)"});
  expect_error<ShapeError>(
      [] { ops::softmax_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 4})); },
      {"softmax_cross_entropy_with_logits", "(2, 3)", "(2, 4)"});
  expect_error<DTypeError>(
      [] { ops::sparse_softmax_cross_entropy_with_logits(zeros({2}), zeros({2, 4})); },
      {"sparse_softmax_cross_entropy_with_logits", "float32"});
  expect_error<ShapeError>(
      [] { ops::sparse_softmax_cross_entropy_with_logits(zeros({3}, DType::i64), zeros({2, 4})); },
      {"sparse_softmax_cross_entropy_with_logits", "(2,)", "(3,)", "(2, 4)"});
  expect_error<DTypeError>(
      [] { ops::sigmoid_cross_entropy_with_logits(zeros({2}), zeros({2}, DType::i32)); },
      {"sigmoid_cross_entropy_with_logits", "int32"});
}

TEST(NnNormErrors, SparseLabelOutOfRangeOnEveryBackend) {
  Tensor logits = zeros({3, 5});
  for (bool reference : {false, true}) {
    std::optional<ReferenceKernelsScope> scope;
    if (reference) scope.emplace();
    expect_error<IndexError>(
        [&] { ops::sparse_softmax_cross_entropy_with_logits(from_vector<int64_t>({1, 7, 2}, {3}), logits); },
        {"sparse_softmax_cross_entropy_with_logits", "label 7", "5 classes"});
    expect_error<IndexError>(
        [&] { ops::sparse_softmax_cross_entropy_with_logits(from_vector<int32_t>({-1, 0, 2}, {3}), logits); },
        {"sparse_softmax_cross_entropy_with_logits", "label -1", "5 classes"});
  }
}

}  // namespace
}  // namespace keel
