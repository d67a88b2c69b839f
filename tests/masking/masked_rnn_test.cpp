// Masked SimpleRNN / LSTM / GRU / Bidirectional (Keras's backend rnn with a mask): at a masked step the
// states keep their values and the output repeats the previous one (zeros before any, or always with
// zero_output_for_mask). Values against PyTorch: each sample's kept steps run alone through torch.nn.LSTM /
// GRU / RNN from zero states, then laid out on the full time axis as Keras does; plus the equivalent
// unpadded runs, the output masks, a finite-difference gradient check, and configs.
//
// Reference numbers: tests/masking/masked_rnn_reference.py under /usr/bin/python3 (Debian's torch 1.13),
// float64, with the weights of tests/layers_rnn/recurrent_test.cpp (pat() of rnn_test_util.h):
//   B,T,F,u = 2,4,3,2; x = pat((B,T,F), 0.0)
//   masks right [[1,1,1,1],[1,1,0,0]], left [[1,1,1,1],[0,1,1,1]], middle [[1,0,1,1],[0,1,0,1]]
//   for each sample i: y = torch_rnn(x[i:i+1, kept])[0][0]; step s: kept -> y[k] (k-th kept step),
//   masked -> previous value (0 before any; 0 always with zero_output_for_mask); last = step T-1
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "keel/keel.h"
#include "keel/layers/recurrent.h"
#include "layers_rnn/rnn_test_util.h"
#include "test_util.h"

