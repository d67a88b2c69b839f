// Flatten, Reshape, Permute, RepeatVector, ZeroPadding2D and UpSampling2D: the common layer checks,
// values computed by index arithmetic (and PyTorch for upsampling), unknown dimensions, configs, errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <numeric>

#include "keel/keel.h"
#include "keel/layers/reshaping.h"
#include "layers/layer_test_util.h"

namespace keel {
namespace {

using testing::run_layer_test;

Tensor arange(const Shape& shape) {
  std::vector<float> v(shape_numel(shape));
  std::iota(v.begin(), v.end(), 0.0f);
  return from_vector(v, shape);
}

std::vector<float> arange_values(int64_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.0f);
  return v;
}

template <class F>
void expect_throw_containing(F&& f, const std::string& text) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing: " << text;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

// --- Flatten ---

TEST(FlattenLayer, CommonChecksAndValues) {
  run_layer_test({.layer = layers::Flatten(), .input_shapes = {{2, 3, 4}}});
  Tensor y = layers::Flatten()(arange({2, 3, 4}));
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(y.to_vector<float>(), arange_values(24));
  // Rank 1: one feature per sample.
  EXPECT_EQ(layers::Flatten()(arange({5})).shape(), (Shape{5, 1}));
}

TEST(FlattenLayer, ChannelsFirstIsFlattenedInChannelsLastOrder) {
  // x (N=1, C=2, H=2, W=3) -> x.permute(0, 2, 3, 1).reshape(1, -1): element (h, w, c) = c·6 + h·3 + w.
  Tensor y = layers::Flatten({.data_format = "channels_first"})(arange({1, 2, 2, 3}));
  std::vector<float> expected;
  for (int h = 0; h < 2; ++h)
    for (int w = 0; w < 3; ++w)
      for (int c = 0; c < 2; ++c) expected.push_back(static_cast<float>(c * 6 + h * 3 + w));
  EXPECT_EQ(y.to_vector<float>(), expected);
}

TEST(FlattenLayer, ShapesConfigAndErrors) {
  auto flatten = layers::Flatten();
  EXPECT_EQ(flatten->compute_output_shape(Shape{kUnknownDim, 28, 28, 1}), (Shape{kUnknownDim, 784}));
  EXPECT_EQ(flatten->compute_output_shape(Shape{kUnknownDim, kUnknownDim, 4}), (Shape{kUnknownDim, kUnknownDim}));
  SymbolicTensor s = flatten(layers::Input({28, 28, 1}));
  EXPECT_EQ(s.shape, (Shape{kUnknownDim, 784}));
  EXPECT_EQ(flatten->get_config().at("data_format"), "channels_last");
  EXPECT_THROW(layers::Flatten({.data_format = "channels_middle"}), ValueError);
}

// --- Reshape ---

TEST(ReshapeLayer, CommonChecksAndValues) {
  run_layer_test({.layer = layers::Reshape({-1, 2}), .input_shapes = {{2, 3, 4}}});
  run_layer_test({.layer = layers::Reshape({4, 3}), .input_shapes = {{2, 12}}});
  Tensor y = layers::Reshape({3, -1})(arange({2, 12}));
  EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(y.to_vector<float>(), arange_values(24));
}

TEST(ReshapeLayer, UnknownDimensions) {
  auto reshape = layers::Reshape({-1, 2});
  EXPECT_EQ(reshape->compute_output_shape(Shape{kUnknownDim, 3, 4}), (Shape{kUnknownDim, 6, 2}));
  // An unknown input dimension leaves the -1 unknown; the eager call resolves it from the data.
  auto seq = layers::Reshape({-1, 2});
  SymbolicTensor s = seq(layers::Input({kUnknownDim, 4}));
  EXPECT_EQ(s.shape, (Shape{kUnknownDim, kUnknownDim, 2}));
  EXPECT_EQ(seq(arange({2, 5, 4})).shape(), (Shape{2, 10, 2}));
}

TEST(ReshapeLayer, ConfigAndErrors) {
  EXPECT_EQ(layers::Reshape({-1, 2})->get_config().at("target_shape"), nlohmann::json::parse("[-1, 2]"));
  expect_throw_containing([] { layers::Reshape({-1, -1}); }, "must not contain more than one `-1` value");
  EXPECT_THROW(layers::Reshape({0, 2}), ValueError);
  expect_throw_containing([] { layers::Reshape({5})(ones({2, 12})); }, "total size of the tensor must be unchanged");
  EXPECT_THROW(layers::Reshape({5, -1})(ones({2, 12})), ShapeError);
}

// --- Permute ---

TEST(PermuteLayer, CommonChecksAndValues) {
  run_layer_test({.layer = layers::Permute({2, 1}), .input_shapes = {{2, 3, 4}}});
  Tensor y = layers::Permute({2, 1})(arange({2, 3, 4}));
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3}));
  auto v = y.to_vector<float>();
  for (int b = 0; b < 2; ++b)
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 3; ++j) EXPECT_EQ(v[(b * 4 + i) * 3 + j], static_cast<float>(b * 12 + j * 4 + i));
  EXPECT_EQ(layers::Permute({3, 1, 2})->compute_output_shape(Shape{kUnknownDim, 5, kUnknownDim, 7}),
            (Shape{kUnknownDim, 7, 5, kUnknownDim}));
}

