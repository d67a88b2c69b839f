// Attention and AdditiveAttention (keras.layers): the layer contract, outputs and scores against PyTorch
// (tests/layers_rnn/score_attention_reference.py: the Keras formulas in float64) with the value, query and
// causal masks, masks through call_with_masks and a functional model, configs as Keras writes them, errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "keel/keel.h"
#include "keel/layers/attention.h"
#include "layers/layer_test_util.h"
#include "layers_rnn/rnn_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using testing::expect_values;
using testing::pattern;
using testing::run_layer_test;

struct Inputs {
  Tensor q = pattern({2, 3, 4}, 0.5), v = pattern({2, 5, 3}, 1.5), k = pattern({2, 5, 4}, 2.5);
  Tensor q_mask = from_vector<bool>({true, true, false, true, false, true}, {2, 3});
  Tensor v_mask = from_vector<bool>({true, true, true, false, false, true, false, true, true, true}, {2, 5});
};

TEST(Attention, LayerContract) {
  run_layer_test({.layer = layers::Attention(), .input_shapes = {{2, 3, 4}, {2, 5, 4}}});
  run_layer_test({.layer = layers::Attention({.use_scale = true}),
                  .input_shapes = {{2, 3, 4}, {2, 5, 3}, {2, 5, 4}},
                  .weight_names = {"scale"},
                  .weight_shapes = {{}}});
  run_layer_test({.layer = layers::Attention({.use_scale = true, .score_mode = "concat"}),
                  .input_shapes = {{2, 3, 4}, {2, 5, 4}},
                  .weight_names = {"scale", "concat_score_weight"},
                  .weight_shapes = {{}, {}}});
  run_layer_test({.layer = layers::AdditiveAttention(),
                  .input_shapes = {{2, 3, 4}, {2, 5, 3}, {2, 5, 4}},
                  .weight_names = {"scale"},
                  .weight_shapes = {{4}}});
  run_layer_test({.layer = layers::AdditiveAttention({.use_scale = false}), .input_shapes = {{2, 3, 4}, {2, 5, 4}}});
}

TEST(Attention, SelfAttentionMatchesPyTorch) {
  const Inputs in;
  auto att = layers::Attention();
  expect_values(att(std::vector<Tensor>{in.q, in.q})[0], {2, 3, 4},
                {0.060205f,  0.251575f,  0.324626f, 0.245000f, -0.017351f, -0.079214f, -0.103822f, -0.079600f,
                 0.044890f,  0.236679f,  0.317155f, 0.248468f, 0.219374f,  0.039532f,  -0.158903f, -0.282603f,
                 -0.040172f, -0.008221f, 0.027596f, 0.050435f, 0.227064f,  0.055754f,  -0.141779f, -0.272630f},
                "output");
  expect_values(att->attend(in.q, in.q).scores, {2, 3, 3},
                {0.451772f, 0.150933f, 0.397295f, 0.201040f, 0.592032f, 0.206929f, 0.405197f, 0.158444f, 0.436359f,
                 0.438645f, 0.180231f, 0.381124f, 0.228231f, 0.539942f, 0.231827f, 0.384934f, 0.184901f, 0.430166f},
                "scores");
}

TEST(Attention, CausalMaskWithScaleAndKeyMatchesPyTorch) {
  const Inputs in;
  auto att = layers::Attention({.use_scale = true});
  att(std::vector<Tensor>{in.q, in.v, in.k});
  att->set_weights({from_vector<float>({0.7f}, {})});
  const layers::AttentionResult r = att->attend(in.q, in.v, {.key = in.k, .use_causal_mask = true});
  expect_values(r.output, {2, 3, 3},
                {0.498747f, 0.404248f, 0.119625f, 0.206044f, 0.053687f, -0.123921f, -0.053034f, -0.075470f, -0.062411f,
                 -0.268286f, 0.066616f, 0.370188f, 0.131504f, 0.237118f, 0.231211f, 0.012008f, -0.008901f, -0.025625f},
                "output");
  expect_values(r.scores, {2, 3, 5},
                {1.000000f, 0, 0, 0, 0, 0.593472f, 0.406528f, 0, 0, 0, 0.257057f, 0.431251f, 0.311692f, 0, 0,
                 1.000000f, 0, 0, 0, 0, 0.479399f, 0.520601f, 0, 0, 0, 0.291962f, 0.350042f, 0.357996f, 0, 0},
                "scores");
}

