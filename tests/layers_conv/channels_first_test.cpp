// data_format="channels_first" for Conv1D/Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D,
// MaxPooling/AveragePooling and the global poolings: inputs
// (batch, channels, *spatial), Keras's kernel layout unchanged. Values against direct loops over NCHW arrays
// written here; shapes, gradients' agreement with channels_last, configs and training.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "keel/keel.h"
#include "layers/layer_test_util.h"

namespace keel {
namespace {

// x (N, C, H, W) as a flat NCHW vector.
std::vector<float> nchw(int64_t n, int64_t c, int64_t h, int64_t w) {
  std::vector<float> v(static_cast<size_t>(n * c * h * w));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i) + 0.2));
  return v;
}

TEST(ChannelsFirst, Conv2DMatchesDirectLoops) {
  const int64_t N = 2, C = 3, H = 5, W = 4, O = 2, K = 3;
  const std::vector<float> xv = nchw(N, C, H, W);
  layers::Conv2D conv(O, {K, K}, {.data_format = "channels_first"});
  const Tensor y = conv(from_vector(xv, {N, C, H, W}));
  ASSERT_EQ(y.shape(), (Shape{N, O, H - K + 1, W - K + 1}));
  const std::vector<float> k = conv->kernel().value().to_vector<float>();  // (K, K, C, O), Keras's layout
  const std::vector<float> b = conv->bias().value().to_vector<float>();
  const std::vector<float> got = y.to_vector<float>();
  const int64_t OH = H - K + 1, OW = W - K + 1;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double acc = b[o];
          for (int64_t c = 0; c < C; ++c)
            for (int64_t kh = 0; kh < K; ++kh)
              for (int64_t kw = 0; kw < K; ++kw)
                acc += xv[((n * C + c) * H + i + kh) * W + j + kw] * k[((kh * K + kw) * C + c) * O + o];
          EXPECT_NEAR(got[((n * O + o) * OH + i) * OW + j], acc, 1e-5);
        }
}

TEST(ChannelsFirst, DepthwiseConv2DMatchesDirectLoops) {
  const int64_t N = 2, C = 3, H = 5, W = 4, M = 2, K = 2;
  const std::vector<float> xv = nchw(N, C, H, W);
  layers::DepthwiseConv2D conv({K, K}, {.depth_multiplier = M, .data_format = "channels_first"});
  const Tensor y = conv(from_vector(xv, {N, C, H, W}));
  const int64_t OH = H - K + 1, OW = W - K + 1;
  ASSERT_EQ(y.shape(), (Shape{N, C * M, OH, OW}));
  const std::vector<float> k = conv->weights()[0].value().to_vector<float>();  // (K, K, C, M)
  const std::vector<float> b = conv->weights()[1].value().to_vector<float>();  // (C·M)
  const std::vector<float> got = y.to_vector<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t i = 0; i < OH; ++i)
          for (int64_t j = 0; j < OW; ++j) {
            double acc = b[c * M + m];
            for (int64_t kh = 0; kh < K; ++kh)
              for (int64_t kw = 0; kw < K; ++kw)
                acc += xv[((n * C + c) * H + i + kh) * W + j + kw] * k[((kh * K + kw) * C + c) * M + m];
            EXPECT_NEAR(got[((n * C * M + c * M + m) * OH + i) * OW + j], acc, 1e-5);
          }
}

// Conv2DTranspose, DepthwiseConv2D and SeparableConv2D: channels_first equals channels_last on the transposed
// input with the same weights (Keras keeps the kernel layout), through the whole layer contract.
TEST(ChannelsFirst, TransposedAndSeparableConvolutionsAgreeWithChannelsLast) {
  const Tensor x = random::normal({2, 3, 6, 5}, 0.0, 1.0, DType::f32, 9);  // NCHW
  const Tensor x_last = ops::transpose(x, {0, 2, 3, 1});
  auto check = [&](LayerHandle first, LayerHandle last) {
    const Tensor y_last = last(x_last);
    first(x);
    first->set_weights(last->get_weights());
    const Tensor y = first(x);
    const std::vector<float> a = y.to_vector<float>(), b = ops::transpose(y_last, {0, 3, 1, 2}).to_vector<float>();
    ASSERT_EQ(y.shape(), ops::transpose(y_last, {0, 3, 1, 2}).shape()) << first->name();
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-5) << first->name() << " at " << i;
    EXPECT_EQ(first->compute_output_shape({x.shape()})[0], y.shape());
  };
  check(layers::Conv2DTranspose(4, {3, 3}, {.strides = {2}, .padding = "same", .data_format = "channels_first"}),
        layers::Conv2DTranspose(4, {3, 3}, {.strides = {2}, .padding = "same"}));
  check(layers::DepthwiseConv2D({3, 3}, {.depth_multiplier = 2, .data_format = "channels_first"}),
        layers::DepthwiseConv2D({3, 3}, {.depth_multiplier = 2}));
  check(layers::SeparableConv2D(4, {3, 3}, {.data_format = "channels_first"}), layers::SeparableConv2D(4, {3, 3}));
  testing::run_layer_test({.layer = layers::Conv2DTranspose(2, {3, 3}, {.data_format = "channels_first"}),
                           .input_shapes = {{2, 3, 4, 5}},
                           .weight_names = {"kernel", "bias"},
                           .weight_shapes = {{3, 3, 2, 3}, {2}}});
  testing::run_layer_test({.layer = layers::DepthwiseConv2D({3, 3}, {.data_format = "channels_first"}),
                           .input_shapes = {{2, 3, 4, 5}},
                           .weight_names = {"kernel", "bias"},
                           .weight_shapes = {{3, 3, 3, 1}, {3}}});
  testing::run_layer_test({.layer = layers::SeparableConv2D(2, {3, 3}, {.data_format = "channels_first"}),
                           .input_shapes = {{2, 3, 4, 5}},
                           .weight_names = {"depthwise_kernel", "pointwise_kernel", "bias"},
                           .weight_shapes = {{3, 3, 3, 1}, {1, 1, 3, 2}, {2}}});
}