TEST(PermuteLayer, ConfigAndErrors) {
  EXPECT_EQ(layers::Permute({3, 1, 2})->get_config().at("dims"), nlohmann::json::parse("[3, 1, 2]"));
  expect_throw_containing(
      [] {
        layers::Permute({1, 3});
      },
      "The set of indices in `dims` must be consecutive and start from 1");
  EXPECT_THROW(layers::Permute({0, 1}), ValueError);
  expect_throw_containing([] { layers::Permute({2, 1})(ones({2, 3})); }, "expected ndim=3, found ndim=2");
}

// --- RepeatVector ---

TEST(RepeatVectorLayer, CommonChecksAndValues) {
  run_layer_test({.layer = layers::RepeatVector(4), .input_shapes = {{2, 3}}});
  Tensor y = layers::RepeatVector(2)(arange({2, 3}));
  EXPECT_EQ(y.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5}));
  EXPECT_EQ(layers::RepeatVector(5)->compute_output_shape(Shape{kUnknownDim, 8}), (Shape{kUnknownDim, 5, 8}));
}

TEST(RepeatVectorLayer, ConfigAndErrors) {
  EXPECT_EQ(layers::RepeatVector(3)->get_config().at("n"), 3);
  EXPECT_THROW(layers::RepeatVector(0), ValueError);
  EXPECT_THROW(layers::RepeatVector(2)(ones({2, 3, 4})), ShapeError);
}

// --- ZeroPadding2D ---

TEST(ZeroPadding2DLayer, CommonChecks) {
  run_layer_test({.layer = layers::ZeroPadding2D(), .input_shapes = {{2, 3, 4, 2}}});
  run_layer_test({.layer = layers::ZeroPadding2D({{1, 0}, {2, 3}}, {.data_format = "channels_first"}),
                  .input_shapes = {{2, 2, 3, 4}}});
}

TEST(ZeroPadding2DLayer, AsymmetricValues) {
  // x (1, 2, 3, 1) = [[0 1 2] [3 4 5]] padded with top 1, bottom 0, left 2, right 3 -> (1, 3, 8, 1).
  Tensor y = layers::ZeroPadding2D({{1, 0}, {2, 3}})(arange({1, 2, 3, 1}));
  ASSERT_EQ(y.shape(), (Shape{1, 3, 8, 1}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 0, 0, 0, 0, 0, 0, 0,  //
                                                      0, 0, 0, 1, 2, 0, 0, 0,  //
                                                      0, 0, 3, 4, 5, 0, 0, 0}));
  // channels_first pads the last two axes.
  Tensor z = layers::ZeroPadding2D(1, {.data_format = "channels_first"})(arange({1, 1, 1, 2}));
  ASSERT_EQ(z.shape(), (Shape{1, 1, 3, 4}));
  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}));
}

TEST(ZeroPadding2DLayer, PaddingFormsShapesAndConfig) {
  EXPECT_EQ(layers::ZeroPadding2D()->compute_output_shape(Shape{kUnknownDim, 4, 5, 3}), (Shape{kUnknownDim, 6, 7, 3}));
  EXPECT_EQ(layers::ZeroPadding2D(2)->compute_output_shape(Shape{kUnknownDim, kUnknownDim, 5, 3}),
            (Shape{kUnknownDim, kUnknownDim, 9, 3}));
  auto sym = layers::ZeroPadding2D({1, 2});
  EXPECT_EQ(sym->compute_output_shape(Shape{kUnknownDim, 4, 5, 3}), (Shape{kUnknownDim, 6, 9, 3}));
  EXPECT_EQ(sym->get_config().at("padding"), nlohmann::json::parse("[[1, 1], [2, 2]]"));
  EXPECT_EQ(sym->get_config().at("data_format"), "channels_last");
  // An int and a (height, width) pair in a config are read as Keras reads them.
  LayerHandle from_int =
      layers::deserialize({{"class_name", "ZeroPadding2D"}, {"config", {{"name", "zp_int"}, {"padding", 3}}}});
  EXPECT_EQ(from_int->get_config().at("padding"), nlohmann::json::parse("[[3, 3], [3, 3]]"));
  LayerHandle from_pair = layers::deserialize(
      {{"class_name", "ZeroPadding2D"}, {"config", {{"name", "zp_pair"}, {"padding", {1, {2, 3}}}}}});
  EXPECT_EQ(from_pair->get_config().at("padding"), nlohmann::json::parse("[[1, 1], [2, 3]]"));
}

