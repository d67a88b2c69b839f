// Masks in training: the losses leave a prediction's masked elements out of the mean (Keras's apply_mask:
// each kept element weighted total/kept), MeanMetricWrapper metrics leave them out when sample weights are
// given (Keras 3's reduction_metrics.py) and count them otherwise, and a masked LSTM classifier on padded
// sequences trains exactly as the same model on the unpadded sequences.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "keel/keel.h"
#include "test_util.h"

namespace keel {
namespace {

TEST(MaskedLoss, MeanRunsOverKeptElementsOnly) {
  const Tensor y = from_vector(std::vector<float>{1, 2, 3, 4}, {1, 4, 1});
  const Tensor p = from_vector(std::vector<float>{2, 2, 0, 9}, {1, 4, 1});
  const Tensor mask = ops::cast(from_vector(std::vector<float>{1, 1, 1, 0}, {1, 4}), DType::b8);
  losses::MeanSquaredError mse;
  EXPECT_NEAR(mse(y, p, Tensor(), mask).item<double>(), (1.0 + 0.0 + 9.0) / 3.0, 1e-6);
  EXPECT_NEAR(mse(y, p).item<double>(), (1.0 + 0.0 + 9.0 + 25.0) / 4.0, 1e-6);
  // "sum" adds the kept elements; sample weights multiply (per sample, broadcast over the steps).
  losses::MeanSquaredError sum({.reduction = "sum"});
  EXPECT_NEAR(sum(y, p, Tensor(), mask).item<double>(), 10.0, 1e-6);
  EXPECT_NEAR(mse(y, p, from_vector(std::vector<float>{2}, {1}), mask).item<double>(), 2.0 * 10.0 / 3.0, 1e-5);
  // With SparseCategoricalCrossentropy's ignore_class both masks apply (Keras's in_mask & out_mask).
  losses::SparseCategoricalCrossentropy scce({.ignore_class = 2});
  const Tensor labels = from_vector(std::vector<float>{0, 2, 1}, {1, 3});
  const Tensor probs =
      from_vector(std::vector<float>{0.5f, 0.25f, 0.25f, 0.1f, 0.1f, 0.8f, 0.2f, 0.6f, 0.2f}, {1, 3, 3});
  const Tensor last_masked = ops::cast(from_vector(std::vector<float>{1, 1, 0}, {1, 3}), DType::b8);
  EXPECT_NEAR(scce(labels, probs, Tensor(), last_masked).item<double>(), -std::log(0.5), 1e-6);
  testing::expect_error<ShapeError>(
      [&] {
        mse(y, p, Tensor(), ones({1, 3}));
      },
      "mean_squared_error", "(1, 3)", "(1, 4)");
}

TEST(MaskedMetric, MeanMetricsLeaveMaskedElementsOutOnlyWithSampleWeights) {
  const Tensor y = from_vector(std::vector<float>{1, 1, 0, 0}, {1, 4, 1});
  const Tensor p = from_vector(std::vector<float>{0.9f, 0.2f, 0.1f, 0.8f}, {1, 4, 1});  // right, wrong, right, wrong
  const Tensor mask = ops::cast(from_vector(std::vector<float>{1, 0, 1, 1}, {1, 4}), DType::b8);
  metrics::BinaryAccuracy unweighted;
  unweighted.update_state_masked(y, p, Tensor(), mask);
  EXPECT_DOUBLE_EQ(unweighted.result(), 0.5);  // Keras 3 counts every step without sample weights
  metrics::BinaryAccuracy weighted;
  weighted.update_state_masked(y, p, from_vector(std::vector<float>{1}, {1}), mask);
  EXPECT_NEAR(weighted.result(), 2.0 / 3.0, 1e-7);  // the masked wrong step is left out
  // Metrics other than mean wrappers ignore the mask.
  metrics::Precision precision;
  precision.update_state_masked(y, p, from_vector(std::vector<float>{1}, {1}), mask);
  EXPECT_DOUBLE_EQ(precision.result(), 0.5);
}

// Sequences of three lengths, four of each (one length per batch of four), ids in 1..9 and a label that
// depends on them; pre-padded with 0 to the longest, as keras.utils.pad_sequences does by default.
struct Corpus {
  std::vector<Tensor> groups;    // (4, length) each, float ids
  std::vector<Tensor> labels;    // (4, 1) each
  Tensor padded, padded_labels;  // (12, 7), (12, 1)
};

Corpus make_corpus() {
  const std::vector<int64_t> lengths{3, 5, 7};
  const int64_t longest = 7;
  Corpus c;
  std::vector<float> padded, all_labels;
  uint32_t state = 12345;
  auto next_id = [&state] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(1 + (state >> 16) % 9);
  };
  for (int64_t len : lengths) {
    std::vector<float> ids, labels;
    for (int i = 0; i < 4; ++i) {
      float sum = 0;
      std::vector<float> seq;
      for (int64_t s = 0; s < len; ++s) {
        seq.push_back(next_id());
        sum += seq.back();
      }
      labels.push_back(sum / static_cast<float>(len) > 5.0f ? 1.0f : 0.0f);
      ids.insert(ids.end(), seq.begin(), seq.end());
      padded.insert(padded.end(), static_cast<size_t>(longest - len), 0.0f);
      padded.insert(padded.end(), seq.begin(), seq.end());
    }
    c.groups.push_back(from_vector(ids, {4, len}));
    c.labels.push_back(from_vector(labels, {4, 1}));
    all_labels.insert(all_labels.end(), labels.begin(), labels.end());
  }
  c.padded = from_vector(padded, {12, longest});
  c.padded_labels = from_vector(all_labels, {12, 1});
  return c;
}

TEST(MaskedTraining, PaddedMaskedLSTMTrainsAsTheUnpaddedModel) {
  random::set_seed(7);
  const Corpus c = make_corpus();
  Sequential padded({layers::Input({7}), layers::Embedding(10, 6, {.mask_zero = true}), layers::LSTM(5),
                     layers::Dense(1, "sigmoid")});
  auto in = layers::Input({kUnknownDim});
  Model unpadded(in, layers::Dense(1, "sigmoid")(layers::LSTM(5)(layers::Embedding(10, 6)(in))));
  unpadded.set_weights(padded.get_weights());
  padded.compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  unpadded.compile({.optimizer = "adam", .loss = "binary_crossentropy"});

  const int epochs = 4;
  History h =
      padded.fit(c.padded, c.padded_labels, {.batch_size = 4, .epochs = epochs, .verbose = 0, .shuffle = false});
  for (int e = 0; e < epochs; ++e) {
    double sum = 0;  // fit's epoch loss: the mean of its equal-sized batches' losses
    for (size_t g = 0; g < c.groups.size(); ++g) sum += unpadded.train_on_batch(c.groups[g], c.labels[g]).at("loss");
    EXPECT_NEAR(h.history.at("loss")[static_cast<size_t>(e)], sum / 3.0, 1e-5) << "epoch " << e;
  }
  const std::vector<Tensor> a = padded.get_weights(), b = unpadded.get_weights();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const std::vector<float> x = a[i].to_vector<float>(), y = b[i].to_vector<float>();
    for (size_t j = 0; j < x.size(); ++j) EXPECT_NEAR(x[j], y[j], 1e-5) << "weight " << i << " at " << j;
  }
  // Predictions agree as well (predict and evaluate carry the mask too).
  const std::vector<float> p = padded.predict(c.padded, {.batch_size = 4, .verbose = 0}).to_vector<float>();
  for (size_t g = 0; g < c.groups.size(); ++g) {
    const std::vector<float> q = unpadded.predict(c.groups[g], {.verbose = 0}).to_vector<float>();
    for (size_t i = 0; i < q.size(); ++i) EXPECT_NEAR(p[g * 4 + i], q[i], 1e-5);
  }
}

