// Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D: the layer contract, outputs against
// PyTorch (reference_values.h), parameter counts and kernel fans (keras-reference §2.3, §4), Keras's errors.
#include "keel/layers/convolutional.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>

#include "../layers/layer_test_util.h"
#include "conv_test_util.h"
#include "reference_values.h"

namespace keel {
namespace {

using testing::bias_pattern;
using testing::expect_values;
using testing::input_pattern;
using testing::kernel_pattern;
using testing::run_layer_test;
namespace ref = testing::conv_ref;

// The message of the error `fn` throws (ExpectedError), or a test failure.
template <class ExpectedError, class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const ExpectedError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

// --- run_layer_test ---

TEST(ConvLayers, Conv1DValidContract) {
  run_layer_test({.layer = layers::Conv1D(3, {3}),
                  .input_shapes = {{2, 6, 2}},
                  .weight_names = {"kernel", "bias"},
                  .weight_shapes = {{3, 2, 3}, {3}}});
}

TEST(ConvLayers, Conv1DCausalDilatedContract) {
  run_layer_test({.layer = layers::Conv1D(2, {3}, {.padding = "causal", .dilation_rate = {2}, .activation = "tanh"}),
                  .input_shapes = {{2, 7, 3}},
                  .weight_names = {"kernel", "bias"},
                  .weight_shapes = {{3, 3, 2}, {2}}});
}

TEST(ConvLayers, Conv2DSameStridedContract) {
  run_layer_test({.layer = layers::Conv2D(4, {3, 2}, {.strides = {2}, .padding = "same"}),
                  .input_shapes = {{2, 5, 4, 2}},
                  .weight_names = {"kernel", "bias"},
                  .weight_shapes = {{3, 2, 2, 4}, {4}}});
}

TEST(ConvLayers, Conv2DGroupsNoBiasContract) {
  run_layer_test({.layer = layers::Conv2D(4, {2}, {.groups = 2, .use_bias = false}),
                  .input_shapes = {{1, 4, 4, 4}},
                  .weight_names = {"kernel"},
                  .weight_shapes = {{2, 2, 2, 4}}});
}

TEST(ConvLayers, Conv2DTransposeContract) {
  run_layer_test({.layer = layers::Conv2DTranspose(3, {3}, {.strides = {2}, .padding = "same"}),
                  .input_shapes = {{2, 3, 3, 2}},
                  .weight_names = {"kernel", "bias"},
                  .weight_shapes = {{3, 3, 3, 2}, {3}}});
}

TEST(ConvLayers, Conv2DTransposeOutputPaddingContract) {
  run_layer_test({.layer = layers::Conv2DTranspose(2, {2, 3}, {.strides = {2, 3}, .output_padding = {{1, 2}}}),
                  .input_shapes = {{1, 2, 3, 2}},
                  .weight_names = {"kernel", "bias"},
                  .weight_shapes = {{2, 3, 2, 2}, {2}}});
}

TEST(ConvLayers, DepthwiseConv2DContract) {
  run_layer_test({.layer = layers::DepthwiseConv2D({3}, {.padding = "same", .depth_multiplier = 2}),
                  .input_shapes = {{2, 4, 4, 3}},
                  .weight_names = {"kernel", "bias"},
                  .weight_shapes = {{3, 3, 3, 2}, {6}}});
}

TEST(ConvLayers, SeparableConv2DContract) {
  run_layer_test({.layer = layers::SeparableConv2D(3, {3}, {.depth_multiplier = 2}),
                  .input_shapes = {{2, 5, 5, 2}},
                  .weight_names = {"depthwise_kernel", "pointwise_kernel", "bias"},
                  .weight_shapes = {{3, 3, 2, 2}, {1, 1, 4, 3}, {3}}});
}

// --- outputs against PyTorch ---

TEST(ConvLayers, Conv2DSamePaddingMatchesTorch) {
  // Rows: 6 -> 3 with stride 2 needs one padding row, which TF's rule puts at the bottom.
  auto layer = layers::Conv2D(3, {3, 3}, {.strides = {2}, .padding = "same"});
  Tensor x = input_pattern({1, 6, 5, 2});
  layer(x);
  layer->set_weights({kernel_pattern({3, 3, 2, 3}), bias_pattern(3)});
  expect_values(layer(x), {1, 3, 3, 3}, ref::kConv2DSameStrided);
}

TEST(ConvLayers, Conv2DGroupsMatchesTorch) {
  auto layer = layers::Conv2D(4, {2, 2}, {.padding = "same", .groups = 2});
  Tensor x = input_pattern({1, 3, 4, 4});
  layer(x);
  EXPECT_EQ(layer->kernel().shape(), (Shape{2, 2, 2, 4}));
  layer->set_weights({kernel_pattern({2, 2, 2, 4}), bias_pattern(4)});
  expect_values(layer(x), {1, 3, 4, 4}, ref::kConv2DGroups);
}

TEST(ConvLayers, Conv1DCausalMatchesTorch) {
  auto layer = layers::Conv1D(2, {3}, {.padding = "causal", .dilation_rate = {2}});
  Tensor x = input_pattern({1, 7, 2});
  layer(x);
  layer->set_weights({kernel_pattern({3, 2, 2}), bias_pattern(2)});
  expect_values(layer(x), {1, 7, 2}, ref::kConv1DCausal);
}

TEST(ConvLayers, Conv1DCausalOutputIgnoresTheFuture) {
  auto layer = layers::Conv1D(1, {2}, {.padding = "causal"});
  Tensor x = input_pattern({1, 6, 1});
  auto before = layer(x).to_vector<float>();
  auto xv = x.to_vector<float>();
  xv[5] += 10.0f;  // only the last output may change
  auto after = layer(from_vector(xv, {1, 6, 1})).to_vector<float>();
  for (size_t t = 0; t < 5; ++t) EXPECT_FLOAT_EQ(after[t], before[t]) << "t=" << t;
  EXPECT_NE(after[5], before[5]);
}

TEST(ConvLayers, Conv1DSameMatchesTorch) {
  // Kernel 4: 3 padding steps, 1 before and 2 after.
  auto layer = layers::Conv1D(2, {4}, {.padding = "same"});
  Tensor x = input_pattern({1, 6, 2});
  layer(x);
  layer->set_weights({kernel_pattern({4, 2, 2}), bias_pattern(2)});
  expect_values(layer(x), {1, 6, 2}, ref::kConv1DSame);
}

TEST(ConvLayers, Conv2DTransposeSameMatchesTorch) {
  auto layer = layers::Conv2DTranspose(3, {3, 3}, {.strides = {2, 2}, .padding = "same"});
  Tensor x = input_pattern({1, 3, 3, 2});
  layer(x);
  EXPECT_EQ(layer->kernel().shape(), (Shape{3, 3, 3, 2}));  // (kh, kw, filters, C_in)
  layer->set_weights({kernel_pattern({3, 3, 3, 2}), bias_pattern(3)});
  expect_values(layer(x), {1, 6, 6, 3}, ref::kConv2DTransposeSame);
}

TEST(ConvLayers, Conv2DTransposeValidOutputPaddingMatchesTorch) {
  auto layer = layers::Conv2DTranspose(3, {3}, {.strides = {2}, .output_padding = {{1}}});
  Tensor x = input_pattern({1, 3, 3, 2});
  layer(x);
  layer->set_weights({kernel_pattern({3, 3, 3, 2}), bias_pattern(3)});
  expect_values(layer(x), {1, 8, 8, 3}, ref::kConv2DTransposeValidOutPad);
}

TEST(ConvLayers, DepthwiseConv2DMatchesTorch) {
  auto layer = layers::DepthwiseConv2D({3, 3}, {.depth_multiplier = 2});
  Tensor x = input_pattern({1, 4, 4, 3});
  layer(x);
  layer->set_weights({kernel_pattern({3, 3, 3, 2}), bias_pattern(6)});
  expect_values(layer(x), {1, 2, 2, 6}, ref::kDepthwise);
}

TEST(ConvLayers, SeparableConv2DMatchesTorch) {
  auto layer = layers::SeparableConv2D(3, {3}, {.strides = {2}, .padding = "same", .depth_multiplier = 2});
  Tensor x = input_pattern({1, 6, 6, 2});
  layer(x);
  layer->set_weights({kernel_pattern({3, 3, 2, 2}), testing::pattern({1, 1, 4, 3}, 0.41, 0.5, 0.5), bias_pattern(3)});
  expect_values(layer(x), {1, 3, 3, 3}, ref::kSeparable);
}

TEST(ConvLayers, ActivationIsApplied) {
  auto layer = layers::Conv2D(3, {3, 3}, {.strides = {2}, .padding = "same", .activation = "relu"});
  Tensor x = input_pattern({1, 6, 5, 2});
  layer(x);
  layer->set_weights({kernel_pattern({3, 3, 2, 3}), bias_pattern(3)});
  std::vector<float> expected = ref::kConv2DSameStrided;
  for (float& v : expected) v = std::max(v, 0.0f);
  expect_values(layer(x), {1, 3, 3, 3}, expected);
}

// --- shapes, parameter counts, fans, config ---

TEST(ConvLayers, ParamCountsFollowKerasFormulas) {
  const int64_t kh = 3, kw = 2, c = 4, f = 6, m = 3, g = 2;
  auto conv = layers::Conv2D(f, {kh, kw}, {.groups = g});
  conv(zeros({1, 5, 5, c}));
  EXPECT_EQ(conv->count_params(), kh * kw * (c / g) * f + f);
  auto depthwise = layers::DepthwiseConv2D({kh, kw}, {.depth_multiplier = m});
  depthwise(zeros({1, 5, 5, c}));
  EXPECT_EQ(depthwise->count_params(), kh * kw * c * m + c * m);
  auto separable = layers::SeparableConv2D(f, {kh, kw}, {.depth_multiplier = m});
  separable(zeros({1, 5, 5, c}));
  EXPECT_EQ(separable->count_params(), kh * kw * c * m + c * m * f + f);
  auto transpose = layers::Conv2DTranspose(f, {kh, kw});
  transpose(zeros({1, 5, 5, c}));
  EXPECT_EQ(transpose->count_params(), kh * kw * f * c + f);
  auto conv1d = layers::Conv1D(f, {kh}, {.use_bias = false});
  conv1d(zeros({1, 5, c}));
  EXPECT_EQ(conv1d->count_params(), kh * c * f);
}

// glorot_uniform draws from U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)), fans from the kernel layout.
void expect_glorot_limit(const Variable& kernel, double fan_in, double fan_out) {
  const double limit = std::sqrt(6.0 / (fan_in + fan_out));
  auto v = kernel.value().to_vector<float>();
  double max_abs = 0;
  for (float w : v) max_abs = std::max(max_abs, static_cast<double>(std::abs(w)));
  EXPECT_LE(max_abs, limit * (1 + 1e-6));
  EXPECT_GT(max_abs, 0.85 * limit) << "with " << v.size() << " draws the largest is near the limit";
}

TEST(ConvLayers, KernelFansFollowTheLayout) {
  auto conv = layers::Conv2D(8, {3, 3});  // (3, 3, 2, 8): fan_in 18, fan_out 72
  conv(zeros({1, 4, 4, 2}));
  expect_glorot_limit(conv->kernel(), 18, 72);
  auto transpose = layers::Conv2DTranspose(8, {3, 3});  // (3, 3, 8, 2): fan_in 72, fan_out 18
  transpose(zeros({1, 4, 4, 2}));
  expect_glorot_limit(transpose->kernel(), 72, 18);
  auto bias = transpose->bias().value().to_vector<float>();
  EXPECT_TRUE(std::all_of(bias.begin(), bias.end(), [](float b) { return b == 0.0f; }));
}

TEST(ConvLayers, OutputShapes) {
  auto valid = layers::Conv2D(5, {3, 2}, {.strides = {2, 1}});
  valid(zeros({1, 9, 6, 3}));
  EXPECT_EQ(valid->compute_output_shape(Shape{kUnknownDim, 9, 6, 3}), (Shape{kUnknownDim, 4, 5, 5}));
  auto dilated = layers::Conv2D(2, {3}, {.dilation_rate = {2}});  // effective kernel 5
  dilated(zeros({1, 7, 7, 1}));
  EXPECT_EQ(dilated->compute_output_shape(Shape{2, 7, 7, 1}), (Shape{2, 3, 3, 2}));
  auto same = layers::Conv2D(2, {4}, {.strides = {3}, .padding = "same"});
  same(zeros({1, 7, 8, 1}));
  EXPECT_EQ(same->compute_output_shape(Shape{kUnknownDim, 7, 8, 1}), (Shape{kUnknownDim, 3, 3, 2}));
  // Transposed: valid (in-1)s + max(k, s); same in·s; with output_padding (in-1)s + k%2 + op for same.
  auto t_valid = layers::Conv2DTranspose(4, {3}, {.strides = {2}});
  t_valid(zeros({1, 3, 4, 2}));
  EXPECT_EQ(t_valid->compute_output_shape(Shape{kUnknownDim, 3, 4, 2}), (Shape{kUnknownDim, 7, 9, 4}));
  auto t_small_kernel = layers::Conv2DTranspose(1, {1}, {.strides = {3}});
  t_small_kernel(zeros({1, 2, 2, 1}));
  EXPECT_EQ(t_small_kernel->compute_output_shape(Shape{1, 2, 2, 1}), (Shape{1, 6, 6, 1}));
  auto t_same_op = layers::Conv2DTranspose(1, {3}, {.strides = {2}, .padding = "same", .output_padding = {{0, 1}}});
  Tensor y = t_same_op(zeros({1, 3, 3, 1}));
  EXPECT_EQ(y.shape(), (Shape{1, 5, 6, 1}));
  EXPECT_EQ(t_same_op->compute_output_shape(Shape{1, 3, 3, 1}), (Shape{1, 5, 6, 1}));
}

TEST(ConvLayers, UnknownSpatialDimsStayUnknown) {
  auto conv = layers::Conv2D(4, {3}, {.padding = "same"});
  SymbolicTensor x{Shape{kUnknownDim, kUnknownDim, kUnknownDim, 3}, DType::f32, nullptr, 0};
  auto y = conv->call_symbolic({x});
  EXPECT_EQ(y[0].shape, (Shape{kUnknownDim, kUnknownDim, kUnknownDim, 4}));
  EXPECT_EQ(conv->kernel().shape(), (Shape{3, 3, 3, 4}));
  // The built layer then runs on any spatial size.
  EXPECT_EQ(conv(zeros({2, 5, 7, 3})).shape(), (Shape{2, 5, 7, 4}));
  auto depthwise = layers::DepthwiseConv2D({3}, {.depth_multiplier = 2});
  EXPECT_EQ(depthwise->call_symbolic({SymbolicTensor{Shape{kUnknownDim, kUnknownDim, 6, 3}, DType::f32, nullptr, 0}})[0]
                .shape,
            (Shape{kUnknownDim, kUnknownDim, 4, 6}));
}

TEST(ConvLayers, ConfigUsesKerasKeys) {
  auto conv = layers::Conv2D(32, {3}, {.strides = {2, 1}, .padding = "SAME", .activation = "relu"});
  nlohmann::json c = conv->get_config();
  EXPECT_EQ(c.at("filters"), 32);
  EXPECT_EQ(c.at("kernel_size"), nlohmann::json::array({3, 3}));
  EXPECT_EQ(c.at("strides"), nlohmann::json::array({2, 1}));
  EXPECT_EQ(c.at("padding"), "same");
  EXPECT_EQ(c.at("data_format"), "channels_last");
  EXPECT_EQ(c.at("dilation_rate"), nlohmann::json::array({1, 1}));
  EXPECT_EQ(c.at("groups"), 1);
  EXPECT_EQ(c.at("activation"), "relu");
  EXPECT_EQ(c.at("use_bias"), true);
  EXPECT_EQ(c.at("kernel_initializer").at("class_name"), "GlorotUniform");
  EXPECT_TRUE(c.at("kernel_regularizer").is_null());
  EXPECT_TRUE(std::regex_match(conv->name(), std::regex("conv2d(_[0-9]+)?"))) << conv->name();

  nlohmann::json t = layers::Conv2DTranspose(4, {3})->get_config();
  EXPECT_TRUE(t.at("output_padding").is_null());
  EXPECT_FALSE(t.contains("groups"));
  nlohmann::json d = layers::DepthwiseConv2D({3}, {.depth_multiplier = 2})->get_config();
  EXPECT_EQ(d.at("depth_multiplier"), 2);
  EXPECT_TRUE(d.contains("depthwise_initializer"));
  nlohmann::json s = layers::SeparableConv2D(8, {3})->get_config();
  EXPECT_TRUE(s.contains("pointwise_initializer"));
  EXPECT_EQ(layers::Conv1D(4, {5})->get_config().at("kernel_size"), nlohmann::json::array({5}));
}

TEST(ConvLayers, AutoNames) {
  EXPECT_TRUE(std::regex_match(layers::Conv1D(1, {1})->name(), std::regex("conv1d(_[0-9]+)?")));
  EXPECT_TRUE(std::regex_match(layers::Conv2DTranspose(1, {1})->name(), std::regex("conv2d_transpose(_[0-9]+)?")));
  EXPECT_TRUE(std::regex_match(layers::DepthwiseConv2D({1})->name(), std::regex("depthwise_conv2d(_[0-9]+)?")));
  EXPECT_TRUE(std::regex_match(layers::SeparableConv2D(1, {1})->name(), std::regex("separable_conv2d(_[0-9]+)?")));
}

TEST(ConvLayers, DeserializesKerasConfigWithoutOptionalKeys) {
  auto layer = layers::deserialize(
      {{"class_name", "Conv2D"},
       {"config", {{"name", "c"}, {"filters", 2}, {"kernel_size", {3, 3}}, {"data_format", nullptr}}}});
  EXPECT_EQ(layer->class_name(), "Conv2D");
  EXPECT_EQ((*layer)(zeros({1, 4, 4, 1})).shape(), (Shape{1, 2, 2, 2}));
}

// --- Keras's errors ---

TEST(ConvLayers, ConstructorValidation) {
  EXPECT_NE(error_of<ValueError>([] { layers::Conv2D(0, {3}); }).find("filters=0"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { layers::Conv2D(6, {3}, {.groups = 4}); }).find("evenly divisible"),
            std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { layers::Conv2D(4, {3}, {.groups = 0}); }).find("groups"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { layers::Conv2D(4, {0, 3}); }).find("kernel_size=(0, 3)"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { layers::Conv2D(4, {3, 3, 3}); }).find("tuple of 2 integers"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { layers::Conv2D(4, {3}, {.strides = {0}}); }).find("strides"), std::string::npos);
  const std::string both = error_of<ValueError>([] { layers::Conv2D(4, {3}, {.strides = {2}, .dilation_rate = {2}}); });
  EXPECT_NE(both.find("`strides > 1` not supported in conjunction with `dilation_rate > 1`"), std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { layers::Conv2D(4, {3}, {.padding = "causal"}); }).find("padding"),
            std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { layers::Conv1D(4, {3}, {.padding = "full"}); }).find("\"causal\""),
            std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { layers::Conv2D(4, {3}, {.data_format = "nhwc"}); }).find("data_format"),
            std::string::npos);
  EXPECT_NE(error_of<ValueError>([] {
              layers::Conv2DTranspose(4, {3}, {.strides = {2}, .output_padding = {{2}}});
            }).find("`output_padding` must be < `strides`"),
            std::string::npos);
  EXPECT_NE(
      error_of<ValueError>([] { layers::DepthwiseConv2D({3}, {.depth_multiplier = 0}); }).find("depth_multiplier=0"),
      std::string::npos);
  EXPECT_NE(error_of<ValueError>([] { layers::SeparableConv2D(-1, {3}); }).find("filters=-1"), std::string::npos);
}