TEST(Attention, QueryAndValueMasksMatchPyTorch) {
  const Inputs in;
  auto att = layers::Attention();
  const std::vector<float> expected{-0.051668f, -0.030817f, 0.004528f, 0.076476f,  0.078020f, 0.042870f,
                                    0,          0,          0,         -0.008869f, 0.009102f, 0.022791f,
                                    0,          0,          0,         0.004227f,  0.037069f, 0.052477f};
  const layers::AttentionResult r =
      att->attend(in.q, in.v, {.key = in.k, .query_mask = in.q_mask, .value_mask = in.v_mask});
  expect_values(r.output, {2, 3, 3}, expected, "attend output");
  expect_values(
      r.scores, {2, 3, 5},
      {0.264514f, 0.349770f, 0.385716f, 0,         0,         0.436721f, 0.254375f, 0.308904f, 0,         0,
       0.226703f, 0.474742f, 0.298554f, 0,         0,         0.241684f, 0,         0.306685f, 0.127921f, 0.323710f,
       0.261762f, 0,         0.197643f, 0.372455f, 0.168139f, 0.198828f, 0,         0.266061f, 0.193263f, 0.341847f},
      "scores");
  // The same masks as the inputs' Keras masks (mask=[query_mask, value_mask]); the output keeps the query's.
  const MaskedOutputs m = att->call_with_masks({in.q, in.v, in.k}, {in.q_mask, in.v_mask, Tensor()});
  expect_values(m.outputs[0], {2, 3, 3}, expected, "masked call");
  ASSERT_TRUE(m.masks[0].defined());
  EXPECT_EQ(m.masks[0].to_vector<bool>(), in.q_mask.to_vector<bool>());
}

TEST(Attention, ConcatScoresMatchPyTorch) {
  const Inputs in;
  auto att = layers::Attention({.use_scale = true, .score_mode = "concat"});
  att(std::vector<Tensor>{in.q, in.v, in.k});
  att->set_weights({from_vector<float>({0.7f}, {}), from_vector<float>({1.3f}, {})});
  expect_values(
      att(std::vector<Tensor>{in.q, in.v, in.k})[0], {2, 3, 3},
      {-0.104230f, -0.186079f, -0.180413f, -0.105554f, -0.187950f, -0.181950f, -0.109393f, -0.188656f, -0.179190f,
       0.169375f, 0.228135f, 0.179600f, 0.174527f, 0.231607f, 0.179759f, 0.161654f, 0.226095f, 0.184201f},
      "output");
}

TEST(AdditiveAttention, MatchesPyTorch) {
  const Inputs in;
  auto att = layers::AdditiveAttention();
  att(std::vector<Tensor>{in.q, in.v, in.k});
  att->set_weights({pattern({4}, 3.0)});
  const layers::AttentionResult r =
      att->attend(in.q, in.v, {.key = in.k, .query_mask = in.q_mask, .value_mask = in.v_mask});
  expect_values(r.output, {2, 3, 3},
                {0.072287f, 0.089125f, 0.064047f, 0.062059f, 0.080955f, 0.061777f, 0, 0, 0, -0.038063f, -0.002291f,
                 0.034558f, 0, 0, 0, -0.038370f, -0.005474f, 0.029997f},
                "output");
  expect_values(
      r.scores, {2, 3, 5},
      {0.432986f, 0.230366f, 0.336648f, 0,         0,         0.419309f, 0.237024f, 0.343667f, 0,         0,
       0.430226f, 0.239258f, 0.330516f, 0,         0,         0.278272f, 0,         0.305144f, 0.130841f, 0.285743f,
       0.267185f, 0,         0.311073f, 0.130649f, 0.291093f, 0.279901f, 0,         0.310686f, 0.124239f, 0.285173f},
      "scores");
  auto plain = layers::AdditiveAttention({.use_scale = false});
  expect_values(
      plain(std::vector<Tensor>{in.q, in.v, in.k})[0], {2, 3, 3},
      {-0.103452f, -0.184479f, -0.178742f, -0.105959f, -0.187575f, -0.180972f, -0.113212f, -0.188846f, -0.175662f,
       0.173150f, 0.230335f, 0.179190f, 0.182523f, 0.236634f, 0.179453f, 0.157668f, 0.225940f, 0.187949f},
      "unscaled output");
}

