// Keras masks through layers and models: Masking and Embedding(mask_zero) make them, Sequential and
// functional models carry them from layer to layer (compute_mask, supports_masking), merging layers combine
// them, GlobalAveragePooling1D, Softmax and MultiHeadAttention consume them, and a layer that does not support
// masking drops them with Keras's warning. Values from keras/src/layers/core/masking_test.py and by hand.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "keel/keel.h"
#include "layers/layer_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

std::vector<float> floats(const Tensor& t) { return ops::cast(t, DType::f32).to_vector<float>(); }

// Records the mask each call receives, passing its input and mask on (Keras's TestLayer in masking_test.py).
class MaskRecorder : public UnaryLayer {
 public:
  MaskRecorder() : UnaryLayer("MaskRecorder") { set_supports_masking(true); }
  Tensor call(const Tensor& x, const CallContext& ctx) override {
    seen = ctx.mask();
    ++calls;
    return x;
  }
  Shape compute_output_shape(const Shape& s) const override { return s; }
  Tensor seen;
  int calls = 0;
};

// keras/src/layers/core/masking_test.py: test_masking_correctness.
const std::vector<float> kMaskingX{0, 0, 1, 2, 0, 0, 2, 2, 0, 0, 2, 1};
const std::vector<float> kMaskingExpected{0, 1, 0, 1, 0, 1};

TEST(Masking, LayerContract) {
  testing::run_layer_test({.layer = layers::Masking({.mask_value = 0.0}), .input_shapes = {{2, 3, 2}}});
}

TEST(Masking, ComputesKerasMaskAndZeroesMaskedSteps) {
  const Tensor x = from_vector(kMaskingX, {2, 3, 2});
  auto masking = layers::Masking();
  EXPECT_EQ(floats(masking->compute_mask(x, Tensor())), kMaskingExpected);
  // A step equal to mask_value in every feature is zeroed; others pass unchanged.
  const Tensor y = masking(from_vector(std::vector<float>{5, 5, 1, 5, 5, 5, 2, 2}, {1, 4, 2}));
  auto other = layers::Masking({.mask_value = 5.0});
  const Tensor z = other(from_vector(std::vector<float>{5, 5, 1, 5, 5, 5, 2, 2}, {1, 4, 2}));
  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{0, 0, 1, 5, 0, 0, 2, 2}));
  EXPECT_EQ(floats(other->compute_mask(from_vector(std::vector<float>{5, 5, 1, 5, 5, 5, 2, 2}, {1, 4, 2}), Tensor())),
            (std::vector<float>{0, 1, 0, 1}));
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{5, 5, 1, 5, 5, 5, 2, 2}));  // no step is all zeros
}

TEST(Masking, SequentialPassesTheMaskToTheNextLayer) {
  auto recorder = make_layer<MaskRecorder>();
  Sequential model({layers::Input({3, 2}), layers::Masking(), recorder});
  model(from_vector(kMaskingX, {2, 3, 2}));
  ASSERT_TRUE(recorder->seen.defined());
  EXPECT_EQ(recorder->seen.dtype(), DType::b8);
  EXPECT_EQ(floats(recorder->seen), kMaskingExpected);
}

TEST(Masking, ConfigRoundTrips) {
  auto masking = layers::Masking({.mask_value = -1.5, .name = "pad"});
  const nlohmann::json config = masking->get_config();
  EXPECT_EQ(config.at("mask_value").get<double>(), -1.5);
  LayerHandle back = layers::deserialize(layers::serialize(masking));
  EXPECT_EQ(back->name(), "pad");
  EXPECT_EQ(back->get_config(), config);
}

TEST(EmbeddingMaskZero, MasksIdZeroAndPassesItThroughAFunctionalModel) {
  auto recorder = make_layer<MaskRecorder>();
  auto in = layers::Input({4}, {.dtype = DType::i32});
  auto emb = layers::Embedding(5, 3, {.mask_zero = true});
  Model model(in, recorder(layers::Dense(2)(emb(in))));  // Dense supports masking: the mask goes through
  const Tensor ids = from_vector(std::vector<int32_t>{0, 1, 2, 0, 3, 0, 0, 4}, {2, 4});
  model(ids);
  ASSERT_TRUE(recorder->seen.defined());
  EXPECT_EQ(floats(recorder->seen), (std::vector<float>{0, 1, 1, 0, 1, 0, 0, 1}));
  // Without mask_zero no mask is made; mask_zero is saved and read back.
  auto plain = layers::Embedding(5, 3);
  EXPECT_FALSE(plain->supports_masking());
  EXPECT_TRUE(layers::deserialize(layers::serialize(emb))->supports_masking());
}

