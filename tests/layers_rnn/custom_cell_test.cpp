// keras.layers.RNN over a cell written by the user: the MinimalRNNCell of Keras's RNN guide
// (output = x·W + h·U), checked against the loop written out, with the built-in cells, in a model that saves
// to `.keras` and loads back through the registered cell, and with the errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "data/temp_dir.h"
#include "keel/keel.h"
#include "keel/layers/recurrent.h"
#include "layers_rnn/rnn_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using testing::expect_close;

class MinimalRNNCellImpl : public layers::RNNCellImpl {
 public:
  explicit MinimalRNNCellImpl(int64_t units, std::string name = "")
      : RNNCellImpl("MinimalRNNCell", units, /*state_count=*/1, 0.0, 0.0, {}, std::move(name)) {}
  Tensor project_inputs(const Tensor& x) const override { return ops::matmul(x, kernel_.value()); }
  std::vector<Tensor> step(const Tensor& projected, const std::vector<Tensor>& states) const override {
    return {projected + ops::matmul(states[0], recurrent_kernel_.value())};
  }
  nlohmann::json get_config() const override { return cell_config(); }

 protected:
  void build_cell(int64_t input_dim) override {
    kernel_ = add_cell_weight("kernel", {input_dim, units()}, "uniform");
    recurrent_kernel_ = add_cell_weight("recurrent_kernel", {units(), units()}, "uniform");
  }

 private:
  Variable kernel_, recurrent_kernel_;
};

KEEL_REGISTER_LAYER("MinimalRNNCell", [](const nlohmann::json& c) -> LayerHandle {
  return std::make_shared<MinimalRNNCellImpl>(c.at("units").get<int64_t>(), c.value("name", std::string()));
});

TEST(CustomCell, RunsTheCellOverTheSequence) {
  auto rnn = layers::RNN(std::make_shared<MinimalRNNCellImpl>(3), {.return_sequences = true, .return_state = true});
  const Tensor x = random::normal({2, 4, 5}, 0.0, 1.0, DType::f32, 12);
  const std::vector<Tensor> out = rnn(std::vector<Tensor>{x});
  ASSERT_EQ(out.size(), 2u);
  const std::vector<Tensor> w = rnn->get_weights();  // kernel (5, 3), recurrent_kernel (3, 3)
  ASSERT_EQ(w.size(), 2u);
  Tensor h = zeros({2, 3});
  std::vector<Tensor> seq;
  for (int64_t t = 0; t < 4; ++t) {
    h = ops::matmul(ops::squeeze(ops::slice_axis(x, 1, t, t + 1), {1}), w[0]) + ops::matmul(h, w[1]);
    seq.push_back(h);
  }
  expect_close(out[0], ops::stack(seq, 1), 1e-5);
  expect_close(out[1], h, 1e-5);
  EXPECT_EQ(rnn->weights()[0].path(), "rnn/minimal_rnn_cell/kernel");
  // The built-in cells under layers::RNN compute what their layers compute.
  auto lstm = layers::LSTM(3);
  auto generic = layers::RNN(layers::LSTMCell(3));
  lstm(x);
  generic(x);
  generic->set_weights(lstm->get_weights());
  expect_close(generic(x), lstm(x));
}

TEST(CustomCell, SavesAndLoadsThroughTheRegisteredCell) {
  random::set_seed(3);
  Sequential model({layers::Input({4, 5}), layers::RNN(std::make_shared<MinimalRNNCellImpl>(3)), layers::Dense(1)});
  const nlohmann::json config = layers::serialize(model->layers()[0]);
  EXPECT_EQ(config.at("class_name"), "RNN");
  EXPECT_EQ(config.at("config").at("cell").at("class_name"), "MinimalRNNCell");
  const Tensor x = random::normal({3, 4, 5}, 0.0, 1.0, DType::f32, 13);
  testing::TempDir dir;
  const std::string path = (dir.path() / "custom_cell.keras").string();
  model.save(path);
  Model loaded = saving::load_model(path);
  EXPECT_EQ(loaded.predict(x, {.verbose = 0}).to_vector<float>(), model.predict(x, {.verbose = 0}).to_vector<float>());
}

TEST(CustomCell, ACellIsRequired) {
  testing::expect_error<ValueError>([] { layers::RNN(layers::Dense(3)); }, "recurrent cell", "Dense");
}

}  // namespace
}  // namespace keel