// The same with float features and a Masking layer (a model the compiled train step replays: Embedding's
// id check reads the ids on the host, which keeps its models eager), and a per-step output whose loss the
// mask restricts to the kept steps.
TEST(MaskedTraining, CompiledStepReplaysMaskedSequences) {
  random::set_seed(8);
  const Corpus c = make_corpus();
  // Features: (id/9, 1 − id/9, 0.5); padding stays all-zero (Masking's mask_value).
  auto features = [](const Tensor& ids) {
    const Tensor f = ids / 9.0;
    const Tensor kept = ops::cast(ops::not_equal(ids, zeros({})), DType::f32);
    return ops::stack({f, (1.0 - f) * kept, kept * 0.5}, -1);
  };
  auto targets = [](const Tensor& ids) {
    return ops::expand_dims(ops::cast(ops::greater(ids, full({}, 4.0)), DType::f32), -1);
  };
  Sequential padded({layers::Input({7, 3}), layers::Masking(), layers::GRU(4, {.return_sequences = true}),
                     layers::Dense(1, "sigmoid")});
  auto in = layers::Input({kUnknownDim, 3});
  Model unpadded(in, layers::Dense(1, "sigmoid")(layers::GRU(4, {.return_sequences = true})(in)));
  unpadded.set_weights(padded.get_weights());
  padded.compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  unpadded.compile({.optimizer = "adam", .loss = "binary_crossentropy"});
  const int epochs = 4;
  History h = padded.fit(features(c.padded), targets(c.padded),
                         {.batch_size = 4, .epochs = epochs, .verbose = 0, .shuffle = false});
  EXPECT_GT(padded->train_step_stats().replayed, 0)
      << "the compiled step did not run: " << padded->train_step_stats().not_compiled_because;
  for (int e = 0; e < epochs; ++e) {
    double sum = 0;
    for (size_t g = 0; g < c.groups.size(); ++g)
      sum += unpadded.train_on_batch(features(c.groups[g]), targets(c.groups[g])).at("loss");
    EXPECT_NEAR(h.history.at("loss")[static_cast<size_t>(e)], sum / 3.0, 1e-5) << "epoch " << e;
  }
  const std::vector<Tensor> a = padded.get_weights(), b = unpadded.get_weights();
  for (size_t i = 0; i < a.size(); ++i) {
    const std::vector<float> x = a[i].to_vector<float>(), y = b[i].to_vector<float>();
    for (size_t j = 0; j < x.size(); ++j) EXPECT_NEAR(x[j], y[j], 1e-5) << "weight " << i << " at " << j;
  }
}

