// Keras's initial_state for SimpleRNN, LSTM and GRU: the states passed after the sequence. Checked by state
// continuity (a sequence run whole equals its first half, then its second half started from the first half's
// final states), in an encoder-decoder model that trains, saves as `.keras` with Keras's `initial_state`
// keyword argument and loads back, and with shape errors that name the layer.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "data/temp_dir.h"
#include "keel/keel.h"
#include "layers_rnn/rnn_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using testing::expect_close;

template <class L>
void expect_state_continuity(L layer) {
  const Tensor seq = random::normal({3, 6, 4}, 0.0, 1.0, DType::f32, 21);
  const std::vector<Tensor> whole = layer(std::vector<Tensor>{seq});
  const std::vector<Tensor> first = layer(std::vector<Tensor>{ops::slice_axis(seq, 1, 0, 3)});
  std::vector<Tensor> second_inputs{ops::slice_axis(seq, 1, 3, 6)};
  second_inputs.insert(second_inputs.end(), first.begin() + 1, first.end());  // the final states
  const std::vector<Tensor> second = layer(second_inputs);
  ASSERT_EQ(whole.size(), second.size());
  for (size_t i = 0; i < whole.size(); ++i) expect_close(second[i], whole[i]);
}

TEST(InitialState, ContinuesASequenceWhereItsFirstHalfEnded) {
  expect_state_continuity(layers::SimpleRNN(5, {.return_state = true}));
  expect_state_continuity(layers::LSTM(5, {.return_state = true}));
  expect_state_continuity(layers::GRU(5, {.return_state = true}));
  expect_state_continuity(layers::GRU(5, {.return_state = true, .reset_after = false}));
}

TEST(InitialState, WrongStatesNameTheLayer) {
  layers::LSTM lstm(4, {.name = "enc"});
  const Tensor seq = zeros({2, 3, 5});
  testing::expect_error<ValueError>(
      [&] {
        lstm(std::vector<Tensor>{seq, zeros({2, 4})});
      },
      "\"enc\"", "2 initial states", "received 2 inputs");
  testing::expect_error<ShapeError>(
      [&] {
        lstm(std::vector<Tensor>{seq, zeros({2, 3}), zeros({2, 4})});
      },
      "\"enc\"", "value 4", "(2, 3)");
}

Model seq2seq() {
  random::set_seed(3);
  SymbolicTensor source = layers::Input({5, 3}), target = layers::Input({4, 2});
  std::vector<SymbolicTensor> enc = layers::LSTM(6, {.return_state = true, .name = "encoder"})->call_symbolic({source});
  SymbolicTensor dec = layers::LSTM(6, {.return_sequences = true, .name = "decoder"})({target, enc[1], enc[2]});
  return Model({source, target}, {layers::Dense(1, {.name = "out"})(dec)});
}

TEST(InitialState, EncoderDecoderTrainsSavesAndLoads) {
  Model m = seq2seq();
  m.compile({.optimizer = "adam", .loss = "mse"});
  const Tensor src = random::normal({16, 5, 3}, 0.0, 1.0, DType::f32, 1),
               tgt = random::normal({16, 4, 2}, 0.0, 1.0, DType::f32, 2);
  const Tensor y = ops::sum(tgt, {2}, true) * 0.5;
  const History h = m.fit({src, tgt}, {y}, {.batch_size = 8, .epochs = 3, .verbose = 0});
  EXPECT_LT(h.history.at("loss").back(), h.history.at("loss").front());

  keel::testing::TempDir dir;
  m.save(dir.file("s2s.keras"));
  Model back = saving::load_model(dir.file("s2s.keras"));
  expect_close(back.predict_outputs({src, tgt}, {.verbose = 0})[0], m.predict_outputs({src, tgt}, {.verbose = 0})[0],
               0);

  // The decoder's node holds the sequence as its argument and the states as Keras's initial_state keyword.
  const nlohmann::json config = m->get_config();
  for (const auto& layer : config.at("layers")) {
    if (layer.at("name") != "decoder") continue;
    const nlohmann::json& node = layer.at("inbound_nodes").at(0);
    EXPECT_EQ(node.at("args").size(), 1u);
    ASSERT_TRUE(node.at("kwargs").contains("initial_state"));
    EXPECT_EQ(node.at("kwargs").at("initial_state").size(), 2u);
    EXPECT_EQ(node.at("kwargs").at("initial_state")[0].at("config").at("keras_history"),
              nlohmann::json::parse(R"(["encoder", 0, 1])"));
  }
}

}  // namespace
}  // namespace keel
