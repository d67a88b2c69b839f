// SimpleRNN / LSTM / GRU / Bidirectional: the layer contract, outputs against PyTorch with copied
// weights, return_state / return_sequences / go_backwards, parameter counts (keras-reference §2.10) and
// Keras's argument errors.
//
// Reference numbers: /usr/bin/python3 (torch 1.13), float64, with pat() from rnn_test_util.h:
//   B,T,F,u = 2,3,4,3;  x = pat((B,T,F), 0.0);  t = torch.tensor
//   # SimpleRNN: W,U,b = pat((F,u),1), pat((u,u),2), pat((u,),3)
//   rnn = torch.nn.RNN(F,u,batch_first=True); weight_ih=W.T, weight_hh=U.T, bias_ih=b, bias_hh=0
//   rnn(t(x))[0]; rnn(t(x[:, ::-1].copy()))[0]        # go_backwards: processing order
//   # LSTM (torch gates i,f,g,o = Keras i,f,c,o): W,U,b = pat((F,4u),1), pat((u,4u),2), pat((4u,),3)
//   y,(h,c) = lstm(t(x)); lstm(t(x[:, ::-1].copy()))
//   # GRU reset_after: W,U,b = pat((F,3u),1), pat((u,3u),2), pat((2,3u),3); torch blocks r,z,n = Keras r,z,h
//   reorder = lambda M: np.concatenate([np.split(M,3,-1)[i] for i in (1,0,2)], -1)
//   weight_ih=reorder(W).T, weight_hh=reorder(U).T, bias_ih=reorder(b[0]), bias_hh=reorder(b[1])
//   # GRU reset_after=False (NumPy; bias pat((3u,),3)):
//   for s in range(T): xp = x[:,s]@W + b; inner = h@U[:,:2u]; z = sig(xp[:,:u]+inner[:,:u])
//     r = sig(xp[:,u:2u]+inner[:,u:2u]); cand = tanh(xp[:,2u:] + (r*h)@U[:,2u:]); h = z*h + (1-z)*cand
//   # Bidirectional LSTM: torch.nn.LSTM(bidirectional=True), forward phases 1,2,3, reverse phases 4,5,6
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "keel/keel.h"
#include "keel/layers/core.h"
#include "keel/layers/recurrent.h"
#include "layers/layer_test_util.h"
#include "layers_rnn/rnn_test_util.h"

