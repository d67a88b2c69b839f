// Streaming metrics: values by hand from keras-reference §7, AUC from a direct NumPy transcription of
// Keras's confusion counts (below), streaming results against the weighted mean over all samples.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/core/grad_mode.h"
#include "keel/core/naming.h"
#include "keel/core/tensor.h"
#include "keel/metrics/metrics.h"
#include "keel/ops/manipulation.h"
#include "test_util.h"

namespace keel {
namespace {

using Floats = std::vector<float>;
Tensor t(const Floats& v, const Shape& s) { return from_vector(v, s); }
Tensor labels(const std::vector<int64_t>& v, const Shape& s) { return from_vector(v, s); }

// --- Mean / Sum ---

TEST(Metrics, MeanIsWeightedOverAllSamples) {
  metrics::Mean m;
  EXPECT_EQ(m.name(), "mean");
  EXPECT_EQ(m.result(), 0.0);  // empty state: divide_no_nan
  m.update_state(t({1, 2, 3}, {3}));
  m.update_state(t({4, 5}, {2}), t({2, 0}, {2}));
  // (1 + 2 + 3 + 4·2 + 5·0) / (3 + 2)
  EXPECT_DOUBLE_EQ(m.result(), 14.0 / 5.0);
  EXPECT_DOUBLE_EQ(m.total(), 14.0);
  EXPECT_DOUBLE_EQ(m.count(), 5.0);
  m.reset_state();
  EXPECT_EQ(m.result(), 0.0);
}

TEST(Metrics, MeanReducesToOneValuePerSample) {
  metrics::Mean m;
  // (2, 3) values, (2,) weights: per-sample means {2, 5} weighted {1, 3}.
  m.update_state(t({1, 2, 3, 4, 5, 6}, {2, 3}), t({1, 3}, {2}));
  EXPECT_DOUBLE_EQ(m.result(), (2.0 * 1 + 5.0 * 3) / 4.0);
  // Same-shape weights: total += Σ_i mean_j(v·w), count += Σ_i mean_j(w).
  metrics::Mean e;
  e.update_state(t({1, 2, 3, 4, 5, 6}, {2, 3}), t({1, 0, 2, 1, 1, 1}, {2, 3}));
  const double total = (1 + 0 + 6) / 3.0 + (4 + 5 + 6) / 3.0, count = 3 / 3.0 + 3 / 3.0;
  EXPECT_NEAR(e.total(), total, 1e-6);
  EXPECT_NEAR(e.result(), total / count, 1e-6);
  // Unweighted: count is the number of samples.
  metrics::Mean u;
  u.update_state(t({1, 2, 3, 4, 5, 6}, {2, 3}));
  EXPECT_DOUBLE_EQ(u.count(), 2.0);
  EXPECT_DOUBLE_EQ(u.result(), 3.5);
}

TEST(Metrics, SumAndVariables) {
  metrics::Sum s;
  s.update_state(t({1, 2, 3}, {3}), t({1, 0, 2}, {3}));
  s.update_state(t({1.5}, {1}));
  EXPECT_DOUBLE_EQ(s.result(), 8.5);
  metrics::Mean m;
  m.update_state(t({2, 4}, {2}));
  auto vars = m.variables();
  ASSERT_EQ(vars.size(), 2u);
  EXPECT_EQ(vars[0].name(), "total");
  EXPECT_EQ(vars[1].name(), "count");
  EXPECT_FALSE(vars[0].trainable());
  EXPECT_EQ(vars[0].value().item<float>(), 6.0f);
  EXPECT_EQ(vars[1].value().item<float>(), 2.0f);
  EXPECT_EQ(vars[0].dtype(), DType::f32);
}

// --- accuracy family ---

TEST(Metrics, AccuracyFunctions) {
  // Strict > threshold: 0.5 is predicted negative.
  metrics::BinaryAccuracy b;
  b.update_state(t({1, 0, 1, 0}, {4, 1}), t({0.7, 0.5, 0.4, 0.2}, {4, 1}));
  EXPECT_DOUBLE_EQ(b.result(), 0.75);
  metrics::BinaryAccuracy b3({.threshold = 0.3});
  b3.update_state(t({1, 0, 1, 0}, {4}), t({0.7, 0.5, 0.4, 0.2}, {4, 1}));
  EXPECT_DOUBLE_EQ(b3.result(), 0.75);

  metrics::CategoricalAccuracy c;
  c.update_state(t({0, 1, 0, 1, 0, 0, 0, 0, 1}, {3, 3}), t({0.1, 0.8, 0.1, 0.3, 0.6, 0.1, 0.2, 0.2, 0.6}, {3, 3}));
  EXPECT_NEAR(c.result(), 2.0 / 3.0, 1e-12);

  for (const Tensor& y : {labels({1, 0, 1}, {3}), labels({1, 0, 1}, {3, 1}), t({1, 0, 1}, {3})}) {
    metrics::SparseCategoricalAccuracy s;
    s.update_state(y, t({0.1, 0.8, 0.1, 0.3, 0.6, 0.1, 0.2, 0.2, 0.6}, {3, 3}));
    EXPECT_NEAR(s.result(), 1.0 / 3.0, 1e-12) << shape_str(y.shape());
  }

  metrics::Accuracy a;
  a.update_state(t({1, 2, 3, 4}, {4}), t({1, 2, 0, 4}, {4}));
  EXPECT_DOUBLE_EQ(a.result(), 0.75);
}

TEST(Metrics, TopKAccuracy) {
  // Row 0: target 2 scores 0.3, only 0.5 is higher -> in top 2. Row 1: target 0 scores 0.1, two higher -> out.
  // Row 2: target 1 ties with class 0 at the boundary (in_top_k counts ties) -> in.
  Tensor p = t({0.2, 0.5, 0.3, 0.1, 0.6, 0.3, 0.4, 0.4, 0.2}, {3, 3});
  metrics::SparseTopKCategoricalAccuracy s({.k = 2});
  s.update_state(labels({2, 0, 1}, {3}), p);
  EXPECT_NEAR(s.result(), 2.0 / 3.0, 1e-12);
  metrics::TopKCategoricalAccuracy c({.k = 1});
  c.update_state(t({0, 1, 0, 0, 1, 0, 1, 0, 0}, {3, 3}), p);
  // k = 1: row 0 target 1 (top), row 1 target 1 (top), row 2 target 0 ties with 1 (counts).
  EXPECT_DOUBLE_EQ(c.result(), 1.0);
  EXPECT_EQ(metrics::TopKCategoricalAccuracy().get_config()["k"], 5);
}

TEST(Metrics, StreamingEqualsWeightedMeanOverAllSamples) {
  // Three batches of sparse accuracy with sample weights; expected Σ w·match / Σ w over all 7 samples.
  const Tensor p1 = t({0.9, 0.1, 0.2, 0.8, 0.6, 0.4}, {3, 2});  // argmax 0, 1, 0
  const Tensor p2 = t({0.3, 0.7, 0.55, 0.45}, {2, 2});          // argmax 1, 0
  const Tensor p3 = t({0.1, 0.9, 0.8, 0.2}, {2, 2});            // argmax 1, 0
  const auto y1 = labels({0, 0, 0}, {3}), y2 = labels({1, 1}, {2}), y3 = labels({1, 1}, {2});
  // matches: 1 0 1 | 1 0 | 1 0 ; weights: 1 2 0.5 | 3 1 | 0.5 2
  const double expected = (1 + 0.5 + 3 + 0.5) / (1 + 2 + 0.5 + 3 + 1 + 0.5 + 2);
  metrics::SparseCategoricalAccuracy acc;
  acc.update_state(y1, p1, t({1, 2, 0.5}, {3}));
  acc.update_state(y2, p2, t({3, 1}, {2}));
  acc.update_state(y3, p3, t({0.5, 2}, {2, 1}));
  EXPECT_NEAR(acc.result(), expected, 1e-12);
  // Not the mean of batch means.
  EXPECT_GT(std::fabs(acc.result() - (2.0 / 3 + 0.5 + 0.5) / 3), 0.05);

  // Mean squared error: per-sample values (0.25, 1, 0 | 4, 0.25) -> overall mean.
  metrics::MeanSquaredError mse;
  mse.update_state(t({1, 2, 3}, {3, 1}), t({1.5, 1, 3}, {3, 1}));
  mse.update_state(t({0, 1}, {2, 1}), t({2, 1.5}, {2, 1}));
  EXPECT_NEAR(mse.result(), (0.25 + 1 + 0 + 4 + 0.25) / 5, 1e-7);
  metrics::RootMeanSquaredError rmse;
  rmse.update_state(t({1, 2, 3}, {3}), t({1.5, 1, 3}, {3}), t({1, 1, 2}, {3}));
  rmse.update_state(t({0, 1}, {2}), t({2, 1.5}, {2}));
  EXPECT_NEAR(rmse.result(), std::sqrt((0.25 + 1 + 0 + 4 + 0.25) / 6), 1e-7);
}

TEST(Metrics, LossMetricsUseLossFunctions) {
  // Values from tests/losses (torch): BCE of these probabilities per sample and cosine similarity.
  const Floats yb = {1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0};
  const Floats pb = {0.9, 0.2, 0.6, 0.4, 0.1, 0.3, 0.8, 0.45, 0.7, 0.55, 0.35, 0.05};
  metrics::BinaryCrossentropy bce;
  bce.update_state(ops::slice(t(yb, {3, 4}), {0, 0}, {2, 4}), ops::slice(t(pb, {3, 4}), {0, 0}, {2, 4}));
  bce.update_state(ops::slice(t(yb, {3, 4}), {2, 0}, {1, 4}), ops::slice(t(pb, {3, 4}), {2, 0}, {1, 4}));
  EXPECT_NEAR(bce.result(), (0.4389051 + 0.320754 + 0.359147) / 3, 1e-6);
  metrics::CosineSimilarity cos;
  cos.update_state(t({0.5, 1.0, 0.0, 2.0}, {1, 4}), t({0.4, 1.3, 0.2, 1.1}, {1, 4}));
  EXPECT_NEAR(cos.result(), 0.9171518, 1e-6);
  metrics::SparseCategoricalCrossentropy scce({.from_logits = true});
  scce.update_state(labels({2, 0, 3}, {3}), t({0.5, -1.0, 2.0, 0.1, 1.5, 0.3, -0.7, 0.2, -0.3, 0.4, 0.9, 1.1}, {3, 4}));
  EXPECT_NEAR(scce.result(), (0.3524059 + 0.521486 + 0.9407542) / 3, 1e-6);
  EXPECT_EQ(bce.direction(), -1);
  EXPECT_EQ(cos.direction(), +1);
}

TEST(Metrics, UpdatesRecordNoGraph) {
  Tensor p = t({0.2, 0.8}, {2, 1}).requires_grad_();
  metrics::BinaryCrossentropy bce;
  bce.update_state(t({0, 1}, {2, 1}), p);
  EXPECT_FALSE(p.grad().defined());
  EXPECT_NEAR(bce.result(), -std::log(0.8), 1e-6);
}

// --- Precision / Recall ---
// y = [1,0,1,1,0,1], p = [0.9,0.6,0.4,0.7,0.2,0.1]. At 0.5: TP 2 (0.9, 0.7), FP 1 (0.6), FN 2 (0.4, 0.1).

TEST(Metrics, PrecisionRecallAccumulate) {
  const Tensor y = t({1, 0, 1, 1, 0, 1}, {6}), p = t({0.9, 0.6, 0.4, 0.7, 0.2, 0.1}, {6});
  metrics::Precision prec;
  metrics::Recall rec;
  for (auto [start, len] : {std::pair<int64_t, int64_t>{0, 4}, {4, 2}}) {
    prec.update_state(ops::slice(y, {start}, {len}), ops::slice(p, {start}, {len}));
    rec.update_state(ops::slice(y, {start}, {len}), ops::slice(p, {start}, {len}));
  }
  EXPECT_NEAR(prec.result(), 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(rec.result(), 0.5, 1e-12);
  EXPECT_EQ(prec.direction(), +1);
  EXPECT_EQ(rec.variables()[1].name(), "false_negatives");

  // Weights [1,2,1,1,1,3]: TP 2, FP 2, FN 1 + 3.
  metrics::Precision wp;
  metrics::Recall wr;
  const Tensor w = t({1, 2, 1, 1, 1, 3}, {6});
  wp.update_state(y, p, w);
  wr.update_state(y, p, w);
  EXPECT_NEAR(wp.result(), 0.5, 1e-12);
  EXPECT_NEAR(wr.result(), 1.0 / 3.0, 1e-12);

  // Several thresholds: one result each.
  metrics::Precision multi({.thresholds = {0.3, 0.5, 0.65}});
  metrics::Recall multi_r({.thresholds = {0.3, 0.5, 0.65}});
  multi.update_state(y, p);
  multi_r.update_state(y, p);
  const std::vector<double> pr = multi.results(), rr = multi_r.results();
  ASSERT_EQ(pr.size(), 3u);
  EXPECT_NEAR(pr[0], 0.75, 1e-12);
  EXPECT_NEAR(pr[1], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(pr[2], 1.0, 1e-12);
  EXPECT_NEAR(rr[0], 0.75, 1e-12);
  EXPECT_NEAR(rr[1], 0.5, 1e-12);
  EXPECT_NEAR(rr[2], 0.5, 1e-12);
  keel::testing::expect_error<ValueError>([&] { multi.result(); }, {"3 thresholds", "results()"});
}

TEST(Metrics, PrecisionRecallTopKAndClassId) {
  const Tensor y = t({0, 1, 1, 1, 0, 0}, {2, 3}), p = t({0.2, 0.5, 0.3, 0.6, 0.1, 0.7}, {2, 3});
  // top_k = 1 keeps 0.5 (label 1: TP) and 0.7 (label 0: FP); FN: row 0 class 2 and row 1 class 0.
  metrics::Precision p1({.top_k = 1});
  metrics::Recall r1({.top_k = 1});
  p1.update_state(y, p);
  r1.update_state(y, p);
  EXPECT_NEAR(p1.result(), 0.5, 1e-12);
  EXPECT_NEAR(r1.result(), 1.0 / 3.0, 1e-12);
  // class_id = 2: column (1, 0) vs (0.3, 0.7): one FN, one FP.
  metrics::Precision pc({.class_id = 2});
  metrics::Recall rc({.class_id = 2});
  pc.update_state(y, p);
  rc.update_state(y, p);
  EXPECT_EQ(pc.result(), 0.0);
  EXPECT_EQ(rc.result(), 0.0);
  // top_k = 2 and class_id = 0: row 0 drops class 0 (TN), row 1 keeps it with label 1 (TP).
  metrics::Precision pk({.top_k = 2, .class_id = 0});
  pk.update_state(y, p);
  EXPECT_EQ(pk.result(), 1.0);
  keel::testing::expect_error<ValueError>([&] { metrics::Precision({.class_id = 5}).update_state(y, p); },
                                          {"class_id", "5", "3 classes"});
}

// --- AUC ---
// Reference (NumPy, Keras's algorithm written out with direct comparisons at each threshold):
//   y = [1,0,1,1,0,0,1,0,1,0]; p = [0.9,0.35,0.6,0.25,0.7,0.1,0.8,0.5,0.45,0.05]; w = [1,2,1,0.5,1,1,3,1,1,2]
//   th = float32([0-1e-7] + [(i+1)/(n-1) for i in range(n-2)] + [1+1e-7]); positive iff clip(p,0,1) > th
//   tp/fp/tn/fn = weighted counts; ROC: x = fp/(fp+tn), y = tp/(tp+fn); PR: x = recall, y = precision;
//   Σ (x[i]-x[i+1])·h_i with h = mean / min / max of y[i], y[i+1]; PR interpolation = Keras interpolate_pr_auc.
//   With n = 200 and distinct predictions ROC equals the exact Mann–Whitney AUC 0.76.

struct AucCase {
  int64_t n;
  const char* curve;
  const char* method;
  double unweighted, weighted;
};

TEST(Metrics, AUCMatchesReference) {
  const Tensor y = t({1, 0, 1, 1, 0, 0, 1, 0, 1, 0}, {10});
  const Tensor p = t({0.9, 0.35, 0.6, 0.25, 0.7, 0.1, 0.8, 0.5, 0.45, 0.05}, {10});
  const Tensor w = t({1, 2, 1, 0.5, 1, 1, 3, 1, 1, 2}, {10});
  const AucCase cases[] = {
      {7, "ROC", "interpolation", 0.74, 0.846153846},    {7, "ROC", "minoring", 0.68, 0.78021978},
      {7, "ROC", "majoring", 0.8, 0.912087912},          {7, "PR", "interpolation", 0.746121563, 0.826347664},
      {7, "PR", "minoring", 0.495238095, 0.630769231},   {7, "PR", "majoring", 0.825, 0.919413919},
      {200, "ROC", "interpolation", 0.76, 0.89010989},   {200, "PR", "interpolation", 0.789416127, 0.900839231},
      {200, "PR", "minoring", 0.567619048, 0.740659341}, {200, "PR", "majoring", 0.808333333, 0.906593407},
  };
  for (const AucCase& c : cases) {
    SCOPED_TRACE(std::to_string(c.n) + " " + c.curve + " " + c.method);
    metrics::AUC a({.num_thresholds = c.n, .curve = c.curve, .summation_method = c.method});
    // Streamed in two batches.
    a.update_state(ops::slice(y, {0}, {6}), ops::slice(p, {0}, {6}));
    a.update_state(ops::slice(y, {6}, {4}), ops::slice(p, {6}, {4}));
    EXPECT_NEAR(a.result(), c.unweighted, 1e-7);
    metrics::AUC aw({.num_thresholds = c.n, .curve = c.curve, .summation_method = c.method});
    aw.update_state(y, p, w);
    EXPECT_NEAR(aw.result(), c.weighted, 1e-7);
  }
  // From logits: sigmoid(log(p / (1 - p))) = p.
  Floats logits;
  for (float v : p.to_vector<float>()) logits.push_back(std::log(v / (1 - v)));
  metrics::AUC al({.from_logits = true});
  al.update_state(y, t(logits, {10}));
  EXPECT_NEAR(al.result(), 0.76, 1e-6);
}

TEST(Metrics, AUCStateAndConfig) {
  metrics::AUC a({.num_thresholds = 5});
  a.update_state(t({1, 0}, {2, 1}), t({0.8, 0.3}, {2, 1}));
  auto vars = a.variables();
  ASSERT_EQ(vars.size(), 4u);
  EXPECT_EQ(vars[0].name(), "true_positives");
  EXPECT_EQ(vars[0].shape(), (Shape{5}));
  // Thresholds -1e-7, .25, .5, .75, 1+1e-7: 0.8 is above the first four.
  EXPECT_EQ(vars[0].value().to_vector<float>(), (Floats{1, 1, 1, 1, 0}));
  EXPECT_EQ(vars[1].value().to_vector<float>(), (Floats{1, 1, 0, 0, 0}));  // false positives: 0.3
  EXPECT_NEAR(a.thresholds()[1], 0.25, 1e-12);
  nlohmann::json c = a.get_config();
  EXPECT_EQ(c["num_thresholds"], 5);
  EXPECT_EQ(c["curve"], "ROC");
  EXPECT_EQ(c["thresholds"].size(), 3u);
  EXPECT_EQ(a.result(), 1.0);
  a.reset_state();
  EXPECT_EQ(a.result(), 0.0);
  keel::testing::expect_error<ValueError>([] { metrics::AUC({.curve = "DET"}); }, {"DET", "ROC", "PR"});
  keel::testing::expect_error<ValueError>([] { metrics::AUC({.num_thresholds = 1}); }, {"num_thresholds", "1"});
}

// --- names and resolution ---

TEST(Metrics, AutoNamesAreUniquified) {
  naming::reset_names();
  metrics::AUC a, b;
  EXPECT_EQ(a.name(), "auc");
  EXPECT_EQ(b.name(), "auc_1");
  EXPECT_EQ(metrics::Precision().name(), "precision");
  // Default names of the mean-metric wrappers are fixed.
  EXPECT_EQ(metrics::BinaryAccuracy().name(), "binary_accuracy");
  EXPECT_EQ(metrics::BinaryAccuracy().name(), "binary_accuracy");
  EXPECT_EQ(metrics::LogCoshError().name(), "logcosh");
}

TEST(Metrics, AccuracyResolvedFromShapes) {
  auto check = [](const std::string& id, const Shape& yt, const Shape& yp, const std::string& cls) {
    auto m = metrics::get(id, yt, yp);
    EXPECT_EQ(m->class_name(), cls) << id << " " << shape_str(yt) << " " << shape_str(yp);
    EXPECT_EQ(m->name(), id);
    EXPECT_EQ(m->direction(), +1);
  };
  check("accuracy", {32, 1}, {32, 1}, "BinaryAccuracy");
  check("accuracy", {32}, {32, 1}, "BinaryAccuracy");
  check("acc", {32}, {32, 10}, "SparseCategoricalAccuracy");
  check("accuracy", {32, 1}, {32, 10}, "SparseCategoricalAccuracy");
  check("Accuracy", {32, 10}, {32, 10}, "CategoricalAccuracy");
  check("ACC", {32, 10}, {32, 10}, "CategoricalAccuracy");
}

TEST(Metrics, GetResolvesIdentifiers) {
  auto mse = metrics::get("mse", {4, 1}, {4, 1});
  EXPECT_EQ(mse->class_name(), "MeanSquaredError");
  EXPECT_EQ(mse->name(), "mse");
  EXPECT_EQ(mse->direction(), -1);
  EXPECT_EQ(metrics::get("auc", {4}, {4})->class_name(), "AUC");
  EXPECT_EQ(metrics::get("AUC", {4}, {4})->name(), "AUC");
  EXPECT_EQ(metrics::get("sparse_top_k_categorical_accuracy", {4}, {4, 9})->class_name(),
            "SparseTopKCategoricalAccuracy");
  EXPECT_EQ(metrics::get("root_mean_squared_error", {4}, {4})->class_name(), "RootMeanSquaredError");
  EXPECT_EQ(metrics::get("BCE", {4}, {4})->class_name(), "BinaryCrossentropy");
  keel::testing::expect_error<ValueError>([] { metrics::get("acuracy", {4}, {4}); },
                                          {"acuracy", "accuracy", "binary_accuracy", "auc"});
  // MetricArg: strings resolve with the shapes, objects are kept.
  MetricArg s = "accuracy";
  EXPECT_TRUE(s.is_string());
  EXPECT_EQ(s.resolve({8}, {8, 3})->class_name(), "SparseCategoricalAccuracy");
  MetricArg o = metrics::AUC({.num_thresholds = 50, .name = "my_auc"});
  EXPECT_EQ(o.identifier(), "my_auc");
  EXPECT_EQ(o.resolve({8}, {8})->name(), "my_auc");
  EXPECT_TRUE(MetricArg().empty());
  metrics::BinaryAccuracy copyable;
  MetricArg from_lvalue = copyable;
  EXPECT_EQ(from_lvalue.identifier(), "binary_accuracy");
}

TEST(Metrics, ErrorsNameTheProblem) {
  using keel::testing::expect_error;
  metrics::Mean m;
  expect_error<ValueError>([&] { static_cast<Metric&>(m).update_state(t({1}, {1}), t({1}, {1})); },
                           {"mean", "update_state(values"});
  metrics::SparseCategoricalAccuracy acc;  // accuracy does not index, so it accepts any label
  metrics::SparseCategoricalCrossentropy scce;
  expect_error<ValueError>(
      [&] {
        scce.update_state(labels({0, 3}, {2}), t({0.5, 0.5, 0.5, 0.5}, {2, 2}));
      },
      {"sparse_categorical_crossentropy", "3", "2"});
  expect_error<ShapeError>(
      [] {
        metrics::Precision().update_state(t({1, 0, 1}, {3}), t({0.5, 0.5}, {2}));
      },
      {"precision", "(3,)", "(2,)"});
}

}  // namespace
}  // namespace keel
