// Shape and indexing ops: error messages (shapes, axes, dtypes, indices), which results are views of their
// input, NumPy slicing edge cases, and larger gathers/scatters against the reference kernels.
#include <gtest/gtest.h>

#include "keel/keel.h"
#include "ops/dispatch.h"
#include "test_util.h"
#include "ops/manipulation_attrs.h"
#include "ops/op_cases.h"

namespace keel {
namespace {

using keel::testing::expect_error;
using keel::testing::throws_with;


bool shares_storage(const Tensor& a, const Tensor& b) { return a.storage() == b.storage(); }

TEST(ManipulationErrors, ReshapeNamesBothShapesAndCounts) {
  Tensor x = zeros({2, 3});
  EXPECT_TRUE(throws_with<ShapeError>([&] { ops::reshape(x, {4, 2}); }, {"reshape", "(2, 3)", "6", "(4, 2)", "8"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ops::reshape(x, {4, -1}); }, {"reshape", "(2, 3)", "(4, -1)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::reshape(x, {-1, -1}); }, {"reshape", "only one"}));
}

TEST(ManipulationErrors, TransposeBroadcastSqueeze) {
  Tensor x = zeros({2, 3});
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::transpose(x, {0}); }, {"transpose", "(2, 3)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::transpose(x, {1, 1}); }, {"transpose", "repeated"}));
  EXPECT_TRUE(
      throws_with<ShapeError>([&] { ops::broadcast_to(x, {4, 3, 3}); }, {"broadcast_to", "(2, 3)", "(4, 3, 3)"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ops::broadcast_to(x, {3}); }, {"broadcast_to", "(2, 3)", "(3,)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::squeeze(x, {1}); }, {"squeeze", "axis 1", "(2, 3)"}));
  EXPECT_TRUE(throws_with<IndexError>([&] { ops::expand_dims(x, 4); }, {"expand_dims", "axis 4"}));
}

TEST(ManipulationErrors, SliceAndSplit) {
  Tensor x = zeros({4, 5});
  EXPECT_TRUE(throws_with<IndexError>([&] { ops::slice(x, {3, 0}, {2, 5}); }, {"slice", "(4, 5)", "axis 0"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::slice(x, {0}, {1}); }, {"slice", "(4, 5)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::slice_axis(x, 0, 0, 4, 0); }, {"slice_axis", "step"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::split(x, 3, 1); }, {"split", "(4, 5)", "3"}));
}

TEST(ManipulationErrors, PadConcatenateStack) {
  Tensor x = zeros({2, 3});
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::pad(x, {{1, 1}, {0, 0}, {0, 0}}); }, {"pad", "(2, 3)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::pad(x, {{-1, 0}, {0, 0}}); }, {"pad", "non-negative"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { ops::concatenate({x, zeros({2, 3}, DType::f64)}); },
                                      {"concatenate", "input 1", "float64", "float32"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ops::concatenate({x, zeros({2, 4})}, 0); },
                                      {"concatenate", "axis 0", "input 1", "(2, 4)", "(2, 3)"}));
  EXPECT_TRUE(
      throws_with<ShapeError>([&] { ops::concatenate({x, zeros({3})}, 0); }, {"concatenate", "input 1", "(3,)"}));
  EXPECT_TRUE(throws_with<ValueError>([&] { ops::concatenate({}); }, {"concatenate"}));
  EXPECT_TRUE(throws_with<ShapeError>([&] { ops::stack({x, zeros({3, 2})}); }, {"stack", "input 1", "(3, 2)"}));
}

TEST(ManipulationErrors, TakeAndOneHotIndices) {
  Tensor x = zeros({5, 3});
  Tensor bad = from_vector<int64_t>({0, 7}, {2});
  EXPECT_TRUE(throws_with<IndexError>([&] { ops::take(x, bad, 0); }, {"take", "index 7", "axis 0", "size 5"}));
  EXPECT_TRUE(
      throws_with<IndexError>([&] { ops::take(x, from_vector<int64_t>({-4}, {1}), 1); }, {"take", "-4", "size 3"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { ops::take(x, zeros({2}), 0); }, {"take", "integer", "float32"}));
  EXPECT_TRUE(throws_with<DTypeError>([&] { ops::one_hot(zeros({2}), 3); }, {"one_hot", "float32"}));
  {
    ReferenceKernelsScope reference;
    EXPECT_TRUE(throws_with<IndexError>([&] { ops::take(x, bad, 0); }, {"take", "index 7", "size 5"}));
  }
}

TEST(ManipulationBehaviour, ViewsShareStorage) {
  Tensor x = testing::rand_uniform({4, 6}, DType::f32, 1);
  EXPECT_TRUE(shares_storage(ops::reshape(x, {2, 12}), x));
  EXPECT_TRUE(shares_storage(ops::transpose(x), x));
  EXPECT_TRUE(shares_storage(ops::broadcast_to(ops::reshape(x, {1, 4, 6}), {3, 4, 6}), x));
  EXPECT_TRUE(shares_storage(ops::slice(x, {1, 2}, {2, 3}), x));
  EXPECT_TRUE(shares_storage(ops::expand_dims(x, 0), x));
  // A strided slice can still be reshaped as a view when its axes stay separable.
  EXPECT_TRUE(shares_storage(ops::reshape(ops::slice_axis(x, 0, 0, 4, 2), {2, 2, 3}), x));
  // Merging transposed axes needs a copy.
  Tensor merged = ops::reshape(ops::transpose(x), {-1});
  EXPECT_FALSE(shares_storage(merged, x));
  EXPECT_EQ(merged.to_vector<float>(), ops::transpose(x).contiguous().to_vector<float>());
}

TEST(ManipulationBehaviour, SliceAxisFollowsPythonSlicing) {
  Tensor x = arange(10);
  auto vals = [](const Tensor& t) { return t.to_vector<float>(); };
  EXPECT_EQ(vals(ops::slice_axis(x, 0, -3, 100)), (std::vector<float>{7, 8, 9}));
  EXPECT_EQ(vals(ops::slice_axis(x, 0, -100, 3)), (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(vals(ops::slice_axis(x, 0, 1, 8, 3)), (std::vector<float>{1, 4, 7}));
  EXPECT_EQ(vals(ops::slice_axis(x, 0, 8, 2)), (std::vector<float>{}));
  EXPECT_EQ(vals(ops::slice_axis(x, 0, 8, 2, -3)), (std::vector<float>{8, 5}));
  EXPECT_EQ(vals(ops::slice_axis(x, 0, 100, -100, -4)), (std::vector<float>{9, 5, 1}));
  std::vector<Tensor> parts = ops::split(x, std::vector<int64_t>{3, 20});
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].numel(), 3);
  EXPECT_EQ(parts[1].numel(), 7);
  EXPECT_EQ(parts[2].numel(), 0);
}

TEST(ManipulationBehaviour, OneHotOutOfRangeGivesZeroRow) {
  Tensor oh = ops::one_hot(from_vector<int64_t>({1, -1, 3}, {3}), 3, -1, DType::i32);
  EXPECT_EQ(oh.dtype(), DType::i32);
  EXPECT_EQ(oh.to_vector<int32_t>(), (std::vector<int32_t>{0, 1, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(ManipulationBehaviour, TileMatchesNumpy) {
  Tensor x = from_vector<float>({1, 2, 3}, {3});
  Tensor t = ops::tile(x, {2, 2});
  EXPECT_EQ(t.shape(), (Shape{2, 6}));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}));
}

// Embedding-sized gathers and scatters (threaded paths) against the reference kernels.
TEST(ManipulationBehaviour, LargeTakeAndScatterMatchReference) {
  Tensor table = testing::rand_uniform({1000, 64}, DType::f32, 3);
  Tensor idx = testing::rand_int({32, 50}, -1000, 1000, 4);
  Tensor g = testing::rand_uniform({32, 50, 64}, DType::f32, 5);
  Tensor y = ops::take(table, idx, 0);
  Tensor gx = detail::take_backward(g, idx, table.shape(), 0);
  Tensor y1 = ops::take(ops::transpose(table), idx, 1);
  Tensor cat = ops::concatenate({table, ops::transpose(ops::slice_axis(table, 0, 0, 64)), table}, 0);
  ReferenceKernelsScope reference;
  EXPECT_TRUE(testing::all_close(y, ops::take(table, idx, 0), 0, 0));
  EXPECT_TRUE(testing::all_close(gx, detail::take_backward(g, idx, table.shape(), 0), 1e-5, 1e-5));
  EXPECT_TRUE(testing::all_close(y1, ops::take(ops::transpose(table), idx, 1), 0, 0));
  EXPECT_TRUE(testing::all_close(
      cat, ops::concatenate({table, ops::transpose(ops::slice_axis(table, 0, 0, 64)), table}, 0), 0, 0));
}

}  // namespace
}  // namespace keel