namespace keel {
namespace {

using testing::expect_values;
using testing::pattern;
using testing::run_layer_test;

constexpr int64_t B = 2, T = 3, F = 4, U = 3;

Tensor input() { return pattern({B, T, F}, 0.0); }
// The list form, for calls that return several outputs.
std::vector<Tensor> inputs() { return {input()}; }

// --- the layer contract ---

TEST(SimpleRNN, LayerContract) {
  run_layer_test({.layer = layers::SimpleRNN(U),
                  .input_shapes = {{B, T, F}},
                  .weight_names = {"kernel", "recurrent_kernel", "bias"},
                  .weight_shapes = {{F, U}, {U, U}, {U}}});
  run_layer_test({.layer = layers::SimpleRNN(U, {.return_sequences = true, .return_state = true}),
                  .input_shapes = {{B, T, F}},
                  .weight_names = {"kernel", "recurrent_kernel", "bias"},
                  .weight_shapes = {{F, U}, {U, U}, {U}}});
}

TEST(LSTM, LayerContract) {
  run_layer_test({.layer = layers::LSTM(U),
                  .input_shapes = {{B, T, F}},
                  .weight_names = {"kernel", "recurrent_kernel", "bias"},
                  .weight_shapes = {{F, 4 * U}, {U, 4 * U}, {4 * U}}});
  run_layer_test({.layer = layers::LSTM(
                      U, {.use_bias = false, .return_sequences = true, .return_state = true, .go_backwards = true}),
                  .input_shapes = {{B, T, F}},
                  .weight_names = {"kernel", "recurrent_kernel"},
                  .weight_shapes = {{F, 4 * U}, {U, 4 * U}}});
}

TEST(GRU, LayerContract) {
  run_layer_test({.layer = layers::GRU(U),
                  .input_shapes = {{B, T, F}},
                  .weight_names = {"kernel", "recurrent_kernel", "bias"},
                  .weight_shapes = {{F, 3 * U}, {U, 3 * U}, {2, 3 * U}}});
  run_layer_test({.layer = layers::GRU(U, {.return_sequences = true, .return_state = true, .reset_after = false}),
                  .input_shapes = {{B, T, F}},
                  .weight_names = {"kernel", "recurrent_kernel", "bias"},
                  .weight_shapes = {{F, 3 * U}, {U, 3 * U}, {3 * U}}});
}

TEST(Bidirectional, LayerContract) {
  run_layer_test({.layer = layers::Bidirectional(layers::LSTM(U, {.return_sequences = true})),
                  .input_shapes = {{B, T, F}},
                  .weight_names = {"kernel", "recurrent_kernel", "bias", "kernel", "recurrent_kernel", "bias"},
                  .weight_shapes = {{F, 4 * U}, {U, 4 * U}, {4 * U}, {F, 4 * U}, {U, 4 * U}, {4 * U}}});
  for (const char* mode : {"sum", "mul", "ave"})
    run_layer_test({.layer = layers::Bidirectional(layers::GRU(U), {.merge_mode = mode}),
                    .input_shapes = {{B, T, F}},
                    .weight_names = {"kernel", "recurrent_kernel", "bias", "kernel", "recurrent_kernel", "bias"}});
  run_layer_test(
      {.layer = layers::Bidirectional(layers::SimpleRNN(U, {.return_state = true}), {.merge_mode = std::nullopt}),
       .input_shapes = {{B, T, F}},
       .weight_names = {"kernel", "recurrent_kernel", "bias", "kernel", "recurrent_kernel", "bias"}});
}

// --- values against PyTorch ---

TEST(SimpleRNN, MatchesTorch) {
  auto rnn = layers::SimpleRNN(U, {.return_sequences = true, .return_state = true});
  auto back = layers::SimpleRNN(U, {.return_sequences = true, .go_backwards = true});
  const std::vector<Tensor> w{pattern({F, U}, 1.0), pattern({U, U}, 2.0), pattern({U}, 3.0)};
  std::vector<Tensor> out = rnn(inputs());
  rnn->set_weights(w);
  out = rnn(inputs());
  ASSERT_EQ(out.size(), 2u);
  const std::vector<float> seq{0.043106f, -0.237444f, -0.391368f, 0.248685f, -0.268697f, -0.588505f,
                               0.245270f, -0.220535f, -0.532306f, 0.146506f, -0.277701f, -0.525434f,
                               0.192694f, -0.228866f, -0.501672f, 0.328951f, -0.255657f, -0.630109f};
  expect_values(out[0], {B, T, U}, seq, "sequence");
  expect_values(out[1], {B, U}, {0.245270f, -0.220535f, -0.532306f, 0.328951f, -0.255657f, -0.630109f}, "state");

  back(input());
  back->set_weights(w);
  expect_values(
      back(input()), {B, T, U},
      {0.002926f, -0.236427f, -0.355354f, 0.229659f, -0.267469f, -0.573801f, 0.273662f, -0.221964f, -0.555361f,
       0.138665f, -0.265051f, -0.504202f, 0.183412f, -0.230604f, -0.496554f, 0.332764f, -0.268039f, -0.644722f},
      "go_backwards sequence (processing order)");
}

TEST(LSTM, MatchesTorch) {
  auto lstm = layers::LSTM(U, {.return_sequences = true, .return_state = true});
  lstm(inputs());
  lstm->set_weights({pattern({F, 4 * U}, 1.0), pattern({U, 4 * U}, 2.0), pattern({4 * U}, 3.0)});
  std::vector<Tensor> out = lstm(inputs());
  ASSERT_EQ(out.size(), 3u);
  expect_values(out[0], {B, T, U},
                {0.087080f, 0.077784f, 0.047221f, 0.150452f, 0.126983f, 0.078274f, 0.141727f, 0.132376f, 0.089346f,
                 0.121232f, 0.099661f, 0.058330f, 0.130169f, 0.118159f, 0.076273f, 0.166470f, 0.145317f, 0.093251f},
                "sequence");
  expect_values(out[1], {B, U}, {0.141727f, 0.132376f, 0.089346f, 0.166470f, 0.145317f, 0.093251f}, "h");
  expect_values(out[2], {B, U}, {0.288567f, 0.312261f, 0.226778f, 0.322984f, 0.353168f, 0.264820f}, "c");

  // go_backwards without return_sequences: the last processed step, i.e. the output at time 0.
  auto back = layers::LSTM(U, {.return_state = true, .go_backwards = true});
  back(inputs());
  back->set_weights(lstm->get_weights());
  out = back(inputs());
  ASSERT_EQ(out.size(), 3u);
  expect_values(out[0], {B, U}, {0.147602f, 0.136808f, 0.091701f, 0.170326f, 0.145459f, 0.092209f}, "backward h");
  expect_values(out[2], {B, U}, {0.295400f, 0.323694f, 0.238827f, 0.330449f, 0.357203f, 0.266833f}, "backward c");
}

TEST(GRU, ResetAfterMatchesTorch) {
  auto gru = layers::GRU(U, {.return_sequences = true});
  gru(input());
  gru->set_weights({pattern({F, 3 * U}, 1.0), pattern({U, 3 * U}, 2.0), pattern({2, 3 * U}, 3.0)});
  expect_values(gru(input()), {B, T, U},
                {-0.009645f, 0.197085f, 0.394239f, 0.353149f, 0.570209f, 0.507741f, 0.322027f, 0.557810f, 0.643992f,
                 0.226296f, 0.379680f, 0.362725f, 0.372754f, 0.571732f, 0.570177f, 0.302331f, 0.526947f, 0.659725f},
                "sequence");
}

TEST(GRU, ResetBeforeMatchesNumpy) {
  auto gru = layers::GRU(U, {.return_sequences = true, .reset_after = false});
  gru(input());
  gru->set_weights({pattern({F, 3 * U}, 1.0), pattern({U, 3 * U}, 2.0), pattern({3 * U}, 3.0)});
  expect_values(gru(input()), {B, T, U},
                {-0.050161f, 0.115464f, 0.271394f, 0.337803f, 0.444149f, 0.285659f, 0.283637f, 0.458277f, 0.450198f,
                 0.188081f, 0.260707f, 0.207371f, 0.343109f, 0.450996f, 0.343699f, 0.247309f, 0.433731f, 0.481958f},
                "sequence");
}

TEST(Bidirectional, ConcatMatchesTorchBidirectionalLSTM) {
  auto bi = layers::Bidirectional(layers::LSTM(U, {.return_sequences = true, .return_state = true}));
  bi(inputs());
  bi->set_weights({pattern({F, 4 * U}, 1.0), pattern({U, 4 * U}, 2.0), pattern({4 * U}, 3.0), pattern({F, 4 * U}, 4.0),
                   pattern({U, 4 * U}, 5.0), pattern({4 * U}, 6.0)});
  std::vector<Tensor> out = bi(inputs());
  ASSERT_EQ(out.size(), 5u);  // output, forward h, c, backward h, c
  expect_values(
      out[0], {B, T, 2 * U},
      {0.087080f,  0.077784f,  0.047221f,  -0.132600f, -0.238844f, -0.239297f, 0.150452f,  0.126983f,  0.078274f,
       -0.113023f, -0.217203f, -0.230885f, 0.141727f,  0.132376f,  0.089346f,  -0.067295f, -0.108742f, -0.097074f,
       0.121232f,  0.099661f,  0.058330f,  -0.135475f, -0.269593f, -0.293980f, 0.130169f,  0.118159f,  0.076273f,
       -0.112785f, -0.198720f, -0.193263f, 0.166470f,  0.145317f,  0.093251f,  -0.071846f, -0.154882f, -0.181145f},
      "concat sequence");
  expect_values(out[1], {B, U}, {0.141727f, 0.132376f, 0.089346f, 0.166470f, 0.145317f, 0.093251f}, "forward h");
  expect_values(out[3], {B, U}, {-0.132600f, -0.238844f, -0.239297f, -0.135475f, -0.269593f, -0.293980f}, "backward h");
}

TEST(Bidirectional, MergeModesCombineTheTwoDirections) {
  auto concat = layers::Bidirectional(layers::GRU(U, {.return_sequences = true}));
  Tensor both = concat(input());
  std::vector<Tensor> halves = ops::split(both, 2, -1);
  for (const char* mode : {"sum", "mul", "ave"}) {
    auto bi = layers::Bidirectional(layers::GRU(U, {.return_sequences = true}), {.merge_mode = mode});
    bi(input());
    bi->set_weights(concat->get_weights());
    const std::string m = mode;
    Tensor expected = m == "sum"   ? halves[0] + halves[1]
                      : m == "mul" ? halves[0] * halves[1]
                                   : (halves[0] + halves[1]) / 2.0;
    expect_values(bi(input()), {B, T, U}, expected.to_vector<float>(), m, 1e-6);
  }
  auto none = layers::Bidirectional(layers::GRU(U, {.return_sequences = true}), {.merge_mode = std::nullopt});
  none(inputs());
  none->set_weights(concat->get_weights());
  std::vector<Tensor> out = none(inputs());
  ASSERT_EQ(out.size(), 2u);
  expect_values(out[0], {B, T, U}, halves[0].to_vector<float>(), "forward", 1e-6);
  expect_values(out[1], {B, T, U}, halves[1].to_vector<float>(), "backward", 1e-6);
}

// --- shapes, names, counts ---

TEST(Recurrent, OutputShapesWithUnknownTimeSteps) {
  auto seq = layers::LSTM(U, {.return_sequences = true, .return_state = true});
  std::vector<SymbolicTensor> out = seq.call_symbolic({layers::Input({kUnknownDim, F})});
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].shape, (Shape{kUnknownDim, kUnknownDim, U}));
  EXPECT_EQ(out[1].shape, (Shape{kUnknownDim, U}));
  EXPECT_EQ(out[2].shape, (Shape{kUnknownDim, U}));
  // Built with an unknown T, the layer runs on any sequence length.
  EXPECT_EQ(seq(std::vector<Tensor>{pattern({B, 5, F}, 0.0)})[0].shape(), (Shape{B, 5, U}));

