// MultiHeadAttention: the layer contract, outputs against a NumPy einsum reference with copied weights,
// the causal mask, parameter counts (keras-reference §2.12) and argument errors.
//
// Reference numbers: /usr/bin/python3 (NumPy, float64), with pat() from rnn_test_util.h:
//   H,kd,vd = 2,3,2;  q_in = pat((2,3,4),0.5);  v_in = pat((2,5,5),1.5)
//   Wq,bq = pat((4,H,kd),7), pat((H,kd),8);  Wk,bk = pat((d_k,H,kd),9), pat((H,kd),10)
//   Wv,bv = pat((d_v,H,vd),11), pat((H,vd),12);  Wo,bo = pat((H,vd,4),13), pat((4,),14)
//   def mha(q_in, v_in, k_in, mask=None):
//     Q = einsum('abc,cde->abde', q_in, Wq)+bq; K = einsum(.., k_in, Wk)+bk; V = einsum(.., v_in, Wv)+bv
//     S = einsum('aecd,abcd->acbe', K, Q/sqrt(kd))
//     if mask is not None: S = S + (1-mask[:,None])*-1e9
//     S = softmax(S, -1);  if mask is not None: S = S*mask[:,None]
//     O = einsum('acbe,aecd->abcd', S, V);  return einsum('abcd,cde->abe', O, Wo)+bo, S
//   mha(q_in, v_in, v_in);  mha(q_in, v_in, pat((2,5,3),2.5)) with d_k=3
//   causal (d_k=d_v=4): mha(q_in, q_in, q_in, np.tril(np.ones((3,3)))[None].repeat(2,0))
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "keel/keel.h"
#include "keel/layers/attention.h"
#include "layers/layer_test_util.h"
#include "layers_rnn/rnn_test_util.h"