TEST(ZeroPadding2DLayer, Errors) {
  expect_throw_containing(
      [] {
        layers::ZeroPadding2D({{-1, 2}, {0, 0}});
      },
      "The `1st entry of padding` argument must be a tuple of 2 integers. Received 1st entry of "
      "padding=(-1, 2) including values {-1} that do not satisfy `value >= 0`");
  EXPECT_THROW(layers::ZeroPadding2D({0, -2}), ValueError);
  EXPECT_THROW(layers::ZeroPadding2D(1)(ones({2, 3, 4})), ShapeError);
}

// --- UpSampling2D ---

// Reference from PyTorch (NHWC through NCHW):
//   x = torch.arange(12, dtype=torch.float32).reshape(1, 2, 3, 2)
//   y = torch.nn.functional.interpolate(x.permute(0, 3, 1, 2), scale_factor=(2, 3), mode='nearest')
//   print(y.permute(0, 2, 3, 1).flatten().tolist())
TEST(UpSampling2DLayer, NearestMatchesPyTorch) {
  Tensor y = layers::UpSampling2D({2, 3})(arange({1, 2, 3, 2}));
  ASSERT_EQ(y.shape(), (Shape{1, 4, 9, 2}));
  EXPECT_EQ(y.to_vector<float>(),
            (std::vector<float>{0,  1,  0,  1,  0,  1,  2, 3, 2, 3, 2, 3, 4, 5, 4, 5, 4, 5, 0,  1,  0,  1,  0,  1,
                                2,  3,  2,  3,  2,  3,  4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 8,  9,  8,  9,  8,  9,
                                10, 11, 10, 11, 10, 11, 6, 7, 6, 7, 6, 7, 8, 9, 8, 9, 8, 9, 10, 11, 10, 11, 10, 11}));
}

TEST(UpSampling2DLayer, ChannelsFirstAndCommonChecks) {
  run_layer_test({.layer = layers::UpSampling2D(), .input_shapes = {{2, 3, 4, 2}}});
  run_layer_test(
      {.layer = layers::UpSampling2D({1, 2}, {.data_format = "channels_first"}), .input_shapes = {{2, 2, 3, 3}}});
  // (N=1, C=1, H=1, W=2) = [[a b]] with size 2 -> [[a a b b] [a a b b]].
  Tensor y = layers::UpSampling2D(2, {.data_format = "channels_first"})(arange({1, 1, 1, 2}));
  ASSERT_EQ(y.shape(), (Shape{1, 1, 2, 4}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 0, 0, 1, 1}));
  EXPECT_EQ(layers::UpSampling2D({2, 3})->compute_output_shape(Shape{kUnknownDim, kUnknownDim, 4, 3}),
            (Shape{kUnknownDim, kUnknownDim, 12, 3}));
}

TEST(UpSampling2DLayer, GradientSumsEachBlock) {
  Tensor x = arange({1, 2, 2, 1}).requires_grad_();
  Tensor y = layers::UpSampling2D({2, 3})(x);
  ops::sum(y * y).backward();  // d/dx = 2·x·(2·3)
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0, 12, 24, 36}));
}

TEST(UpSampling2DLayer, ConfigAndErrors) {
  nlohmann::json c = layers::UpSampling2D(3)->get_config();
  EXPECT_EQ(c.at("size"), nlohmann::json::parse("[3, 3]"));
  EXPECT_EQ(c.at("interpolation"), "nearest");
  EXPECT_EQ(c.at("data_format"), "channels_last");
  expect_throw_containing([] { layers::UpSampling2D({2, 2}, {.interpolation = "bilinear"}); }, "only \"nearest\"");
  EXPECT_THROW(layers::UpSampling2D({2, 2}, {.interpolation = "bilinear"}), UnimplementedError);
  EXPECT_THROW(layers::UpSampling2D({2, 2}, {.interpolation = "cubic-ish"}), ValueError);
  expect_throw_containing([] { layers::UpSampling2D({2, 0}); }, "that do not satisfy `value > 0`");
  EXPECT_THROW(layers::UpSampling2D(std::vector<int64_t>{1, 2, 3}), ValueError);
  EXPECT_THROW(layers::UpSampling2D()(ones({2, 3, 4})), ShapeError);
}

}  // namespace
}  // namespace keel