TEST(ExplicitMask, CallArgumentReachesTheLayer) {
  auto recorder = make_layer<MaskRecorder>();
  const Tensor x = ones({2, 3, 1});
  const Tensor m = from_vector(std::vector<float>{1, 0, 1, 1, 1, 0}, {2, 3});
  recorder(x, {.mask = m});
  ASSERT_TRUE(recorder->seen.defined());
  EXPECT_EQ(recorder->seen.dtype(), DType::b8);  // a float mask arrives as booleans
  EXPECT_EQ(floats(recorder->seen), (std::vector<float>{1, 0, 1, 1, 1, 0}));
  recorder(x, {.training = true});
  EXPECT_FALSE(recorder->seen.defined());
  testing::expect_error<ShapeError>(
      [&] {
        recorder(x, {.mask = ones({3, 3})});
      },
      "mask_recorder", "(3, 3)", "(2, 3, 1)");
}

TEST(MaskPropagation, ALayerWithoutMaskingSupportDropsTheMaskWithKerasWarning) {
  auto recorder = make_layer<MaskRecorder>();
  auto flatten = layers::Flatten({.name = "flat"});
  Sequential model({layers::Input({3, 2}), layers::Masking(), flatten, recorder});
  ::testing::internal::CaptureStderr();
  model(from_vector(kMaskingX, {2, 3, 2}));
  model(from_vector(kMaskingX, {2, 3, 2}));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(recorder->calls, 2);
  EXPECT_FALSE(recorder->seen.defined());
  EXPECT_NE(err.find("Layer 'flat' (of type Flatten) was passed an input with a mask attached to it"),
            std::string::npos)
      << err;
  EXPECT_EQ(err.find("flat", err.find("flat") + 40), std::string::npos) << "warned twice: " << err;
}

TEST(MaskPropagation, MergeLayersCombineMasks) {
  const Tensor a = ones({1, 3, 2}), b = ones({1, 3, 2});
  const Tensor ma = from_vector(std::vector<float>{1, 1, 0}, {1, 3});
  const Tensor mb = from_vector(std::vector<float>{0, 1, 1}, {1, 3});
  auto add = layers::Add();
  MaskedOutputs r = add->call_with_masks({a, b}, {ops::cast(ma, DType::b8), ops::cast(mb, DType::b8)});
  EXPECT_EQ(floats(r.masks.at(0)), (std::vector<float>{0, 1, 0}));  // AND
  r = add->call_with_masks({a, b}, {Tensor(), ops::cast(mb, DType::b8)});
  EXPECT_EQ(floats(r.masks.at(0)), (std::vector<float>{0, 1, 1}));  // an unmasked input does not count
  // Concatenate on the features: masks broadcast over each input's features, any() over the result.
  auto concat = layers::Concatenate();
  r = concat->call_with_masks({a, b}, {ops::cast(ma, DType::b8), Tensor()});
  EXPECT_EQ(floats(r.masks.at(0)), (std::vector<float>{1, 1, 1}));
  // On the time axis the masks are joined.
  auto concat_time = layers::Concatenate({.axis = 1});
  r = concat_time->call_with_masks({a, b}, {ops::cast(ma, DType::b8), ops::cast(mb, DType::b8)});
  EXPECT_EQ(floats(r.masks.at(0)), (std::vector<float>{1, 1, 0, 0, 1, 1}));
}

TEST(MaskPropagation, NestedModelsKeepTheirOutputMasks) {
  Sequential inner({layers::Input({4}), layers::Embedding(6, 3, {.mask_zero = true}), layers::Dense(3)});
  auto recorder = make_layer<MaskRecorder>();
  auto in = layers::Input({4});
  Model outer(in, recorder(inner(in)));
  outer(from_vector(std::vector<float>{1, 0, 2, 0}, {1, 4}));
  ASSERT_TRUE(recorder->seen.defined());
  EXPECT_EQ(floats(recorder->seen), (std::vector<float>{1, 0, 1, 0}));
}

TEST(GlobalAveragePooling1DMask, AveragesKeptStepsOnly) {
  const Tensor x = from_vector(std::vector<float>{1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60}, {2, 3, 2});
  const Tensor m = from_vector(std::vector<float>{1, 0, 1, 0, 1, 1}, {2, 3});
  auto pool = layers::GlobalAveragePooling1D();
  MaskedOutputs r = pool->call_with_masks({x}, {m});
  // (1+3)/2, (10+30)/2; (5+6)/2, (50+60)/2
  EXPECT_EQ(r.outputs[0].to_vector<float>(), (std::vector<float>{2, 20, 5.5f, 55}));
  EXPECT_FALSE(r.masks[0].defined());  // consumed
  auto first = layers::GlobalAveragePooling1D({.data_format = "channels_first"});
  r = first->call_with_masks({ops::transpose(x, {0, 2, 1})}, {m});
  EXPECT_EQ(r.outputs[0].to_vector<float>(), (std::vector<float>{2, 20, 5.5f, 55}));
  EXPECT_FALSE(layers::GlobalMaxPooling1D()->supports_masking());
}