  auto last = layers::GRU(U, {.return_state = true});
  out = last.call_symbolic({layers::Input({kUnknownDim, F})});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape, (Shape{kUnknownDim, U}));
  EXPECT_EQ(out[1].shape, (Shape{kUnknownDim, U}));

  auto bi = layers::Bidirectional(layers::SimpleRNN(U, {.return_sequences = true}));
  EXPECT_EQ(bi(layers::Input({kUnknownDim, F})).shape, (Shape{kUnknownDim, kUnknownDim, 2 * U}));
}

TEST(Recurrent, ParamCounts) {
  auto count = [](LayerHandle layer) {
    layer.call_symbolic({layers::Input({T, F})});
    return layer->count_params();
  };
  EXPECT_EQ(count(layers::SimpleRNN(U)), F * U + U * U + U);                          // 24
  EXPECT_EQ(count(layers::LSTM(U)), 4 * (F * U + U * U + U));                         // 96
  EXPECT_EQ(count(layers::GRU(U)), 3 * (F * U + U * U + 2 * U));                      // 81
  EXPECT_EQ(count(layers::GRU(U, {.reset_after = false})), 3 * (F * U + U * U + U));  // 72
  EXPECT_EQ(count(layers::Bidirectional(layers::LSTM(U))), 2 * 4 * (F * U + U * U + U));
}

