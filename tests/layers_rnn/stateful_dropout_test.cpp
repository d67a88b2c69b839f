// Recurrent layers' stateful=true (states carried from call to call until reset_states, as Keras's
// state variables) and recurrent_dropout (Keras 3: SimpleRNN drops the previous output with one mask per
// sequence; its LSTM and GRU cells' default implementation ignores the rate).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "keel/keel.h"
#include "keel/layers/recurrent.h"
#include "layers/layer_test_util.h"
#include "layers_rnn/rnn_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using testing::expect_close;

template <class L>
void expect_carries_states(L stateful, L plain) {
  const Tensor seq = random::normal({3, 6, 4}, 0.0, 1.0, DType::f32, 31);
  plain(seq);
  stateful(seq);
  stateful->reset_states();
  plain->set_weights(stateful->get_weights());
  const Tensor whole = plain(seq);
  stateful(ops::slice_axis(seq, 1, 0, 2));
  stateful(ops::slice_axis(seq, 1, 2, 4));
  expect_close(stateful(ops::slice_axis(seq, 1, 4, 6)), whole);  // three calls continue one sequence
  stateful->reset_states();
  EXPECT_TRUE(stateful->states().empty());
  expect_close(stateful(ops::slice_axis(seq, 1, 0, 2)), plain(ops::slice_axis(seq, 1, 0, 2)));  // afresh
}

TEST(Stateful, CarriesStatesBetweenCallsUntilReset) {
  expect_carries_states(layers::SimpleRNN(5, {.stateful = true}), layers::SimpleRNN(5));
  expect_carries_states(layers::LSTM(5, {.stateful = true}), layers::LSTM(5));
  expect_carries_states(layers::GRU(5, {.stateful = true}), layers::GRU(5));
}

TEST(Stateful, ErrorsNameTheLayer) {
  auto lstm = layers::LSTM(3, {.stateful = true, .name = "carry"});
  lstm(ones({2, 4, 3}));
  testing::expect_error<ValueError>([&] { lstm(ones({3, 4, 3})); }, "\"carry\"", "stateful", "2 samples", "batch of 3");
  auto plain = layers::GRU(3, {.name = "plain"});
  testing::expect_error<ValueError>([&] { plain->reset_states(); }, "\"plain\"", "not stateful");
  EXPECT_TRUE(layers::deserialize(layers::serialize(lstm))->get_config().at("stateful").get<bool>());
}

TEST(Stateful, FitRunsOpByOpAndCarriesStatesAcrossBatches) {
  random::set_seed(4);
  Sequential model({layers::Input({5, 2}, {.batch_size = 4}), layers::LSTM(3, {.stateful = true}), layers::Dense(1)});
  model.compile({.optimizer = "sgd", .loss = "mse"});
  const Tensor x = random::normal({12, 5, 2}, 0.0, 1.0, DType::f32, 5);
  const Tensor y = random::normal({12, 1}, 0.0, 1.0, DType::f32, 6);
  model.fit(x, y, {.batch_size = 4, .epochs = 2, .verbose = 0, .shuffle = false});
  const auto stats = model->train_step_stats();
  EXPECT_EQ(stats.replayed, 0);
  EXPECT_NE(stats.not_compiled_because.find("stateful"), std::string::npos) << stats.not_compiled_because;
  auto lstm = std::static_pointer_cast<layers::RNNImpl>(model->layers()[0].ptr());
  ASSERT_EQ(lstm->states().size(), 2u);
  EXPECT_EQ(lstm->states()[0].shape(), (Shape{4, 3}));
}