// A functional model: padded token ids, Embedding(mask_zero) masks, Attention over them; the masked value
// steps get no weight and the output carries the query mask to the pooling.
TEST(Attention, MasksFlowThroughAFunctionalModel) {
  random::set_seed(4);
  auto q_in = layers::Input({4}, {.dtype = DType::i32});
  auto v_in = layers::Input({6}, {.dtype = DType::i32});
  auto embed = layers::Embedding(10, 3, {.mask_zero = true});
  auto attended = layers::Attention()(std::vector<SymbolicTensor>{embed(q_in), embed(v_in)});
  auto pooled = layers::GlobalAveragePooling1D()(attended);
  Model model({q_in, v_in}, {pooled});
  const Tensor q = from_vector<int32_t>({1, 2, 3, 0, 4, 0, 0, 0}, {2, 4});
  const Tensor v = from_vector<int32_t>({5, 6, 0, 0, 0, 0, 7, 8, 9, 1, 2, 0}, {2, 6});
  const Tensor out = model->predict_outputs({q, v}, {.verbose = 0})[0];
  // The same computed by hand: embeddings, value mask, query mask, masked average.
  const Tensor eq = embed(q), ev = embed(v);
  auto att = layers::Attention();
  const Tensor a = att->attend(eq, ev,
                               {.query_mask = ops::not_equal(q, zeros({}, DType::i32)),
                                .value_mask = ops::not_equal(v, zeros({}, DType::i32))})
                       .output;
  const Tensor qm = ops::cast(ops::not_equal(q, zeros({}, DType::i32)), DType::f32);
  const Tensor expected = ops::sum(a * ops::expand_dims(qm, -1), {1}) / ops::sum(qm, {1}, true);
  testing::expect_close(out, expected, 1e-6);
}

TEST(Attention, ConfigsAsKerasWritesThem) {
  auto att = layers::Attention({.use_scale = true, .score_mode = "concat", .dropout = 0.25, .name = "att"});
  const nlohmann::json c = att->get_config();
  EXPECT_EQ(c.at("use_scale"), true);
  EXPECT_EQ(c.at("score_mode"), "concat");
  EXPECT_EQ(c.at("dropout"), 0.25);
  EXPECT_EQ(c.at("name"), "att");
  const nlohmann::json a = layers::AdditiveAttention({.use_scale = false})->get_config();
  EXPECT_EQ(a.at("use_scale"), false);
  EXPECT_FALSE(a.contains("score_mode"));
  EXPECT_EQ(a.at("dropout"), 0.0);
}

TEST(Attention, DropoutOnTheDistributionWhileTraining) {
  const Inputs in;
  auto att = layers::Attention({.dropout = 0.5, .seed = 3});
  const layers::AttentionResult inference = att->attend(in.q, in.v, {.key = in.k});
  const layers::AttentionResult training = att->attend(in.q, in.v, {.key = in.k, .training = true});
  const std::vector<float> p = inference.scores.to_vector<float>(), d = training.scores.to_vector<float>();
  int dropped = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    if (d[i] == 0.0f)
      ++dropped;
    else
      EXPECT_NEAR(d[i], 2.0f * p[i], 1e-6) << i;  // kept weights scaled by 1 / (1 - rate)
  }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, static_cast<int>(p.size()));
  testing::expect_close(training.output, ops::matmul(training.scores, in.v), 1e-6);
}

TEST(Attention, ErrorsNameTheProblem) {
  using testing::expect_error;
  const Inputs in;
  expect_error<ValueError>([] { layers::Attention({.score_mode = "general"}); }, "score_mode", "general");
  expect_error<ValueError>([&] { layers::Attention()(std::vector<Tensor>{in.q}); }, "inputs list of length 2 or 3",
                           "1");
  expect_error<ShapeError>(
      [&] {
        layers::Attention()(std::vector<Tensor>{in.q, in.v});
      },
      "query and key", "3, 4)", "5, 3)");
  expect_error<ShapeError>(
      [&] {
        layers::Attention()(std::vector<Tensor>{in.q, pattern({2, 4, 3}, 0), in.k});
      },
      "steps", "4, 3)", "5, 4)");
  expect_error<ValueError>([&] { layers::Attention()->attend(in.q, in.k, {.key_mask = in.v_mask}); }, "key_mask",
                           "MultiHeadAttention");
  expect_error<ShapeError>([&] { layers::Attention()->attend(in.q, in.k, {.value_mask = in.q_mask}); }, "value_mask",
                           "(2, 5)", "(2, 3)");
}

}  // namespace
}  // namespace keel