TEST(Recurrent, CellOwnsTheWeightsUnderKerasNames) {
  auto lstm = layers::LSTM(U, {.name = "encoder"});
  lstm(input());
  ASSERT_EQ(lstm->tracked_layers().size(), 1u);
  EXPECT_EQ(lstm->cell()->name(), "lstm_cell");
  EXPECT_EQ(lstm->cell()->class_name(), "LSTMCell");
  std::vector<Variable> w = lstm->weights();
  ASSERT_EQ(w.size(), 3u);
  EXPECT_EQ(w[0].path(), "encoder/lstm_cell/kernel");
  EXPECT_TRUE(w[1].is_same(lstm->lstm_cell().recurrent_kernel()));

  auto bi = layers::Bidirectional(layers::GRU(U, {.name = "enc"}), {.name = "bi"});
  bi(input());
  EXPECT_EQ(bi->forward_layer()->name(), "forward_enc");
  EXPECT_EQ(bi->backward_layer()->name(), "backward_enc");
  EXPECT_FALSE(bi->forward_layer()->go_backwards());
  EXPECT_TRUE(bi->backward_layer()->go_backwards());
  std::vector<Variable> bw = bi->weights();
  ASSERT_EQ(bw.size(), 6u);
  EXPECT_EQ(bw[0].path(), "bi/forward_enc/gru_cell/kernel");
  EXPECT_EQ(bw[3].path(), "bi/backward_enc/gru_cell/kernel");
}

TEST(LSTM, UnitForgetBiasInitialisesTheForgetGateToOne) {
  auto lstm = layers::LSTM(U, {.bias_initializer = "zeros"});
  lstm(input());
  std::vector<float> bias = lstm->lstm_cell().bias().value().to_vector<float>();
  ASSERT_EQ(bias.size(), static_cast<size_t>(4 * U));
  for (int64_t i = 0; i < 4 * U; ++i) EXPECT_EQ(bias[i], (i >= U && i < 2 * U) ? 1.0f : 0.0f) << i;

  auto plain = layers::LSTM(U, {.bias_initializer = "ones", .unit_forget_bias = false});
  plain(input());
  for (float b : plain->lstm_cell().bias().value().to_vector<float>()) EXPECT_EQ(b, 1.0f);
}