TEST(ConvLayers, OutputSizeZeroOrNegative) {
  auto conv = layers::Conv2D(2, {3}, {.dilation_rate = {2}});
  const std::string msg = error_of<ValueError>([&] { conv(zeros({1, 4, 6, 1})); });
  EXPECT_NE(msg.find("zero or negative"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(None, 4, 6, 1)"), std::string::npos) << msg;  // input shape
  EXPECT_NE(msg.find("(3, 3, 1, 2)"), std::string::npos) << msg;     // kernel shape
  EXPECT_NE(msg.find("dilation_rate=(2, 2)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("strides=(1, 1)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("padding=\"valid\""), std::string::npos) << msg;
  EXPECT_FALSE(conv->built());
  // "same" never shrinks to zero.
  EXPECT_EQ(layers::Conv2D(2, {5}, {.padding = "same"})(zeros({1, 2, 2, 1})).shape(), (Shape{1, 2, 2, 2}));
  auto depthwise = layers::DepthwiseConv2D({5});
  EXPECT_NE(error_of<ValueError>([&] { depthwise(zeros({1, 4, 4, 1})); }).find("zero or negative"), std::string::npos);
  auto conv1d = layers::Conv1D(1, {4});
  EXPECT_NE(error_of<ValueError>([&] { conv1d(zeros({1, 3, 1})); }).find("zero or negative"), std::string::npos);
}

TEST(ConvLayers, InputValidation) {
  auto grouped = layers::Conv2D(4, {3}, {.groups = 2});
  const std::string msg = error_of<ValueError>([&] { grouped(zeros({1, 5, 5, 3})); });
  EXPECT_NE(msg.find("input has 3 channels"), std::string::npos) << msg;

  auto conv = layers::Conv2D(4, {3});
  EXPECT_NE(error_of<ShapeError>([&] { conv(zeros({5, 5, 3})); }).find("expected ndim=4"), std::string::npos);
  conv(zeros({1, 5, 5, 3}));
  const std::string channels = error_of<ShapeError>([&] { conv(zeros({1, 5, 5, 2})); });
  EXPECT_NE(channels.find(conv->name()), std::string::npos) << channels;
  EXPECT_NE(channels.find("(1, 5, 5, 2)"), std::string::npos) << channels;

  auto conv1d = layers::Conv1D(2, {3});
  EXPECT_NE(error_of<ShapeError>([&] { conv1d(zeros({1, 5, 5, 3})); }).find("expected ndim=3"), std::string::npos);
  auto unknown_channels = layers::Conv2D(2, {3});
  EXPECT_THROW(
      unknown_channels->call_symbolic({SymbolicTensor{Shape{kUnknownDim, 5, 5, kUnknownDim}, DType::f32, nullptr, 0}}),
      ShapeError);
}

}  // namespace
}  // namespace keel