TEST(ChannelsFirst, PoolingMatchesDirectLoops) {
  const int64_t N = 1, C = 2, H = 4, W = 6;
  const std::vector<float> xv = nchw(N, C, H, W);
  const Tensor x = from_vector(xv, {N, C, H, W});
  const std::vector<float> mx = layers::MaxPooling2D({2, 2}, {.data_format = "channels_first"})(x).to_vector<float>();
  const std::vector<float> gap =
      layers::GlobalAveragePooling2D({.data_format = "channels_first"})(x).to_vector<float>();
  const Tensor keep = layers::GlobalMaxPooling2D({.data_format = "channels_first", .keepdims = true})(x);
  EXPECT_EQ(keep.shape(), (Shape{N, C, 1, 1}));
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0, best = -1e9;
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        sum += xv[(c * H + i) * W + j];
        best = std::max<double>(best, xv[(c * H + i) * W + j]);
      }
    EXPECT_NEAR(gap[c], sum / (H * W), 1e-6);
    EXPECT_NEAR(keep.to_vector<float>()[c], best, 0);
    for (int64_t i = 0; i < H / 2; ++i)
      for (int64_t j = 0; j < W / 2; ++j) {
        float m = -1e9f;
        for (int64_t a = 0; a < 2; ++a)
          for (int64_t b = 0; b < 2; ++b) m = std::max(m, xv[(c * H + 2 * i + a) * W + 2 * j + b]);
        EXPECT_EQ(mx[(c * (H / 2) + i) * (W / 2) + j], m);
      }
  }
  // 1D: (batch, channels, steps).
  const Tensor seq = from_vector(nchw(1, 2, 6, 1), {1, 2, 6});
  EXPECT_EQ(layers::AveragePooling1D({3}, {.data_format = "channels_first"})(seq).shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(layers::GlobalMaxPooling1D({.data_format = "channels_first"})(seq).shape(), (Shape{1, 2}));
}

TEST(ChannelsFirst, ShapesSpecsAndConfigs) {
  SymbolicTensor x = layers::Input({3, 8, 8});
  layers::Conv2D conv(4, {3, 3}, {.strides = {2, 2}, .padding = "same", .data_format = "channels_first"});
  SymbolicTensor y = conv(x);
  EXPECT_EQ(y.shape, (Shape{kUnknownDim, 4, 4, 4}));
  EXPECT_EQ(conv->kernel().shape(), (Shape{3, 3, 3, 4}));
  EXPECT_EQ(layers::MaxPooling2D({2, 2}, {.data_format = "channels_first"})(y).shape, (Shape{kUnknownDim, 4, 2, 2}));
  EXPECT_EQ(layers::Conv1D(5, {3}, {.data_format = "channels_first"})(layers::Input({2, 10})).shape,
            (Shape{kUnknownDim, 5, 8}));
  // The channel axis (1) is checked.
  EXPECT_THROW(conv(zeros({1, 5, 8, 8})), ShapeError);
  EXPECT_EQ(conv->get_config().at("data_format"), "channels_first");
  EXPECT_EQ(layers::deserialize(layers::serialize(conv))->get_config(), conv->get_config());
}

TEST(ChannelsFirst, TrainsLikeTheChannelsLastModelOnTransposedData) {
  const Tensor x_first = from_vector(nchw(8, 2, 6, 6), {8, 2, 6, 6});
  const Tensor x_last = ops::transpose(x_first, {0, 2, 3, 1});
  const Tensor y = from_vector(std::vector<float>{0, 1, 1, 0, 1, 0, 0, 1}, {8, 1});
  auto run = [&](const std::string& format, const Tensor& x) {
    random::set_seed(11);
    const Shape in = format == "channels_first" ? Shape{2, 6, 6} : Shape{6, 6, 2};
    Sequential m({layers::Input(in), layers::Conv2D(3, {3, 3}, {.data_format = format, .activation = "relu"}),
                  layers::MaxPooling2D({2, 2}, {.data_format = format}),
                  layers::GlobalAveragePooling2D({.data_format = format}), layers::Dense(1, "sigmoid")});
    m.compile({.optimizer = "adam", .loss = "binary_crossentropy"});
    return m.fit(x, y, {.batch_size = 4, .epochs = 3, .verbose = 0, .shuffle = false}).history.at("loss");
  };
  const std::vector<double> first = run("channels_first", x_first), last = run("channels_last", x_last);
  for (size_t e = 0; e < first.size(); ++e) EXPECT_NEAR(first[e], last[e], 1e-6) << e;
}

}  // namespace
}  // namespace keel