namespace keel {
namespace {

using testing::expect_values;
using testing::pattern;

constexpr int64_t B = 2, T = 4, F = 3, U = 2;

Tensor mask_of(const std::vector<float>& m) { return ops::cast(from_vector(m, {B, T}), DType::b8); }
const std::vector<float> kRight{1, 1, 1, 1, 1, 1, 0, 0}, kLeft{1, 1, 1, 1, 0, 1, 1, 1}, kMiddle{1, 0, 1, 1, 0, 1, 0, 1};

// The masked call through call_with_masks: {sequence, last output} from a return_sequences layer and a
// plain one sharing its weights.
struct MaskedRun {
  Tensor sequence, last;
};

template <class L>
MaskedRun run_masked(L seq_layer, L last_layer, const std::vector<Tensor>& weights, const std::vector<float>& mask) {
  const Tensor x = pattern({B, T, F}, 0.0);
  seq_layer(x);
  last_layer(x);
  seq_layer->set_weights(weights);
  last_layer->set_weights(weights);
  MaskedRun r;
  r.sequence = seq_layer(x, {.mask = mask_of(mask)});
  r.last = last_layer(x, {.mask = mask_of(mask)});
  return r;
}

std::vector<Tensor> lstm_weights() {
  return {pattern({F, 4 * U}, 1.0), pattern({U, 4 * U}, 2.0), pattern({4 * U}, 3.0)};
}
std::vector<Tensor> gru_weights() {
  return {pattern({F, 3 * U}, 1.0), pattern({U, 3 * U}, 2.0), pattern({2, 3 * U}, 3.0)};
}
std::vector<Tensor> simple_weights() { return {pattern({F, U}, 1.0), pattern({U, U}, 2.0), pattern({U}, 3.0)}; }

TEST(MaskedRNN, LSTMMatchesTorchOnTheKeptSteps) {
  {
    const MaskedRun r =
        run_masked(layers::LSTM(U, {.return_sequences = true}), layers::LSTM(U), lstm_weights(), kRight);
    expect_values(r.sequence, {B, T, U},
                  {-0.0179736f, 0.0022857f, -0.1275757f, -0.0440723f, -0.0864654f, 0.0925228f, -0.0466699f, 0.0291181f,
                   -0.1231532f, -0.0454055f, -0.0840980f, 0.0921427f, -0.0840980f, 0.0921427f, -0.0840980f, 0.0921427f},
                  "lstm right sequence");
    expect_values(r.last, {B, U}, {-0.0466699f, 0.0291181f, -0.0840980f, 0.0921427f}, "lstm right last");
  }
  {
    const MaskedRun r = run_masked(layers::LSTM(U, {.return_sequences = true}), layers::LSTM(U), lstm_weights(), kLeft);
    expect_values(r.sequence, {B, T, U},
                  {-0.0179736f, 0.0022857f, -0.1275757f, -0.0440723f, -0.0864654f, 0.0925228f, -0.0466699f, 0.0291181f,
                   0.0000000f, 0.0000000f, -0.0671616f, 0.1020094f, -0.0442139f, 0.0274498f, -0.1392218f, -0.0311299f},
                  "lstm left sequence");
    expect_values(r.last, {B, U}, {-0.0466699f, 0.0291181f, -0.1392218f, -0.0311299f}, "lstm left last");
  }
  {
    const MaskedRun r =
        run_masked(layers::LSTM(U, {.return_sequences = true}), layers::LSTM(U), lstm_weights(), kMiddle);
    expect_values(r.sequence, {B, T, U},
                  {-0.0179736f, 0.0022857f, -0.0179736f, 0.0022857f, -0.0721689f, 0.1034079f, -0.0449183f, 0.0298650f,
                   0.0000000f, 0.0000000f, -0.0671616f, 0.1020094f, -0.0671616f, 0.1020094f, -0.1453081f, -0.0195682f},
                  "lstm middle sequence");
    expect_values(r.last, {B, U}, {-0.0449183f, 0.0298650f, -0.1453081f, -0.0195682f}, "lstm middle last");
  }
  const MaskedRun z = run_masked(layers::LSTM(U, {.return_sequences = true, .zero_output_for_mask = true}),
                                 layers::LSTM(U, {.zero_output_for_mask = true}), lstm_weights(), kMiddle);
  expect_values(z.sequence, {B, T, U},
                {-0.0179736f, 0.0022857f, 0.0000000f, 0.0000000f, -0.0721689f, 0.1034079f, -0.0449183f, 0.0298650f,
                 0.0000000f, 0.0000000f, -0.0671616f, 0.1020094f, 0.0000000f, 0.0000000f, -0.1453081f, -0.0195682f},
                "lstm zero_output_for_mask");
}

TEST(MaskedRNN, GRUMatchesTorchOnTheKeptSteps) {
  {
    const MaskedRun r = run_masked(layers::GRU(U, {.return_sequences = true}), layers::GRU(U), gru_weights(), kRight);
    expect_values(
        r.sequence, {B, T, U},
        {-0.1128844f, 0.0552511f, -0.2001998f, -0.0715763f, -0.2616774f, -0.0618884f, -0.2444259f, 0.0419250f,
         -0.1360905f, -0.1077467f, -0.2269021f, -0.0807828f, -0.2269021f, -0.0807828f, -0.2269021f, -0.0807828f},
        "gru right sequence");
    expect_values(r.last, {B, U}, {-0.2444259f, 0.0419250f, -0.2269021f, -0.0807828f}, "gru right last");
  }
  {
    const MaskedRun r = run_masked(layers::GRU(U, {.return_sequences = true}), layers::GRU(U), gru_weights(), kLeft);
    expect_values(r.sequence, {B, T, U},
                  {-0.1128844f, 0.0552511f, -0.2001998f, -0.0715763f, -0.2616774f, -0.0618884f, -0.2444259f, 0.0419250f,
                   0.0000000f, 0.0000000f, -0.1465768f, -0.0326703f, -0.1886266f, 0.0464331f, -0.2431396f, -0.0758366f},
                  "gru left sequence");
    expect_values(r.last, {B, U}, {-0.2444259f, 0.0419250f, -0.2431396f, -0.0758366f}, "gru left last");
  }
  {
    const MaskedRun r = run_masked(layers::GRU(U, {.return_sequences = true}), layers::GRU(U), gru_weights(), kMiddle);
    expect_values(
        r.sequence, {B, T, U},
        {-0.1128844f, 0.0552511f, -0.1128844f, 0.0552511f, -0.2107761f, -0.0019260f, -0.2188917f, 0.0646311f,
         0.0000000f, 0.0000000f, -0.1465768f, -0.0326703f, -0.1465768f, -0.0326703f, -0.2221516f, -0.1235610f},
        "gru middle sequence");
    expect_values(r.last, {B, U}, {-0.2188917f, 0.0646311f, -0.2221516f, -0.1235610f}, "gru middle last");
  }
  const MaskedRun z = run_masked(layers::GRU(U, {.return_sequences = true, .zero_output_for_mask = true}),
                                 layers::GRU(U, {.zero_output_for_mask = true}), gru_weights(), kMiddle);
  expect_values(z.sequence, {B, T, U},
                {-0.1128844f, 0.0552511f, 0.0000000f, 0.0000000f, -0.2107761f, -0.0019260f, -0.2188917f, 0.0646311f,
                 0.0000000f, 0.0000000f, -0.1465768f, -0.0326703f, 0.0000000f, 0.0000000f, -0.2221516f, -0.1235610f},
                "gru zero_output_for_mask");
}

TEST(MaskedRNN, SimpleRNNMatchesTorchOnTheKeptSteps) {
  {
    const MaskedRun r =
        run_masked(layers::SimpleRNN(U, {.return_sequences = true}), layers::SimpleRNN(U), simple_weights(), kRight);
    expect_values(
        r.sequence, {B, T, U},
        {0.0285997f, -0.4613681f, 0.4089327f, 0.2290324f, -0.0254701f, -0.3303840f, 0.0644291f, -0.3502082f, 0.3454634f,
         0.0398080f, -0.0333057f, -0.2771485f, -0.0333057f, -0.2771485f, -0.0333057f, -0.2771485f},
        "simple_rnn right sequence");
    expect_values(r.last, {B, U}, {0.0644291f, -0.3502082f, -0.0333057f, -0.2771485f}, "simple_rnn right last");
  }
  {
    const MaskedRun r =
        run_masked(layers::SimpleRNN(U, {.return_sequences = true}), layers::SimpleRNN(U), simple_weights(), kLeft);
    expect_values(r.sequence, {B, T, U},
                  {0.0285997f, -0.4613681f, 0.4089327f, 0.2290324f, -0.0254701f, -0.3303840f, 0.0644291f, -0.3502082f,
                   0.0000000f, 0.0000000f, -0.1832042f, -0.3293738f, -0.0020364f, -0.3766058f, 0.3844754f, 0.1924957f},
                  "simple_rnn left sequence");
    expect_values(r.last, {B, U}, {0.0644291f, -0.3502082f, 0.3844754f, 0.1924957f}, "simple_rnn left last");
  }
  {
    const MaskedRun r =
        run_masked(layers::SimpleRNN(U, {.return_sequences = true}), layers::SimpleRNN(U), simple_weights(), kMiddle);
    expect_values(r.sequence, {B, T, U},
                  {0.0285997f, -0.4613681f, 0.0285997f, -0.4613681f, -0.1097369f, -0.1411150f, 0.0020236f, -0.4310009f,
                   0.0000000f, 0.0000000f, -0.1832042f, -0.3293738f, -0.1832042f, -0.3293738f, 0.3066996f, 0.1360408f},
                  "simple_rnn middle sequence");
    expect_values(r.last, {B, U}, {0.0020236f, -0.4310009f, 0.3066996f, 0.1360408f}, "simple_rnn middle last");
  }
  const MaskedRun z = run_masked(layers::SimpleRNN(U, {.return_sequences = true, .zero_output_for_mask = true}),
                                 layers::SimpleRNN(U, {.zero_output_for_mask = true}), simple_weights(), kMiddle);
  expect_values(z.sequence, {B, T, U},
                {0.0285997f, -0.4613681f, 0.0000000f, 0.0000000f, -0.1097369f, -0.1411150f, 0.0020236f, -0.4310009f,
                 0.0000000f, 0.0000000f, -0.1832042f, -0.3293738f, 0.0000000f, 0.0000000f, 0.3066996f, 0.1360408f},
                "simple_rnn zero_output_for_mask");
}

// --- semantics: a masked sequence equals each sample's kept steps run alone ---

// Runs `layer` (return_sequences, return_state) on sample i's kept steps only, from zero states.
template <class L>
void expect_equals_kept_steps(L layer, const Tensor& x, const Tensor& mask, bool backwards) {
  const std::vector<Tensor> masked = layer(std::vector<Tensor>{x}, {.mask = mask});
  const int64_t batch = x.shape()[0], steps = x.shape()[1], units = masked[0].shape()[2];
  const std::vector<float> m = ops::cast(mask, DType::f32).to_vector<float>();
  const std::vector<float> seq = masked[0].to_vector<float>();
  for (int64_t i = 0; i < batch; ++i) {
    std::vector<Tensor> kept;
    for (int64_t s = 0; s < steps; ++s)
      if (m[static_cast<size_t>(i * steps + s)] != 0)
        kept.push_back(ops::slice_axis(ops::slice_axis(x, 0, i, i + 1), 1, s, s + 1));
    ASSERT_FALSE(kept.empty());
    const std::vector<Tensor> alone = layer(std::vector<Tensor>{ops::concatenate(kept, 1)});
    // Final states: those of the kept steps alone.
    for (size_t k = 1; k < masked.size(); ++k) {
      const std::vector<float> a = ops::slice_axis(masked[k], 0, i, i + 1).to_vector<float>();
      const std::vector<float> b = alone[k].to_vector<float>();
      for (size_t j = 0; j < a.size(); ++j) EXPECT_NEAR(a[j], b[j], 1e-6) << "state " << k << " of sample " << i;
    }
    // Sequence output in processing order: the kept outputs, each repeated over the masked steps after it.
    const std::vector<float> alone_seq = alone[0].to_vector<float>();
    int64_t k = -1;
    for (int64_t p = 0; p < steps; ++p) {
      const int64_t s = backwards ? steps - 1 - p : p;
      if (m[static_cast<size_t>(i * steps + s)] != 0) ++k;
      for (int64_t j = 0; j < units; ++j) {
        const float expected = k < 0 ? 0.0f : alone_seq[static_cast<size_t>(k * units + j)];
        EXPECT_NEAR(seq[static_cast<size_t>((i * steps + p) * units + j)], expected, 1e-6)
            << "sample " << i << " output " << p;
      }
    }
  }
}

TEST(MaskedRNN, EqualsTheKeptStepsRunAlone) {
  const Tensor x = random::normal({3, 6, 4}, 0.0, 1.0, DType::f32, 8);
  const Tensor mask = ops::cast(
      from_vector(std::vector<float>{1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1}, {3, 6}), DType::b8);
  expect_equals_kept_steps(layers::SimpleRNN(5, {.return_sequences = true, .return_state = true}), x, mask, false);
  expect_equals_kept_steps(layers::LSTM(5, {.return_sequences = true, .return_state = true}), x, mask, false);
  expect_equals_kept_steps(layers::GRU(5, {.return_sequences = true, .return_state = true}), x, mask, false);
  expect_equals_kept_steps(layers::GRU(5, {.return_sequences = true, .return_state = true, .reset_after = false}), x,
                           mask, false);
  expect_equals_kept_steps(layers::LSTM(5, {.return_sequences = true, .return_state = true, .go_backwards = true}), x,
                           mask, true);
}

TEST(MaskedRNN, OutputMaskFollowsKeras) {
  const Tensor x = ones({B, T, F});
  const Tensor m = mask_of(kRight);
  auto seq = layers::LSTM(U, {.return_sequences = true, .return_state = true});
  MaskedOutputs r = seq->call_with_masks({x}, {m});
  ASSERT_EQ(r.masks.size(), 3u);
  EXPECT_EQ(ops::cast(r.masks[0], DType::f32).to_vector<float>(), kRight);  // the sequence keeps the mask
  EXPECT_FALSE(r.masks[1].defined());                                       // states have none
  auto last = layers::GRU(U);
  r = last->call_with_masks({x}, {m});
  EXPECT_FALSE(r.masks[0].defined());  // a last output has none
}

TEST(MaskedRNN, ZeroOutputForMaskIsSavedAndRead) {
  auto lstm = layers::LSTM(U, {.return_sequences = true, .zero_output_for_mask = true});
  const nlohmann::json c = lstm->get_config();
  EXPECT_TRUE(c.at("zero_output_for_mask").get<bool>());
  LayerHandle back = layers::deserialize(layers::serialize(lstm));
  EXPECT_TRUE(back->get_config().at("zero_output_for_mask").get<bool>());
  // Bidirectional forces it to return_sequences on both halves, as Keras.
  auto bi = layers::Bidirectional(layers::GRU(U, {.return_sequences = true}));
  const nlohmann::json bc = bi->get_config();
  EXPECT_TRUE(bc.at("layer").at("config").at("zero_output_for_mask").get<bool>());
  EXPECT_TRUE(bc.at("backward_layer").at("config").at("zero_output_for_mask").get<bool>());
}

TEST(MaskedRNN, WrongMaskShapeNamesTheLayer) {
  auto lstm = layers::LSTM(U, {.name = "enc"});
  testing::expect_error<ShapeError>(
      [&] {
        lstm(ones({B, T, F}), {.mask = ones({B, T + 1})});
      },
      "\"enc\"", "(batch, timesteps)", "(2, 5)");
}

// Bidirectional over a right-padded batch: each sample's kept prefix run through the same layer alone, and
// zeros at the padded steps (zero_output_for_mask).
TEST(MaskedBidirectional, EqualsTheUnpaddedSequencesWithZerosAtPadding) {
  random::set_seed(3);
  auto bi = layers::Bidirectional(layers::LSTM(3, {.return_sequences = true}));
  const Tensor x = random::normal({2, 5, 4}, 0.0, 1.0, DType::f32, 4);
  const std::vector<int64_t> lengths{5, 3};
  const Tensor mask = ops::cast(from_vector(std::vector<float>{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {2, 5}), DType::b8);
  MaskedOutputs r = bi->call_with_masks({x}, {mask});
  EXPECT_EQ(ops::cast(r.masks.at(0), DType::f32).to_vector<float>(),
            (std::vector<float>{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}));
  const std::vector<float> out = r.outputs[0].to_vector<float>();
  for (int64_t i = 0; i < 2; ++i) {
    const Tensor alone = bi(ops::slice_axis(ops::slice_axis(x, 0, i, i + 1), 1, 0, lengths[i]));
    const std::vector<float> a = alone.to_vector<float>();
    for (int64_t s = 0; s < 5; ++s)
      for (int64_t j = 0; j < 6; ++j) {
        const float expected = s < lengths[i] ? a[static_cast<size_t>(s * 6 + j)] : 0.0f;
        EXPECT_NEAR(out[static_cast<size_t>((i * 5 + s) * 6 + j)], expected, 1e-6) << i << "," << s << "," << j;
      }
  }
}

// d/dx and d/dW of a masked LSTM by central differences; masked steps get no gradient.
TEST(MaskedRNN, GradientsMatchFiniteDifferences) {
  auto lstm = layers::LSTM(3, {.return_sequences = true});
  const Tensor x0 = random::normal({2, 4, 3}, 0.0, 1.0, DType::f32, 11);
  const Tensor mask = ops::cast(from_vector(std::vector<float>{1, 0, 1, 1, 0, 1, 1, 0}, {2, 4}), DType::b8);
  const Tensor probe = random::normal({2, 4, 3}, 0.0, 1.0, DType::f32, 12);
  auto loss = [&](const Tensor& x) { return ops::sum(lstm(x, {.mask = mask}) * probe); };
  Tensor x = x0.detach().requires_grad_();
  lstm(x0);
  for (auto& w : lstm->trainable_weights()) w.value().zero_grad();
  loss(x).backward();
  const std::vector<float> gx = x.grad().to_vector<float>();
  const double eps = 1e-2;
  for (int64_t idx = 0; idx < x0.numel(); ++idx) {
    std::vector<float> up = x0.to_vector<float>(), down = up;
    up[static_cast<size_t>(idx)] += static_cast<float>(eps);
    down[static_cast<size_t>(idx)] -= static_cast<float>(eps);
    NoGradGuard no_grad;
    const double numeric =
        (loss(from_vector(up, x0.shape())).item<double>() - loss(from_vector(down, x0.shape())).item<double>()) /
        (2 * eps);
    EXPECT_NEAR(gx[static_cast<size_t>(idx)], numeric, 2e-3 * (1 + std::abs(numeric))) << "x[" << idx << "]";
    const int64_t step = (idx / 3) % 4, sample = idx / 12;
    if (!std::vector<float>{1, 0, 1, 1, 0, 1, 1, 0}[static_cast<size_t>(sample * 4 + step)]) {
      EXPECT_EQ(gx[static_cast<size_t>(idx)], 0.0f) << "a masked step got a gradient at x[" << idx << "]";
    }
  }
  const Variable kernel = lstm->trainable_weights()[0];
  const Tensor gk = kernel.value().grad();
  const Tensor dir = random::normal(kernel.shape(), 0.0, 1.0, DType::f32, 13);
  const Tensor base = kernel.value().detach().clone();
  double numeric = 0;
  {
    NoGradGuard no_grad;
    Variable k = kernel;
    k.assign(base + dir * eps);
    const double up = loss(x0).item<double>();
    k.assign(base - dir * eps);
    const double down = loss(x0).item<double>();
    k.assign(base);
    numeric = (up - down) / (2 * eps);
  }
  const double analytic = ops::sum(gk * dir).item<double>();
  EXPECT_NEAR(analytic, numeric, 2e-3 * (1 + std::abs(numeric)));
}

}  // namespace
}  // namespace keel