TEST(Recurrent, ConfigUsesKerasKeys) {
  auto gru = layers::GRU(U, {.go_backwards = true, .reset_after = false, .name = "g"});
  nlohmann::json c = gru->get_config();
  EXPECT_EQ(c.at("name"), "g");
  EXPECT_EQ(c.at("units"), U);
  EXPECT_EQ(c.at("activation"), "tanh");
  EXPECT_EQ(c.at("recurrent_activation"), "sigmoid");
  EXPECT_EQ(c.at("go_backwards"), true);
  EXPECT_EQ(c.at("reset_after"), false);
  EXPECT_EQ(c.at("return_sequences"), false);
  EXPECT_EQ(c.at("stateful"), false);
  EXPECT_EQ(c.at("recurrent_initializer").at("class_name"), "OrthogonalInitializer");  // Keras 3's class name

  auto bi = layers::Bidirectional(layers::LSTM(U), {.merge_mode = "sum"});
  nlohmann::json bc = layers::serialize(bi);
  EXPECT_EQ(bc.at("class_name"), "Bidirectional");
  EXPECT_EQ(bc.at("config").at("merge_mode"), "sum");
  EXPECT_EQ(bc.at("config").at("layer").at("class_name"), "LSTM");
  EXPECT_EQ(bc.at("config").at("backward_layer").at("config").at("go_backwards"), true);
}

TEST(Recurrent, CellsWorkAsStandaloneLayers) {
  auto cell = layers::LSTMCell(U);
  Tensor x = pattern({B, F}, 0.0);
  std::vector<Tensor> states = cell(std::vector<Tensor>{x, zeros({B, U}), zeros({B, U})});
  ASSERT_EQ(states.size(), 2u);
  // One step of the LSTM layer from zero state gives the same h and c.
  auto lstm = layers::LSTM(U, {.return_state = true});
  lstm(std::vector<Tensor>{ops::reshape(x, {B, 1, F})});
  lstm->set_weights(cell->get_weights());
  std::vector<Tensor> out = lstm(std::vector<Tensor>{ops::reshape(x, {B, 1, F})});
  expect_values(states[0], {B, U}, out[1].to_vector<float>(), "h", 1e-6);
  expect_values(states[1], {B, U}, out[2].to_vector<float>(), "c", 1e-6);
}

TEST(Recurrent, InputDropoutOnlyWhileTraining) {
  auto lstm = layers::LSTM(U, {.dropout = 0.5, .return_sequences = true});
  auto plain = layers::LSTM(U, {.return_sequences = true});
  Tensor inference = lstm(input(), false);
  plain(input());
  plain->set_weights(lstm->get_weights());
  expect_values(inference, {B, T, U}, plain(input()).to_vector<float>(), "inference", 1e-6);
  Tensor trained = lstm(input(), true);
  std::vector<float> a = trained.to_vector<float>(), b = inference.to_vector<float>();
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff += std::abs(a[i] - b[i]);
  EXPECT_GT(diff, 1e-3) << "dropout=0.5 left the training output unchanged";
}

// --- errors ---

TEST(Recurrent, ArgumentErrors) {
  EXPECT_THROW(layers::LSTM(0), ValueError);
  EXPECT_THROW(layers::GRU(-2), ValueError);
  EXPECT_THROW(layers::Bidirectional(layers::LSTM(U), {.merge_mode = "max"}), ValueError);
  EXPECT_THROW(layers::Bidirectional(layers::Dense(U)), ValueError);
  EXPECT_THROW(layers::Bidirectional(layers::LSTM(U), {.backward_layer = layers::LSTM(U)}), ValueError);
  EXPECT_THROW(layers::Bidirectional(layers::LSTM(U), {.backward_layer = layers::LSTM(
                                                           U, {.return_sequences = true, .go_backwards = true})}),
               ValueError);
  EXPECT_THROW(layers::Bidirectional(layers::LSTM(U), {.backward_layer = layers::LSTM(U, {.name = "unused"})}),
               ValueError);
}

TEST(Recurrent, WrongInputsNameTheLayer) {
  auto lstm = layers::LSTM(U, {.name = "enc"});
  try {
    lstm(pattern({B, F}, 0.0));
    FAIL() << "a rank-2 input was accepted";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("enc"), std::string::npos) << e.what();
  }
  lstm(input());
  try {
    lstm(pattern({B, T, F + 1}, 0.0));
    FAIL() << "a wrong feature size was accepted";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("(2, 3, 5)"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace keel