TEST(SoftmaxMask, MaskedPositionsGetZeroProbability) {
  const Tensor x = from_vector(std::vector<float>{1, 2, 3, 4}, {1, 4});
  auto softmax = layers::Softmax();
  const Tensor y = softmax(x, {.mask = from_vector(std::vector<float>{1, 0, 1, 0}, {1, 4})});
  const double e1 = std::exp(1.0), e3 = std::exp(3.0);
  const std::vector<float> v = y.to_vector<float>();
  EXPECT_NEAR(v[0], e1 / (e1 + e3), 1e-6);
  EXPECT_EQ(v[1], 0.0f);
  EXPECT_NEAR(v[2], e3 / (e1 + e3), 1e-6);
  EXPECT_EQ(v[3], 0.0f);
}

// MultiHeadAttention with a value (key padding) mask equals attention over the unpadded values, and its
// query/value masks equal the attention_mask Keras derives from them.
TEST(MultiHeadAttentionMask, ValueMaskEqualsAttendingToTheUnpaddedValues) {
  random::set_seed(5);
  auto mha = layers::MultiHeadAttention(2, 3);
  const Tensor q = random::normal({1, 2, 4}, 0.0, 1.0, DType::f32, 1);
  const Tensor v = random::normal({1, 5, 4}, 0.0, 1.0, DType::f32, 2);
  const Tensor vm = from_vector(std::vector<float>{1, 1, 1, 0, 0}, {1, 5});
  const Tensor masked = mha(std::vector<Tensor>{q, v}, {.mask = std::vector<Tensor>{Tensor(), vm}})[0];
  const Tensor unpadded = mha(std::vector<Tensor>{q, ops::slice_axis(v, 1, 0, 3)})[0];
  const std::vector<float> a = masked.to_vector<float>(), b = unpadded.to_vector<float>();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6) << i;

  const Tensor qm = from_vector(std::vector<float>{1, 0}, {1, 2});
  MaskedOutputs r = mha->call_with_masks({q, v}, {ops::cast(qm, DType::b8), ops::cast(vm, DType::b8)});
  // Keras: attention_mask = query_mask[:, :, None] & value_mask[:, None, :].
  const Tensor explicit_mask = ops::expand_dims(qm, 2) * ops::expand_dims(vm, 1);
  const Tensor expected = mha->attend(q, v, {.attention_mask = explicit_mask}).output;
  EXPECT_EQ(r.outputs[0].to_vector<float>(), expected.to_vector<float>());
  EXPECT_EQ(floats(r.masks.at(0)), (std::vector<float>{1, 0}));  // the output keeps the query's mask
}

// BatchNormalization while training: mean and (biased) variance over the kept positions only, as Keras's
// _moments(inputs, mask); the moving statistics take them.
TEST(BatchNormalizationMask, TrainingStatisticsUseKeptPositionsOnly) {
  auto bn = layers::BatchNormalization({.momentum = 0.0});
  const Tensor x = from_vector(std::vector<float>{1, 10, 3, 30, 100, -5, 5, 50}, {2, 2, 2});
  const Tensor m = from_vector(std::vector<float>{1, 1, 0, 1}, {2, 2});  // kept: (1,10), (3,30), (5,50)
  const Tensor y = bn(x, {.mask = m, .training = true});
  const double mean0 = 3, mean1 = 30;
  const double var0 = (4 + 0 + 4) / 3.0, var1 = (400 + 0 + 400) / 3.0;
  const std::vector<float> v = y.to_vector<float>();
  const std::vector<float> xs = x.to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i) {
    const bool c0 = i % 2 == 0;
    const double expected = (xs[i] - (c0 ? mean0 : mean1)) / std::sqrt((c0 ? var0 : var1) + 1e-3);
    EXPECT_NEAR(v[i], expected, 1e-4 * (1 + std::abs(expected))) << i;
  }
  EXPECT_NEAR(bn->weights()[2].value().to_vector<float>()[1], mean1, 1e-3);  // moving_mean
  EXPECT_NEAR(bn->weights()[3].value().to_vector<float>()[0], var0, 1e-3);   // moving_variance
}

}  // namespace
}  // namespace keel