// A per-step tagger: the logged loss is binary cross-entropy averaged over the kept steps only, computed
// here in double from predict()'s outputs.
TEST(MaskedTraining, SequenceOutputLossAveragesKeptStepsOnly) {
  random::set_seed(9);
  Sequential tagger({layers::Input({5}), layers::Embedding(8, 4, {.mask_zero = true}),
                     layers::GRU(3, {.return_sequences = true}), layers::Dense(1, "sigmoid")});
  tagger.compile({.optimizer = "sgd", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  const Tensor x = from_vector(std::vector<float>{0, 0, 3, 1, 2, 0, 4, 4, 4, 7, 5, 6, 1, 2, 3}, {3, 5});
  const Tensor y = from_vector(std::vector<float>{1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1}, {3, 5, 1});
  const std::vector<float> p = tagger.predict(x, {.verbose = 0}).to_vector<float>();
  const std::vector<float> ids = x.to_vector<float>(), labels = y.to_vector<float>();
  double total = 0, kept = 0, correct_all = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const double q = std::clamp(static_cast<double>(p[i]), 1e-7, 1 - 1e-7);
    if (ids[i] != 0) {
      total += -(labels[i] * std::log(q) + (1 - labels[i]) * std::log(1 - q));
      ++kept;
    }
    correct_all += (p[i] > 0.5) == (labels[i] > 0.5);
  }
  const std::map<std::string, double> r = tagger.evaluate(x, y, {.verbose = 0});
  EXPECT_NEAR(r.at("loss"), total / kept, 1e-5);
  EXPECT_NEAR(r.at("accuracy"), correct_all / 15.0, 1e-7);  // Keras 3: unweighted metrics count every step
}

}  // namespace
}  // namespace keel