namespace keel {
namespace {

using testing::expect_values;
using testing::pattern;
using testing::run_layer_test;

constexpr int64_t H = 2, KD = 3, VD = 2;

std::vector<Tensor> weights(int64_t d_q, int64_t d_k, int64_t d_v) {
  return {pattern({d_q, H, KD}, 7.0),  pattern({H, KD}, 8.0),  pattern({d_k, H, KD}, 9.0),  pattern({H, KD}, 10.0),
          pattern({d_v, H, VD}, 11.0), pattern({H, VD}, 12.0), pattern({H, VD, d_q}, 13.0), pattern({d_q}, 14.0)};
}

TEST(MultiHeadAttention, LayerContract) {
  const std::vector<std::string> names{"kernel", "bias", "kernel", "bias", "kernel", "bias", "kernel", "bias"};
  run_layer_test({.layer = layers::MultiHeadAttention(H, KD),
                  .input_shapes = {{2, 3, 4}, {2, 5, 5}},
                  .weight_names = names,
                  .weight_shapes = {{4, H, KD}, {H, KD}, {5, H, KD}, {H, KD}, {5, H, KD}, {H, KD}, {H, KD, 4}, {4}}});
  run_layer_test({.layer = layers::MultiHeadAttention(H, KD, {.value_dim = VD, .output_shape = Shape{6}}),
                  .input_shapes = {{2, 3, 4}, {2, 5, 5}, {2, 5, 3}},
                  .weight_names = names,
                  .weight_shapes = {{4, H, KD}, {H, KD}, {3, H, KD}, {H, KD}, {5, H, VD}, {H, VD}, {H, VD, 6}, {6}}});
  run_layer_test({.layer = layers::MultiHeadAttention(H, KD, {.use_bias = false}),
                  .input_shapes = {{2, 3, 4}, {2, 3, 4}},
                  .weight_names = {"kernel", "kernel", "kernel", "kernel"}});
  // Rank 4: attention over both middle axes, flattened.
  run_layer_test({.layer = layers::MultiHeadAttention(H, KD),
                  .input_shapes = {{2, 2, 3, 4}, {2, 2, 2, 5}},
                  .weight_names = names});
}

TEST(MultiHeadAttention, MatchesNumpy) {
  auto mha = layers::MultiHeadAttention(H, KD, {.value_dim = VD});
  const Tensor q = pattern({2, 3, 4}, 0.5), v = pattern({2, 5, 5}, 1.5);
  mha(std::vector<Tensor>{q, v});
  mha->set_weights(weights(4, 5, 5));
  const std::vector<float> expected{0.531497f,  0.327139f,  -0.031078f, -0.374678f, 0.531399f,  0.327068f,
                                    -0.031089f, -0.374624f, 0.531607f,  0.327075f,  -0.031286f, -0.374932f,
                                    0.531027f,  0.329224f,  -0.027418f, -0.371165f, 0.531199f,  0.329202f,
                                    -0.027624f, -0.371458f, 0.531021f,  0.329252f,  -0.027369f, -0.371118f};
  expect_values(mha(std::vector<Tensor>{q, v})[0], {2, 3, 4}, expected, "output");
  layers::AttentionResult r = mha->attend(q, v);
  expect_values(r.output, {2, 3, 4}, expected, "attend output");
  const std::vector<float> scores{
      0.194931f, 0.205735f, 0.196428f, 0.202970f, 0.199935f, 0.195216f, 0.205453f, 0.196579f, 0.202886f, 0.199866f,
      0.195409f, 0.205019f, 0.196969f, 0.202363f, 0.200240f, 0.201389f, 0.196922f, 0.202793f, 0.196290f, 0.202605f,
      0.201049f, 0.197521f, 0.202294f, 0.196902f, 0.202235f, 0.202299f, 0.195532f, 0.203882f, 0.195048f, 0.203240f,
      0.199381f, 0.203666f, 0.195950f, 0.206217f, 0.194787f, 0.198792f, 0.203641f, 0.196385f, 0.205189f, 0.195993f,
      0.199417f, 0.203781f, 0.195782f, 0.206511f, 0.194509f, 0.198384f, 0.201383f, 0.199381f, 0.200121f, 0.200732f,
      0.196988f, 0.201176f, 0.200493f, 0.197574f, 0.203769f, 0.198468f, 0.201445f, 0.199253f, 0.200372f, 0.200462f};
  expect_values(r.scores, {2, H, 3, 5}, scores, "scores");
}

TEST(MultiHeadAttention, SeparateKeyMatchesNumpy) {
  auto mha = layers::MultiHeadAttention(H, KD, {.value_dim = VD});
  const Tensor q = pattern({2, 3, 4}, 0.5), v = pattern({2, 5, 5}, 1.5), k = pattern({2, 5, 3}, 2.5);
  mha(std::vector<Tensor>{q, v, k});
  mha->set_weights(weights(4, 3, 5));
  expect_values(mha(std::vector<Tensor>{q, v, k})[0], {2, 3, 4},
                {0.530782f, 0.326062f, -0.032011f, -0.375028f, 0.530762f, 0.326043f, -0.032019f, -0.375021f,
                 0.530820f, 0.326130f, -0.031944f, -0.374994f, 0.531100f, 0.328313f, -0.028884f, -0.372497f,
                 0.531426f, 0.328043f, -0.029624f, -0.373358f, 0.531082f, 0.328337f, -0.028831f, -0.372439f},
                "output");
}

TEST(MultiHeadAttention, CausalMaskMatchesNumpy) {
  auto mha = layers::MultiHeadAttention(H, KD, {.value_dim = VD});
  const Tensor q = pattern({2, 3, 4}, 0.5);
  mha(std::vector<Tensor>{q, q});
  mha->set_weights(weights(4, 4, 4));
  layers::AttentionResult r = mha->attend(q, q, {.use_causal_mask = true});
  expect_values(r.output, {2, 3, 4},
                {0.532651f, 0.324588f, -0.036134f, -0.379862f, 0.527530f, 0.324445f, -0.031232f, -0.372220f,
                 0.531247f, 0.332727f, -0.022280f, -0.366808f, 0.517939f, 0.301411f, -0.056876f, -0.388413f,
                 0.528933f, 0.331830f, -0.021337f, -0.364469f, 0.525232f, 0.318571f, -0.037919f, -0.376575f},
                "output");
  expect_values(r.scores, {2, H, 3, 3},
                {1.000000f, 0.000000f, 0.000000f, 0.494074f, 0.505926f, 0.000000f, 0.335557f, 0.344584f, 0.319859f,
                 1.000000f, 0.000000f, 0.000000f, 0.495545f, 0.504455f, 0.000000f, 0.336942f, 0.344400f, 0.318658f,
                 1.000000f, 0.000000f, 0.000000f, 0.535434f, 0.464566f, 0.000000f, 0.345098f, 0.307165f, 0.347737f,
                 1.000000f, 0.000000f, 0.000000f, 0.541430f, 0.458570f, 0.000000f, 0.343706f, 0.309507f, 0.346788f},
                "scores");
  // The same mask given explicitly as an attention_mask gives the same result.
  std::vector<float> tri{1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1};
  layers::AttentionResult m = mha->attend(q, q, {.attention_mask = from_vector(tri, {2, 3, 3})});
  expect_values(m.output, {2, 3, 4}, r.output.to_vector<float>(), "attention_mask output", 1e-6);
}

TEST(MultiHeadAttention, ParamCountsAndSubLayers) {
  auto mha = layers::MultiHeadAttention(H, KD, {.name = "mha"});
  mha.call_symbolic({layers::Input({3, 4}), layers::Input({5, 5})});
  const int64_t dq = 4, dv = 5, dk = 5, dout = 4;
  EXPECT_EQ(mha->count_params(),
            dq * H * KD + H * KD + dk * H * KD + H * KD + dv * H * KD + H * KD + H * KD * dout + dout);  // 130
  ASSERT_EQ(mha->tracked_layers().size(), 4u);
  EXPECT_EQ(mha->tracked_layers()[0]->name(), "query");
  EXPECT_EQ(mha->tracked_layers()[1]->name(), "key");
  EXPECT_EQ(mha->tracked_layers()[2]->name(), "value");
  EXPECT_EQ(mha->tracked_layers()[3]->name(), "attention_output");
  EXPECT_EQ(mha->weights()[0].path(), "mha/query/kernel");
  EXPECT_EQ(mha->weights()[7].path(), "mha/attention_output/bias");
  EXPECT_EQ(mha->query_dense()->get_config().at("equation"), "abc,cde->abde");
  EXPECT_EQ(mha->output_dense()->get_config().at("equation"), "abcd,cde->abe");

  // Glorot fans are those of the (d_q, H·key_dim) matrix: limit sqrt(6 / (4 + 6)).
  const double limit = std::sqrt(6.0 / (dq + H * KD));
  double max_abs = 0;
  for (float w : mha->query_dense()->kernel().value().to_vector<float>())
    max_abs = std::max(max_abs, double(std::abs(w)));
  EXPECT_LE(max_abs, limit);
  EXPECT_GT(max_abs, 0.5 * limit);

  std::vector<SymbolicTensor> out =
      mha.call_symbolic({layers::Input({kUnknownDim, 4}), layers::Input({kUnknownDim, 5})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape, (Shape{kUnknownDim, kUnknownDim, 4}));
}

TEST(MultiHeadAttention, ConfigUsesKerasKeys) {
  auto mha = layers::MultiHeadAttention(4, 8, {.dropout = 0.1, .output_shape = Shape{16}});
  nlohmann::json c = mha->get_config();
  EXPECT_EQ(c.at("num_heads"), 4);
  EXPECT_EQ(c.at("key_dim"), 8);
  EXPECT_EQ(c.at("value_dim"), 8);
  EXPECT_EQ(c.at("output_shape"), nlohmann::json::array({16}));
  EXPECT_TRUE(c.at("attention_axes").is_null());
  LayerHandle copy = layers::deserialize(layers::serialize(mha));
  EXPECT_EQ(copy->get_config().dump(), c.dump());
}

TEST(MultiHeadAttention, Errors) {
  EXPECT_THROW(layers::MultiHeadAttention(0, 4), ValueError);
  EXPECT_THROW(layers::MultiHeadAttention(2, 0), ValueError);
  EXPECT_THROW(layers::MultiHeadAttention(2, 4, {.dropout = 1.5}), ValueError);
  const Tensor q = pattern({2, 3, 4}, 0.0), v = pattern({2, 5, 4}, 0.0);
  auto one = layers::MultiHeadAttention(2, 4);
  EXPECT_THROW(one(std::vector<Tensor>{q}), ValueError);
  auto mismatched = layers::MultiHeadAttention(2, 4);
  EXPECT_THROW(mismatched(std::vector<Tensor>{q, v, pattern({2, 4, 4}, 0.0)}), ValueError);
  auto axes = layers::MultiHeadAttention(2, 4, {.attention_axes = std::vector<int64_t>{2}});
  EXPECT_THROW(axes(std::vector<Tensor>{pattern({2, 3, 3, 4}, 0.0), pattern({2, 3, 3, 4}, 0.0)}), UnimplementedError);
  auto default_axes = layers::MultiHeadAttention(2, 4, {.attention_axes = std::vector<int64_t>{1}});
  EXPECT_EQ(default_axes(std::vector<Tensor>{q, v})[0].shape(), (Shape{2, 3, 4}));
  auto built = layers::MultiHeadAttention(2, 4, {.name = "att"});
  built(std::vector<Tensor>{q, v});
  try {
    built(std::vector<Tensor>{pattern({2, 3, 5}, 0.0), v});
    FAIL() << "a wrong query size was accepted";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("att"), std::string::npos) << e.what();
  }
  EXPECT_THROW(built->attend(q, v, {.attention_mask = ones({2, 3, 4})}), ShapeError);
}

TEST(MultiHeadAttention, ScoreDropoutOnlyWhileTraining) {
  auto mha = layers::MultiHeadAttention(H, KD, {.dropout = 0.5});
  const Tensor q = pattern({2, 3, 4}, 0.5), v = pattern({2, 5, 5}, 1.5);
  std::vector<float> a = mha(std::vector<Tensor>{q, v}, false)[0].to_vector<float>();
  std::vector<float> b = mha(std::vector<Tensor>{q, v}, false)[0].to_vector<float>();
  std::vector<float> t = mha(std::vector<Tensor>{q, v}, true)[0].to_vector<float>();
  double same = 0, diff = 0;
  for (size_t i = 0; i < a.size(); ++i) same += std::abs(a[i] - b[i]), diff += std::abs(a[i] - t[i]);
  EXPECT_EQ(same, 0.0);
  EXPECT_GT(diff, 1e-4);
}

}  // namespace
}  // namespace keel
