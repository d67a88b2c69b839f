// MaxPooling1D/2D, AveragePooling1D/2D, GlobalAveragePooling1D/2D, GlobalMaxPooling1D/2D: the layer contract,
// outputs against PyTorch (reference_values.h), output shapes (keras-reference §2.4), config and errors.
#include "keel/layers/pooling.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "../layers/layer_test_util.h"
#include "conv_test_util.h"
#include "reference_values.h"

namespace keel {
namespace {

using testing::expect_values;
using testing::input_pattern;
using testing::run_layer_test;
namespace ref = testing::conv_ref;

// --- run_layer_test (no weights: shapes, config round trip, input gradients) ---

TEST(PoolingLayers, MaxPooling1DContract) {
  run_layer_test({.layer = layers::MaxPooling1D(), .input_shapes = {{2, 6, 3}}});
}
TEST(PoolingLayers, MaxPooling2DSameContract) {
  // Overlapping 3x3 windows over normal inputs: the check's step (1e-2) moves some window's maximum to another
  // element, so central differences straddle a kink (they agree at a step of 1e-4). The gradient is checked
  // exactly against PyTorch in MaxPooling2DSameGradientMatchesTorch instead.
  run_layer_test({.layer = layers::MaxPooling2D({3}, {.strides = {2}, .padding = "same"}),
                  .input_shapes = {{2, 5, 4, 2}},
                  .check_gradients = false});
}
TEST(PoolingLayers, AveragePooling1DContract) {
  run_layer_test(
      {.layer = layers::AveragePooling1D({3}, {.strides = {1}, .padding = "same"}), .input_shapes = {{2, 5, 2}}});
}
TEST(PoolingLayers, AveragePooling2DContract) {
  run_layer_test({.layer = layers::AveragePooling2D({2, 3}), .input_shapes = {{2, 4, 6, 2}}});
}
TEST(PoolingLayers, GlobalAveragePooling1DContract) {
  run_layer_test({.layer = layers::GlobalAveragePooling1D(), .input_shapes = {{2, 5, 3}}});
}
TEST(PoolingLayers, GlobalAveragePooling2DKeepdimsContract) {
  run_layer_test({.layer = layers::GlobalAveragePooling2D({.keepdims = true}), .input_shapes = {{2, 3, 4, 2}}});
}
TEST(PoolingLayers, GlobalMaxPooling1DKeepdimsContract) {
  run_layer_test({.layer = layers::GlobalMaxPooling1D({.keepdims = true}), .input_shapes = {{2, 5, 3}}});
}
TEST(PoolingLayers, GlobalMaxPooling2DContract) {
  run_layer_test({.layer = layers::GlobalMaxPooling2D(), .input_shapes = {{2, 3, 4, 2}}});
}

// --- outputs against PyTorch ---

TEST(PoolingLayers, MaxPooling2DSameMatchesTorch) {
  // Rows 6 -> 3 (stride 2, window 3): one padding row at the bottom; cols 5 -> 3: one on each side. Padding is -inf.
  expect_values(layers::MaxPooling2D({3, 3}, {.strides = {2, 2}, .padding = "same"})(input_pattern({1, 6, 5, 2})),
                {1, 3, 3, 2}, ref::kMaxPoolSame);
}

TEST(PoolingLayers, MaxPooling2DSameGradientMatchesTorch) {
  auto pool = layers::MaxPooling2D({3}, {.strides = {2}, .padding = "same"});
  Tensor x = input_pattern({1, 5, 4, 2}).requires_grad_();
  Tensor y = pool(x);
  ops::sum(y * testing::pattern(y.shape(), 0.5, 0.2, 1.0)).backward();
  expect_values(x.grad(), {1, 5, 4, 2}, ref::kMaxPoolSameGrad);
}

TEST(PoolingLayers, AveragePooling2DSameCountsOnlyRealElements) {
  expect_values(layers::AveragePooling2D({3}, {.strides = {2}, .padding = "same"})(input_pattern({1, 6, 5, 2})),
                {1, 3, 3, 2}, ref::kAvgPoolSame);
}

TEST(PoolingLayers, Pooling1DMatchesTorch) {
  Tensor x = input_pattern({1, 7, 2});
  expect_values(layers::MaxPooling1D()(x), {1, 3, 2}, ref::kMaxPool1D);
  expect_values(layers::AveragePooling1D({3}, {.strides = {1}})(x), {1, 5, 2}, ref::kAvgPool1D);
}

TEST(PoolingLayers, GlobalPoolingMatchesTorch) {
  Tensor x2 = input_pattern({2, 3, 4, 2});
  expect_values(layers::GlobalAveragePooling2D()(x2), {2, 2}, ref::kGlobalAvg2D);
  expect_values(layers::GlobalMaxPooling2D()(x2), {2, 2}, ref::kGlobalMax2D);
  expect_values(layers::GlobalMaxPooling2D({.keepdims = true})(x2), {2, 1, 1, 2}, ref::kGlobalMax2D);
  Tensor x1 = input_pattern({2, 5, 3});
  expect_values(layers::GlobalAveragePooling1D()(x1), {2, 3}, ref::kGlobalAvg1D);
  expect_values(layers::GlobalMaxPooling1D()(x1), {2, 3}, ref::kGlobalMax1D);
  expect_values(layers::GlobalAveragePooling1D({.keepdims = true})(x1), {2, 1, 3}, ref::kGlobalAvg1D);
}

// --- shapes, config, errors ---

TEST(PoolingLayers, OutputShapes) {
  // valid: floor((in - pool)/s) + 1; same: floor((in - 1)/s) + 1; strides default to pool_size.
  auto valid = layers::MaxPooling2D({3, 2}, {.strides = {2, 1}});
  EXPECT_EQ(valid->compute_output_shape(Shape{kUnknownDim, 8, 5, 3}), (Shape{kUnknownDim, 3, 4, 3}));
  auto defaults = layers::AveragePooling2D();
  EXPECT_EQ(defaults->compute_output_shape(Shape{4, 7, 6, 1}), (Shape{4, 3, 3, 1}));
  auto same = layers::MaxPooling1D({4}, {.strides = {3}, .padding = "same"});
  EXPECT_EQ(same->compute_output_shape(Shape{kUnknownDim, 10, 2}), (Shape{kUnknownDim, 4, 2}));
  EXPECT_EQ(same->compute_output_shape(Shape{kUnknownDim, kUnknownDim, 2}), (Shape{kUnknownDim, kUnknownDim, 2}));
  EXPECT_EQ(same(zeros({1, 10, 2})).shape(), (Shape{1, 4, 2}));
  auto global = layers::GlobalAveragePooling2D();
  EXPECT_EQ(global->compute_output_shape(Shape{kUnknownDim, kUnknownDim, kUnknownDim, 5}), (Shape{kUnknownDim, 5}));
}

TEST(PoolingLayers, ConfigUsesKerasKeys) {
  auto pool = layers::MaxPooling2D({3}, {.padding = "Same"});
  nlohmann::json c = pool->get_config();
  EXPECT_EQ(c.at("pool_size"), nlohmann::json::array({3, 3}));
  EXPECT_EQ(c.at("strides"), nlohmann::json::array({3, 3}));  // None -> pool_size
  EXPECT_EQ(c.at("padding"), "same");
  EXPECT_EQ(c.at("data_format"), "channels_last");
  EXPECT_TRUE(std::regex_match(pool->name(), std::regex("max_pooling2d(_[0-9]+)?"))) << pool->name();
  nlohmann::json g = layers::GlobalAveragePooling1D({.keepdims = true})->get_config();
  EXPECT_EQ(g.at("keepdims"), true);
  EXPECT_EQ(g.at("data_format"), "channels_last");
  EXPECT_TRUE(
      std::regex_match(layers::GlobalAveragePooling2D()->name(), std::regex("global_average_pooling2d(_[0-9]+)?")));
  // Keras's short aliases deserialize to the same layers.
  auto alias = layers::deserialize({{"class_name", "MaxPool2D"}, {"config", {{"name", "p"}, {"pool_size", {2, 2}}}}});
  EXPECT_EQ(alias->class_name(), "MaxPooling2D");
  EXPECT_EQ((*alias)(zeros({1, 4, 4, 1})).shape(), (Shape{1, 2, 2, 1}));
}

TEST(PoolingLayers, Errors) {
  EXPECT_THROW(layers::MaxPooling2D({0}), ValueError);
  EXPECT_THROW(layers::MaxPooling2D({2, 2, 2}), ValueError);
  EXPECT_THROW(layers::AveragePooling1D({2}, {.strides = {0}}), ValueError);
  EXPECT_THROW(layers::MaxPooling1D({2}, {.padding = "causal"}), ValueError);
  EXPECT_THROW(layers::GlobalMaxPooling2D({.data_format = "nchw"}), ValueError);

  auto too_big = layers::MaxPooling2D({4});
  try {
    too_big(zeros({1, 3, 5, 1}));
    ADD_FAILURE() << "no exception";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("zero or negative"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(None, 3, 5, 1)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("pool_size=(4, 4)"), std::string::npos) << msg;
  }
  auto pool2d = layers::AveragePooling2D();
  EXPECT_THROW(pool2d(zeros({1, 4, 4})), ShapeError);
  auto global1d = layers::GlobalAveragePooling1D();
  EXPECT_THROW(global1d(zeros({1, 4, 4, 2})), ShapeError);
  global1d(zeros({1, 4, 2}));
  EXPECT_THROW(global1d(zeros({1, 4, 4, 2})), ShapeError);  // input_spec after build
}

}  // namespace
}  // namespace keel
