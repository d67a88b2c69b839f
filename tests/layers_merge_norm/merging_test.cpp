// Merging layers: Add, Subtract, Multiply, Average, Concatenate (keras-reference §2.11). Expected values are
// hand-computed from the elementwise definitions.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "keel/keel.h"
#include "keel/layers/core.h"
#include "keel/layers/merging.h"
#include "layers/layer_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using testing::expect_error;
using testing::run_layer_test;

Tensor t(std::vector<float> v, Shape s) { return from_vector(v, s); }

void expect_values(const Tensor& y, const std::vector<float>& expected, const Shape& shape) {
  ASSERT_EQ(y.shape(), shape);
  std::vector<float> got = y.to_vector<float>();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-6) << "element " << i;
}

TEST(MergingLayers, RunLayerTest) {
  run_layer_test({.layer = layers::Add(), .input_shapes = {{2, 3}, {2, 3}}});
  run_layer_test({.layer = layers::Subtract(), .input_shapes = {{2, 3, 2}, {2, 3, 2}}});
  run_layer_test({.layer = layers::Multiply(), .input_shapes = {{2, 4}, {2, 4}, {2, 4}}});
  run_layer_test({.layer = layers::Average(), .input_shapes = {{3, 2}, {3, 2}, {3, 2}}});
  run_layer_test({.layer = layers::Concatenate(), .input_shapes = {{2, 3}, {2, 5}}});
  run_layer_test({.layer = layers::Concatenate({.axis = 1}), .input_shapes = {{2, 1, 4}, {2, 3, 4}}});
}