// SimpleRNN with recurrent_dropout in training: h_t = tanh(x_t·W + b + (h_{t−1}·m)·U) with one mask m per
// sequence (redrawn here from the same generator state), written out step by step.
TEST(RecurrentDropout, SimpleRNNDropsThePreviousOutputWithOneMaskPerSequence) {
  auto rnn = layers::SimpleRNN(4, {.recurrent_dropout = 0.5, .return_sequences = true});
  const Tensor x = random::normal({3, 5, 2}, 0.0, 1.0, DType::f32, 7);
  rnn(x);
  random::set_seed(11);
  const Tensor trained = rnn(x, true);
  random::set_seed(11);
  const Tensor m = ops::dropout(ones({3, 4}), 0.5);
  const std::vector<Tensor> w = rnn->get_weights();  // kernel, recurrent_kernel, bias
  Tensor h = zeros({3, 4});
  std::vector<Tensor> expected;
  for (int64_t t = 0; t < 5; ++t) {
    const Tensor xt = ops::squeeze(ops::slice_axis(x, 1, t, t + 1), {1});
    h = ops::tanh(ops::matmul(xt, w[0]) + w[2] + ops::matmul(h * m, w[1]));
    expected.push_back(h);
  }
  expect_close(trained, ops::stack(expected, 1), 1e-5);
  // Inference ignores it; so do LSTM and GRU even in training (Keras 3's default implementation).
  auto plain = layers::SimpleRNN(4, {.return_sequences = true});
  plain(x);
  plain->set_weights(w);
  expect_close(rnn(x), plain(x));
  for (auto pair : {std::pair<LayerHandle, LayerHandle>{layers::LSTM(4, {.recurrent_dropout = 0.5}), layers::LSTM(4)},
                    std::pair<LayerHandle, LayerHandle>{layers::GRU(4, {.recurrent_dropout = 0.5}), layers::GRU(4)}}) {
    pair.first(x);
    pair.second(x);
    pair.second->set_weights(pair.first->get_weights());
    expect_close(pair.first(x, true), pair.second(x, true));
    EXPECT_EQ(pair.first->get_config().at("recurrent_dropout").get<double>(), 0.5);
  }
}

// --- TimeDistributed ---

TEST(TimeDistributed, LayerContract) {
  testing::run_layer_test({.layer = layers::TimeDistributed(layers::Dense(3)),
                           .input_shapes = {{2, 4, 5}},
                           .weight_names = {"kernel", "bias"},
                           .weight_shapes = {{5, 3}, {3}}});
}

TEST(TimeDistributed, AppliesTheLayerToEveryStep) {
  auto dense = layers::Dense(3);
  auto td = layers::TimeDistributed(dense);
  const Tensor x = random::normal({2, 4, 5}, 0.0, 1.0, DType::f32, 8);
  const Tensor y = td(x);
  ASSERT_EQ(y.shape(), (Shape{2, 4, 3}));
  expect_close(y, ops::reshape(dense(ops::reshape(x, {8, 5})), {2, 4, 3}));
  // BatchNormalization in training takes each step's own statistics (Keras 3 calls the layer per step).
  auto bn = layers::TimeDistributed(layers::BatchNormalization({.momentum = 0.0}));
  const Tensor z = bn(x, true);
  for (int64_t t = 0; t < 4; ++t) {
    const Tensor xt = ops::squeeze(ops::slice_axis(x, 1, t, t + 1), {1});
    const Tensor mean = ops::mean(xt, {0}, true);
    const Tensor var = ops::mean(ops::square(xt - mean), {0}, true);
    expect_close(ops::squeeze(ops::slice_axis(z, 1, t, t + 1), {1}), (xt - mean) / ops::sqrt(var + 1e-3), 1e-4);
  }
  // The functional form and the summary shape; configs round-trip.
  auto in = layers::Input({4, 5});
  Model model(in, layers::TimeDistributed(layers::Dense(2))(in));
  EXPECT_EQ(model.outputs()[0].shape, (Shape{kUnknownDim, 4, 2}));
  LayerHandle back = layers::deserialize(layers::serialize(td));
  EXPECT_EQ(back->get_config().at("layer").at("class_name"), "Dense");
  testing::expect_error<ShapeError>([] { layers::TimeDistributed(layers::Dense(2))(ones({2, 5})); }, "at least 3");
}

TEST(TimeDistributed, PassesTheMaskThrough) {
  auto in = layers::Input({4, 2});
  auto td = layers::TimeDistributed(layers::Dense(3));
  auto masking = layers::Masking();
  Model model(in, td(masking(in)));
  const Tensor x = from_vector(std::vector<float>{1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8, 1, 1}, {2, 4, 2});
  MaskedOutputs r = model->call_with_masks({x}, {});
  ASSERT_TRUE(r.masks.at(0).defined());
  EXPECT_EQ(ops::cast(r.masks[0], DType::f32).to_vector<float>(), (std::vector<float>{1, 0, 1, 0, 0, 1, 1, 1}));
}

}  // namespace
}  // namespace keel