TEST(MergingLayers, ElementwiseValues) {
  Tensor a = t({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = t({0.5, -1, 2, 0, 3, -2}, {2, 3});
  Tensor c = t({2, 2, 2, -1, -1, -1}, {2, 3});
  expect_values(layers::Add()({a, b, c})[0], {3.5, 3, 7, 3, 7, 3}, {2, 3});
  expect_values(layers::Subtract()({a, b})[0], {0.5, 3, 1, 4, 2, 8}, {2, 3});
  expect_values(layers::Multiply()({a, b, c})[0], {1, -4, 12, 0, -15, 12}, {2, 3});
  expect_values(layers::Average()({a, b})[0], {0.75, 0.5, 2.5, 2, 4, 2}, {2, 3});
}

TEST(MergingLayers, BroadcastingAndRankAlignment) {
  // A dimension of 1 stretches.
  Tensor a = t({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor col = t({10, 20}, {2, 1});
  expect_values(layers::Add()({a, col})[0], {11, 12, 13, 24, 25, 26}, {2, 3});
  // A lower-rank input gets a size-1 axis after the batch axis: (2, 3) + (2, 2, 3).
  Tensor big = t({0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3}, {2, 2, 3});
  expect_values(layers::Add()({a, big})[0], {1, 2, 3, 2, 3, 4, 6, 7, 8, 7, 8, 9}, {2, 2, 3});
  // Output shapes: non-batch shapes aligned from the right; unknown stays unknown.
  auto add = layers::Add();
  EXPECT_EQ(add->compute_output_shape({{kUnknownDim, 1, 4}, {kUnknownDim, 3, 1}}),
            (std::vector<Shape>{{kUnknownDim, 3, 4}}));
  EXPECT_EQ(add->compute_output_shape({{kUnknownDim, 4}, {kUnknownDim, 3, 4}}),
            (std::vector<Shape>{{kUnknownDim, 3, 4}}));
  EXPECT_EQ(add->compute_output_shape({{kUnknownDim, kUnknownDim, 4}, {kUnknownDim, 3, 4}}),
            (std::vector<Shape>{{kUnknownDim, kUnknownDim, 4}}));
  EXPECT_EQ(add->compute_output_shape({{kUnknownDim, 4}, {5, 4}}), (std::vector<Shape>{{5, 4}}));
}

TEST(MergingLayers, SymbolicBracedListCall) {
  SymbolicTensor a = layers::Input({16}), b = layers::Input({16});
  SymbolicTensor s = layers::Add()({a, b});
  EXPECT_EQ(s.shape, (Shape{kUnknownDim, 16}));
  EXPECT_EQ(s.dtype, DType::f32);
  ASSERT_TRUE(s.node);
  EXPECT_EQ(s.node->inputs.size(), 2u);
  SymbolicTensor c = layers::Concatenate({.axis = -1})({a, b});
  EXPECT_EQ(c.shape, (Shape{kUnknownDim, 32}));
  SymbolicTensor m = layers::Multiply()({a, layers::Input({1})});
  EXPECT_EQ(m.shape, (Shape{kUnknownDim, 16}));
}

TEST(MergingLayers, IntegerDtypes) {
  Tensor a = from_vector(std::vector<int32_t>{1, 2, 3, 4}, {2, 2});
  Tensor b = from_vector(std::vector<int32_t>{2, 2, 5, 5}, {2, 2});
  Tensor sum = layers::Add()({a, b})[0];
  EXPECT_EQ(sum.dtype(), DType::i32);
  EXPECT_EQ(sum.to_vector<int32_t>(), (std::vector<int32_t>{3, 4, 8, 9}));
  auto avg = layers::Average();
  Tensor mean = avg({a, b})[0];
  EXPECT_EQ(mean.dtype(), DType::f32);
  expect_values(mean, {1.5, 2, 4, 4.5}, {2, 2});
  EXPECT_EQ(avg->compute_output_dtype({DType::i32, DType::i32}, {{2, 2}, {2, 2}}), std::vector<DType>{DType::f32});
  auto add = layers::Add();
  EXPECT_EQ(add->compute_output_dtype({DType::i32, DType::i32}, {{2, 2}, {2, 2}}), std::vector<DType>{DType::i32});
}

TEST(MergingLayers, GradientsFlowToEveryInput) {
  Tensor a = t({1, 2, 3}, {1, 3}).requires_grad_();
  Tensor b = t({4, 5, 6}, {1, 3}).requires_grad_();
  Tensor c = t({-1, 0, 2}, {1, 3}).requires_grad_();
  ops::sum(layers::Multiply()({a, b, c})[0]).backward();
  expect_values(a.grad(), {-4, 0, 12}, {1, 3});  // b·c
  expect_values(b.grad(), {-1, 0, 6}, {1, 3});   // a·c
  expect_values(c.grad(), {4, 10, 18}, {1, 3});  // a·b
  Tensor d = t({1, 2}, {1, 2}).requires_grad_();
  Tensor e = t({3, 4}, {1, 2}).requires_grad_();
  ops::sum(layers::Subtract()({d, e})[0]).backward();
  expect_values(e.grad(), {-1, -1}, {1, 2});
}

TEST(MergingLayers, Errors) {
  Tensor a = t({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b4 = t({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  expect_error<ValueError>([&] { layers::Add({.name = "one_in"})({a}); }, {"at least 2 inputs", "one_in"});
  expect_error<ShapeError>(
      [&] {
        layers::Add({.name = "bad_add"})({a, b4});
      },
      {"bad_add", "incompatible shapes", "(None, 3)", "(None, 4)"});
  expect_error<ValueError>(
      [&] {
        layers::Multiply()({a, t({1, 2, 3}, {1, 3})});
      },
      {"different batch sizes", "(2, 3)", "(1, 3)"});
  expect_error<ValueError>([&] { layers::Subtract({.name = "sub3"})({a, a, a}); }, {"sub3", "expects 2 input(s)", "3"});
  SymbolicTensor x = layers::Input({3}), y = layers::Input({4});
  expect_error<ShapeError>([&] { layers::Add()({x, y}); }, {"(None, 3)", "(None, 4)"});
  // After building, a call with mismatched shapes still fails naming the layer.
  auto add = layers::Add({.name = "built_add"});
  add({a, a});
  expect_error<ShapeError>([&] { add({a, b4}); }, {"built_add", "(2, 3)", "(2, 4)"});
  expect_error<ValueError>([&] { add({a}); }, {"built_add", "at least 2 inputs"});
}

TEST(Concatenate, ValuesAndAxes) {
  Tensor a = t({1, 2, 3, 4}, {2, 2});
  Tensor b = t({5, 6, 7, 8, 9, 10}, {2, 3});
  expect_values(layers::Concatenate()({a, b})[0], {1, 2, 5, 6, 7, 3, 4, 8, 9, 10}, {2, 5});
  Tensor c = t({-1, -2}, {1, 2});
  expect_values(layers::Concatenate({.axis = 0})({a, c})[0], {1, 2, 3, 4, -1, -2}, {3, 2});
  auto cat = layers::Concatenate({.axis = 1});
  EXPECT_EQ(cat->compute_output_shape({{kUnknownDim, 2, 4}, {kUnknownDim, 3, 4}}),
            (std::vector<Shape>{{kUnknownDim, 5, 4}}));
  EXPECT_EQ(cat->compute_output_shape({{kUnknownDim, kUnknownDim, 4}, {kUnknownDim, 3, 4}}),
            (std::vector<Shape>{{kUnknownDim, kUnknownDim, 4}}));
  // Mixed dtypes promote, as the eager op does.
  Tensor i = from_vector(std::vector<int32_t>{7, 8}, {1, 2});
  Tensor mixed = layers::Concatenate({.axis = 0})({c, i})[0];
  EXPECT_EQ(mixed.dtype(), DType::f32);
  expect_values(mixed, {-1, -2, 7, 8}, {2, 2});
}

TEST(Concatenate, ConfigKeepsAxis) {
  auto cat = layers::Concatenate({.axis = 2, .name = "joined"});
  nlohmann::json config = cat->get_config();
  EXPECT_EQ(config.at("axis"), 2);
  EXPECT_EQ(config.at("name"), "joined");
  LayerHandle copy = layers::deserialize(layers::serialize(cat));
  EXPECT_EQ(copy->class_name(), "Concatenate");
  EXPECT_EQ(copy->get_config().at("axis"), 2);
  EXPECT_EQ(layers::deserialize(layers::serialize(layers::Subtract()))->class_name(), "Subtract");
}

TEST(Concatenate, Errors) {
  Tensor a = t({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = t({1, 2, 3, 4, 5, 6}, {3, 2});
  expect_error<ShapeError>(
      [&] {
        layers::Concatenate({.name = "cat_bad"})({a, b});
      },
      {"cat_bad", "matching shapes except for the concatenation axis", "(2, 3)", "(3, 2)"});
  expect_error<ShapeError>([&] { layers::Concatenate()({a, t({1, 2}, {1, 1, 2})}); }, {"(None, 3)", "(None, 1, 2)"});
  expect_error<ValueError>([&] { layers::Concatenate({.axis = 3})({a, a}); }, {"axis 3", "out of range"});
  expect_error<ValueError>([&] { layers::Concatenate()({a}); }, {"at least 2 inputs"});
  SymbolicTensor x = layers::Input({3, 4}), y = layers::Input({5, 4});
  expect_error<ShapeError>([&] { layers::Concatenate()({x, y}); }, {"(None, 3, 4)", "(None, 5, 4)"});
}

}  // namespace
}  // namespace keel
