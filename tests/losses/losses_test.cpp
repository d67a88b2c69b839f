// Losses against numbers from Debian's PyTorch 1.13 / NumPy (float32 inputs). The generating script:
//   import numpy as np, torch; f = np.float32; eps = 1e-7; T = torch.tensor
//   yt = np.array([[0.5,1.0,0.0,2.0],[1.5,0.2,0.3,0.0],[0.0,0.7,1.2,0.9]], f)
//   yp = np.array([[0.4,1.3,0.2,1.1],[1.0,0.1,0.9,0.3],[0.2,0.6,2.5,0.8]], f)
//   yb = np.array([[1,0,1,1],[0,0,1,0],[1,1,0,0]], f)
//   pb = np.array([[0.9,0.2,0.6,0.4],[0.1,0.3,0.8,0.45],[0.7,0.55,0.35,0.05]], f)
//   zb = np.array([[2.0,-1.0,0.3,-0.4],[-2.5,0.1,1.2,-0.2],[0.8,3.0,-1.5,0.6]], f)
//   cls = [2,0,3]; yc = np.eye(4, dtype=f)[cls]
//   pc = np.array([[0.1,0.2,0.6,0.1],[0.5,0.3,0.1,0.3],[0.05,0.15,0.3,0.5]], f); pn = pc / pc.sum(-1, keepdims=True)
//   zc = np.array([[0.5,-1.0,2.0,0.1],[1.5,0.3,-0.7,0.2],[-0.3,0.4,0.9,1.1]], f)
//   mse = ((yp-yt)**2).mean(-1); mae = abs(yp-yt).mean(-1)
//   mape = 100*abs((yt-yp)/np.maximum(abs(yt),eps)).mean(-1)
//   msle = ((np.log(np.maximum(yp,eps)+1)-np.log(np.maximum(yt,eps)+1))**2).mean(-1)
//   huber(d): e = yp-yt; a = abs(e); np.where(a<=d, 0.5*e*e, d*a-0.5*d*d).mean(-1)
//   log_cosh = np.log(np.cosh(yp-yt)).mean(-1); s = 2*yb-1
//   hinge = np.maximum(1-s*zb,0).mean(-1); squared_hinge = (np.maximum(1-s*zb,0)**2).mean(-1)
//   categorical_hinge = np.maximum(((1-yc)*zc).max(-1) - (yc*zc).sum(-1) + 1, 0)
//   ys = pb/pb.sum(-1,keepdims=True); kld = (clip(ys,eps,1)*np.log(clip(ys,eps,1)/clip(pn,eps,1))).sum(-1)
//   poisson = (yp-yt*np.log(yp+eps)).mean(-1); l2n(a) = a/np.sqrt(np.maximum((a*a).sum(-1,keepdims=True),1e-14))
//   cosine = -(l2n(yt)*l2n(yp)).sum(-1)
//   bce = F.binary_cross_entropy(T(pb),T(yb),reduction='none').mean(-1)   (F = torch.nn.functional)
//   bce_logits = F.binary_cross_entropy_with_logits(T(zb),T(yb),reduction='none').mean(-1)
//   label_smoothing 0.1: the same with yb*0.9+0.05
//   cce = -(yc*np.log(np.clip(pn,eps,1-eps))).sum(-1); cce_logits = F.cross_entropy(T(zc),T(cls),reduction='none')
//   label_smoothing 0.2: yc*0.8+0.2/4 in both
//   scce = F.nll_loss(torch.log(T(pn)),T(cls),reduction='none')
//   bfocal: bce_e = elementwise clipped BCE; pt = yb*pb+(1-yb)*(1-pb); ((1-pt)**2*bce_e).mean(-1),
//     balanced: (yb*0.25+(1-yb)*0.75) * that; from logits with gamma 3: sigmoid(zb) in float64 then the same
//   cfocal: o = clip(pn,eps,1-eps); (0.25*(1-o)**2*(-yc*np.log(o))).sum(-1); logits: o = softmax(zc)
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <nlohmann/json.hpp>

#include "keel/core/tensor.h"
#include "keel/losses/losses.h"
#include "keel/ops/manipulation.h"
#include "test_util.h"

namespace keel {
namespace {

using Floats = std::vector<float>;

Tensor t(const Floats& v, const Shape& s) { return from_vector(v, s); }

const Floats kYt = {0.5, 1.0, 0.0, 2.0, 1.5, 0.2, 0.3, 0.0, 0.0, 0.7, 1.2, 0.9};
const Floats kYp = {0.4, 1.3, 0.2, 1.1, 1.0, 0.1, 0.9, 0.3, 0.2, 0.6, 2.5, 0.8};
const Floats kYb = {1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0};
const Floats kPb = {0.9, 0.2, 0.6, 0.4, 0.1, 0.3, 0.8, 0.45, 0.7, 0.55, 0.35, 0.05};
const Floats kZb = {2.0, -1.0, 0.3, -0.4, -2.5, 0.1, 1.2, -0.2, 0.8, 3.0, -1.5, 0.6};
const Floats kYc = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1};
const Floats kPc = {0.1, 0.2, 0.6, 0.1, 0.5, 0.3, 0.1, 0.3, 0.05, 0.15, 0.3, 0.5};
const Floats kZc = {0.5, -1.0, 2.0, 0.1, 1.5, 0.3, -0.7, 0.2, -0.3, 0.4, 0.9, 1.1};
const std::vector<int64_t> kCls = {2, 0, 3};
const Shape k34 = {3, 4};

void expect_values(const Tensor& actual, const Floats& expected, double rel = 2e-6) {
  ASSERT_EQ(actual.numel(), static_cast<int64_t>(expected.size())) << shape_str(actual.shape());
  Floats a = actual.to_vector<float>();
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_NEAR(a[i], expected[i], rel * std::max(1.0f, std::fabs(expected[i]))) << "element " << i;
}

// Per-sample functions and the default (sum_over_batch_size) class reduction agree with the reference.
void expect_loss(const Loss& loss, std::function<Tensor(const Tensor&, const Tensor&)> fn, const Floats& y_true,
                 const Floats& y_pred, const Floats& per_sample, double rel = 2e-6) {
  SCOPED_TRACE(loss.name());
  expect_values(fn(t(y_true, k34), t(y_pred, k34)), per_sample, rel);
  double mean = 0;
  for (float v : per_sample) mean += v / per_sample.size();
  EXPECT_NEAR(loss(t(y_true, k34), t(y_pred, k34)).item<float>(), mean, rel * std::max(1.0, std::fabs(mean)));
}

TEST(Losses, RegressionMatchReference) {
  using namespace losses;
  expect_loss(MeanSquaredError(), mean_squared_error, kYt, kYp, {0.2375, 0.1775, 0.4374999});
  expect_loss(MeanAbsoluteError(), mean_absolute_error, kYt, kYp, {0.375, 0.375, 0.425});
  expect_loss(MeanAbsolutePercentageError(), mean_absolute_percentage_error, kYt, kYp,
              {5.000002e+07, 7.500007e+07, 5.000004e+07}, 1e-5);
  expect_loss(MeanSquaredLogarithmicError(), mean_squared_logarithmic_error, kYt, kYp,
              {0.0461879, 0.06755284, 0.06385487});
  expect_loss(Huber(), [](const Tensor& a, const Tensor& b) { return huber(a, b); }, kYt, kYp,
              {0.11875, 0.08874999, 0.2075});
  expect_loss(Huber({.delta = 0.5}), [](const Tensor& a, const Tensor& b) { return huber(a, b, 0.5); }, kYt, kYp,
              {0.09875, 0.08749999, 0.13875});
  expect_loss(LogCosh(), log_cosh, kYt, kYp, {0.1072577, 0.08489557, 0.1770873});
  expect_loss(Poisson(), poisson, kYt, kYp, {0.7512901, 0.6980311, 0.8897145});
  expect_loss(CosineSimilarity(), [](const Tensor& a, const Tensor& b) { return cosine_similarity(a, b); }, kYt, kYp,
              {-0.9171518, -0.8395525, -0.9263206});
}

TEST(Losses, HingeAndDivergenceMatchReference) {
  using namespace losses;
  expect_loss(Hinge(), hinge, kYb, kZb, {0.525, 0.475, 0.45});
  expect_loss(SquaredHinge(), squared_hinge, kYb, kZb, {0.6125, 0.4625, 0.65});
  expect_loss(CategoricalHinge(), categorical_hinge, kYc, kZc, {0, 0, 0.8});
  // y_true: pb normalised per row.
  Floats ys = kPb;
  for (int r = 0; r < 3; ++r) {
    float s = 0;
    for (int c = 0; c < 4; ++c) s += ys[r * 4 + c];
    for (int c = 0; c < 4; ++c) ys[r * 4 + c] /= s;
  }
  Floats pn = kPc;
  for (int c = 0; c < 4; ++c) pn[4 + c] /= 1.2f;
  expect_loss(KLDivergence(), kl_divergence, ys, pn, {0.4637862, 0.7028, 1.014843}, 1e-5);
}

TEST(Losses, HingeKeepsLabelsThatAreAlreadySigned) {
  // Labels in {-1, 1} are not remapped: max(1 - y·ŷ, 0) directly.
  Tensor l = losses::hinge(t({-1, 1}, {1, 2}), t({0.5, 0.25}, {1, 2}));
  EXPECT_NEAR(l.item<float>(), (1.5 + 0.75) / 2, 1e-6);
}

TEST(Losses, BinaryCrossentropyMatchesTorch) {
  using namespace losses;
  auto fn = [](bool logits, double ls) {
    return [=](const Tensor& a, const Tensor& b) { return binary_crossentropy(a, b, logits, ls); };
  };
  expect_loss(BinaryCrossentropy(), fn(false, 0), kYb, kPb, {0.4389051, 0.320754, 0.359147});
  expect_loss(BinaryCrossentropy({.from_logits = true}), fn(true, 0), kYb, kZb, {0.4768901, 0.4211769, 0.4146473});
  expect_loss(BinaryCrossentropy({.label_smoothing = 0.1}), fn(false, 0.1), kYb, kPb,
              {0.4836991, 0.3786476, 0.4167902});
  expect_loss(BinaryCrossentropy({.from_logits = true, .label_smoothing = 0.1}), fn(true, 0.1), kYb, kZb,
              {0.5131401, 0.468677, 0.4733974});
}

TEST(Losses, BinaryCrossentropySaturatesAtClipValue) {
  // p clipped to [1e-7, 1 - 1e-7] in float32: ŷ = 1 for y = 0 costs -log(1 - 0.99999988) =
  // -log(1.1920929e-7) = 15.942385 (keras-reference §6.3); ŷ = 0 for y = 1 costs -log(1e-7) = 16.118095.
  Tensor l = losses::binary_crossentropy(t({0, 1}, {2, 1}), t({1, 0}, {2, 1}));
  expect_values(l, {15.942385f, 16.118095f}, 1e-6);
}

TEST(Losses, BinaryCrossentropyAcceptsIntegerLabels) {
  Tensor p = t(kPb, k34);
  std::vector<int64_t> labels(kYb.begin(), kYb.end());
  std::vector<uint8_t> labels_u8(kYb.begin(), kYb.end());
  const float expected = (0.4389051f + 0.320754f + 0.359147f) / 3;
  EXPECT_NEAR(losses::BinaryCrossentropy()(from_vector(labels, k34), p).item<float>(), expected, 1e-6);
  EXPECT_NEAR(losses::BinaryCrossentropy()(from_vector(labels_u8, k34), p).item<float>(), expected, 1e-6);
}

TEST(Losses, CategoricalCrossentropyMatchesTorch) {
  using namespace losses;
  auto fn = [](bool logits, double ls) {
    return [=](const Tensor& a, const Tensor& b) { return categorical_crossentropy(a, b, logits, ls); };
  };
  // Probabilities are renormalised along the class axis (row 2 of kPc sums to 1.2).
  expect_loss(CategoricalCrossentropy(), fn(false, 0), kYc, kPc, {0.5108256, 0.8754687, 0.6931472});
  expect_loss(CategoricalCrossentropy({.from_logits = true}), fn(true, 0), kYc, kZc, {0.3524059, 0.521486, 0.9407542});
  expect_loss(CategoricalCrossentropy({.label_smoothing = 0.2}), fn(false, 0.2), kYc, kPc,
              {0.7449321, 1.007023, 0.8940164});
  expect_loss(CategoricalCrossentropy({.from_logits = true, .label_smoothing = 0.2}), fn(true, 0.2), kYc, kZc,
              {0.672406, 0.7564861, 1.055754});
}

TEST(Losses, CategoricalCrossentropyOnAxisZero) {
  // The class axis first: the transposed problem gives the same per-sample values.
  Tensor yt = ops::transpose(t(kYc, k34)).contiguous(), zt = ops::transpose(t(kZc, k34)).contiguous();
  expect_values(losses::categorical_crossentropy(yt, zt, true, 0.0, 0), {0.3524059, 0.521486, 0.9407542});
  expect_values(losses::categorical_crossentropy(yt, ops::transpose(t(kPc, k34)).contiguous(), false, 0.0, 0),
                {0.5108256, 0.8754687, 0.6931472});
}

TEST(Losses, SparseCategoricalCrossentropyLabelDtypesAndShapes) {
  const Floats logits_expected = {0.3524059, 0.521486, 0.9407542};
  const Floats probs_expected = {0.5108256, 0.8754688, 0.6931472};
  Tensor z = t(kZc, k34), p = t(kPc, k34);
  std::vector<int32_t> i32(kCls.begin(), kCls.end());
  std::vector<uint8_t> u8(kCls.begin(), kCls.end());
  Floats f32(kCls.begin(), kCls.end());
  for (const Tensor& labels : {from_vector(kCls, {3}), from_vector(kCls, {3, 1}), from_vector(i32, {3}),
                               from_vector(u8, {3, 1}), from_vector(f32, {3})}) {
    SCOPED_TRACE(to_string(labels));
    expect_values(losses::sparse_categorical_crossentropy(labels, z, true), logits_expected);
    expect_values(losses::sparse_categorical_crossentropy(labels, p), probs_expected);
    losses::SparseCategoricalCrossentropy scce({.from_logits = true});
    EXPECT_NEAR(scce(labels, z).item<float>(), (0.3524059 + 0.521486 + 0.9407542) / 3, 1e-6);
  }
}

TEST(Losses, SparseCategoricalCrossentropyIgnoreClass) {
  // Class 0 ignored: sample 1 (label 0) gets loss 0 and the mean runs over the two others.
  Tensor labels = from_vector(kCls, {3});
  losses::SparseCategoricalCrossentropy none({.from_logits = true, .ignore_class = 0, .reduction = "none"});
  expect_values(none(labels, t(kZc, k34)), {0.3524059, 0, 0.9407542});
  losses::SparseCategoricalCrossentropy mean({.from_logits = true, .ignore_class = 0});
  EXPECT_NEAR(mean(labels, t(kZc, k34)).item<float>(), 0.6465801, 1e-6);
  // sum is not rescaled by the mask.
  losses::SparseCategoricalCrossentropy sum({.from_logits = true, .ignore_class = 0, .reduction = "sum"});
  EXPECT_NEAR(sum(labels, t(kZc, k34)).item<float>(), 0.3524059 + 0.9407542, 1e-6);
  // An ignored label may lie outside [0, C), e.g. the usual padding value -1.
  losses::SparseCategoricalCrossentropy pad({.from_logits = true, .ignore_class = -1});
  EXPECT_NEAR(pad(from_vector(std::vector<int64_t>{2, -1, 3}, {3}), t(kZc, k34)).item<float>(), 0.6465801, 1e-6);
  // Every entry ignored: 0, not NaN.
  losses::SparseCategoricalCrossentropy all({.from_logits = true, .ignore_class = 5});
  EXPECT_EQ(all(from_vector(std::vector<int64_t>{5, 5, 5}, {3}), t(kZc, k34)).item<float>(), 0.0f);
}

TEST(Losses, SparseCategoricalCrossentropyRejectsOutOfRangeLabels) {
  using keel::testing::expect_error;
  Tensor z = t(kZc, k34);
  expect_error<ValueError>(
      [&] {
        losses::SparseCategoricalCrossentropy()(from_vector(std::vector<int64_t>{2, 7, 0}, {3}), z);
      },
      {"sparse_categorical_crossentropy", "7", "4"});
  expect_error<ValueError>(
      [&] {
        losses::sparse_categorical_crossentropy(from_vector(std::vector<int32_t>{-1, 0, 0}, {3}), z, true);
      },
      {"sparse_categorical_crossentropy", "-1", "4"});
  expect_error<ShapeError>(
      [&] {
        losses::sparse_categorical_crossentropy(from_vector(std::vector<int64_t>{0, 1}, {2}), z);
      },
      {"sparse_categorical_crossentropy", "(3,)", "(2,)"});
}

TEST(Losses, FocalCrossentropiesMatchReference) {
  using namespace losses;
  expect_loss(
      BinaryFocalCrossentropy(), [](const Tensor& a, const Tensor& b) { return binary_focal_crossentropy(a, b); }, kYb,
      kPb, {0.105394, 0.04078552, 0.05151547}, 1e-5);
  expect_loss(
      BinaryFocalCrossentropy({.apply_class_balancing = true}),
      [](const Tensor& a, const Tensor& b) { return binary_focal_crossentropy(a, b, true); }, kYb, kPb,
      {0.02746422, 0.02947342, 0.01949126}, 1e-5);
  expect_loss(
      BinaryFocalCrossentropy({.gamma = 3.0, .from_logits = true}),
      [](const Tensor& a, const Tensor& b) { return binary_focal_crossentropy(a, b, false, 0.25, 3.0, true); }, kYb,
      kZb, {0.06123797, 0.04139232, 0.07288309}, 1e-4);
  expect_loss(
      CategoricalFocalCrossentropy(),
      [](const Tensor& a, const Tensor& b) { return categorical_focal_crossentropy(a, b); }, kYc, kPc,
      {0.02043302, 0.07447565, 0.0433217}, 1e-5);
  expect_loss(
      CategoricalFocalCrossentropy({.from_logits = true}),
      [](const Tensor& a, const Tensor& b) { return categorical_focal_crossentropy(a, b, 0.25, 2.0, true); }, kYc, kZc,
      {0.007771622, 0.02152829, 0.08741805}, 1e-4);
}

// --- reductions (per-sample MSE [0.11875·0 ...]: L = {0.2375, 0.1775, 0.4374999}, w = {0.5, 0, 2}) ---
//   red_sobs = (L*w).sum()/3; red_sum = (L*w).sum(); red_mws = (L*w).sum()/w.sum(); red_none = L*w

TEST(Losses, ReductionsWithSampleWeight) {
  Tensor yt = t(kYt, k34), yp = t(kYp, k34);
  for (const Tensor& w : {t({0.5, 0.0, 2.0}, {3}), t({0.5, 0.0, 2.0}, {3, 1})}) {
    SCOPED_TRACE(shape_str(w.shape()));
    auto loss = [&](const std::string& r) { return losses::MeanSquaredError({.reduction = r})(yt, yp, w); };
    // sum_over_batch_size divides by the number of elements (3), not by Σw (2.5).
    EXPECT_NEAR(loss("sum_over_batch_size").item<float>(), 0.33125, 1e-6);
    EXPECT_NEAR(loss("mean").item<float>(), 0.33125, 1e-6);
    EXPECT_NEAR(loss("sum").item<float>(), 0.9937499, 1e-6);
    EXPECT_NEAR(loss("mean_with_sample_weight").item<float>(), 0.3974999, 1e-6);
    Tensor none = loss("none");
    EXPECT_EQ(none.numel(), 3);
    expect_values(none, {0.11875, 0, 0.8749999});
  }
  // Scalar weight and no weight.
  EXPECT_NEAR(losses::MeanSquaredError()(yt, yp, scalar_tensor(2.0)).item<float>(), 2 * 0.2841666, 1e-6);
  EXPECT_NEAR(losses::MeanSquaredError()(yt, yp).item<float>(), 0.2841666, 1e-6);
  // All weights zero: mean_with_sample_weight is divide_no_nan.
  EXPECT_EQ(losses::MeanSquaredError({.reduction = "mean_with_sample_weight"})(yt, yp, t({0, 0, 0}, {3})).item<float>(),
            0.0f);
}

TEST(Losses, RankAlignmentOfTrailingOne) {
  // y_true (B,) against y_pred (B, 1): y_true is expanded, one squared error per sample.
  Tensor y = t({1, 2, 3}, {3}), p = t({1.5, 2, 2}, {3, 1});
  expect_values(losses::MeanSquaredError({.reduction = "none"})(y, p), {0.25, 0, 1});
  expect_values(losses::MeanSquaredError({.reduction = "none"})(t({1, 2, 3}, {3, 1}), t({1.5, 2, 2}, {3})),
                {0.25, 0, 1});
  EXPECT_NEAR(losses::MeanSquaredError()(y, p).item<float>(), 1.25 / 3, 1e-7);
  // BCE with (B, 1) predictions and (B,) labels.
  Tensor bce = losses::BinaryCrossentropy({.reduction = "none"})(t({1, 0}, {2}), t({0.9, 0.2}, {2, 1}));
  expect_values(bce, {-std::log(0.9f), -std::log(0.8f)});
}

TEST(Losses, ErrorsNameTheProblem) {
  using keel::testing::expect_error;
  expect_error<ValueError>([] { losses::MeanSquaredError({.reduction = "avg"}); },
                           {"reduction", "avg", "sum_over_batch_size", "mean_with_sample_weight"});
  expect_error<ValueError>([] { losses::get("huber_loss"); }, {"huber_loss", "huber", "binary_crossentropy"});
  expect_error<ValueError>([] { losses::get("logcosh"); }, {"logcosh", "log_cosh"});
  expect_error<ShapeError>(
      [] {
        losses::binary_crossentropy(t({1, 0, 1}, {3}), t({0.5, 0.5}, {2}));
      },
      {"binary_crossentropy", "(3,)", "(2,)"});
}

TEST(Losses, GetResolvesKerasIdentifiers) {
  auto mse = losses::get("mse");
  EXPECT_EQ(mse->name(), "mse");
  EXPECT_EQ(mse->class_name(), "MeanSquaredError");
  EXPECT_EQ(losses::get("MeanSquaredError")->name(), "mean_squared_error");
  EXPECT_EQ(losses::get("binary_crossentropy")->class_name(), "BinaryCrossentropy");
  EXPECT_EQ(losses::get("BCE")->class_name(), "BinaryCrossentropy");
  EXPECT_EQ(losses::get("kld")->class_name(), "KLDivergence");
  EXPECT_EQ(losses::get("Huber")->name(), "huber_loss");
  EXPECT_EQ(losses::get("huber")->name(), "huber");
  EXPECT_EQ(losses::get("sparse_categorical_crossentropy")->reduction(), "sum_over_batch_size");
}

TEST(Losses, LossArgForms) {
  LossArg none;
  EXPECT_TRUE(none.empty());
  LossArg s = "categorical_crossentropy";
  EXPECT_TRUE(s.is_string());
  EXPECT_EQ(s.resolve()->class_name(), "CategoricalCrossentropy");
  LossArg obj = losses::SparseCategoricalCrossentropy({.from_logits = true, .name = "xent"});
  EXPECT_FALSE(obj.is_string());
  EXPECT_EQ(obj.identifier(), "xent");
  auto resolved = std::dynamic_pointer_cast<losses::SparseCategoricalCrossentropy>(obj.resolve());
  ASSERT_TRUE(resolved);
  EXPECT_TRUE(resolved->options().from_logits);
  LossArg shared = std::shared_ptr<Loss>(std::make_shared<losses::Huber>());
  EXPECT_EQ(shared.identifier(), "huber_loss");
}

TEST(Losses, ConfigsFollowKeras) {
  nlohmann::json c = losses::BinaryCrossentropy({.label_smoothing = 0.1}).get_config();
  EXPECT_EQ(c["name"], "binary_crossentropy");
  EXPECT_EQ(c["reduction"], "sum_over_batch_size");
  EXPECT_EQ(c["from_logits"], false);
  EXPECT_DOUBLE_EQ(c["label_smoothing"].get<double>(), 0.1);
  EXPECT_EQ(c["axis"], -1);
  nlohmann::json s = losses::SparseCategoricalCrossentropy().get_config();
  EXPECT_TRUE(s["ignore_class"].is_null());
  EXPECT_EQ(losses::Huber({.delta = 2.0}).get_config()["delta"], 2.0);
}

// --- gradients w.r.t. y_pred by central finite differences (float32, h = 1e-3) ---

void expect_gradient(const Loss& loss, const Tensor& y_true, const Floats& pred, const Shape& shape,
                     const Tensor& sample_weight = Tensor()) {
  SCOPED_TRACE(loss.name());
  Tensor p = from_vector(pred, shape).requires_grad_();
  loss(y_true, p, sample_weight).backward();
  ASSERT_TRUE(p.grad().defined());
  const Floats grad = p.grad().to_vector<float>();
  const float h = 1e-3f;
  for (size_t i = 0; i < pred.size(); ++i) {
    Floats plus = pred, minus = pred;
    plus[i] += h;
    minus[i] -= h;
    const double lp = loss(y_true, from_vector(plus, shape), sample_weight).item<float>();
    const double lm = loss(y_true, from_vector(minus, shape), sample_weight).item<float>();
    const double fd = (lp - lm) / (2.0 * h);
    EXPECT_NEAR(grad[i], fd, 2e-3 * std::max(1.0, std::fabs(fd))) << "element " << i;
  }
}

TEST(Losses, GradientsMatchFiniteDifferences) {
  using namespace losses;
  Tensor yt = t(kYt, k34), yb = t(kYb, k34), yc = t(kYc, k34), w = t({0.5, 1.0, 2.0}, {3});
  Floats yt_nonzero = kYt;
  for (float& v : yt_nonzero) v += 0.5f;
  Floats shifted = kZb;  // away from the hinge's kink at 1 - y·ŷ = 0
  for (float& v : shifted) v = v * 1.1f + 0.03f;

  expect_gradient(MeanSquaredError(), yt, kYp, k34, w);
  expect_gradient(MeanAbsoluteError(), yt, kYp, k34);
  expect_gradient(MeanAbsolutePercentageError(), t(yt_nonzero, k34), kYp, k34);
  expect_gradient(MeanSquaredLogarithmicError(), yt, kYp, k34);
  expect_gradient(Huber(), yt, kYp, k34);
  expect_gradient(LogCosh(), yt, kYp, k34);
  expect_gradient(Poisson(), yt, kYp, k34);
  expect_gradient(CosineSimilarity(), yt, kYp, k34);
  expect_gradient(Hinge(), yb, shifted, k34);
  expect_gradient(SquaredHinge(), yb, shifted, k34);
  expect_gradient(CategoricalHinge(), yc, kZc, k34);
  expect_gradient(KLDivergence(), t(kPb, k34), kPc, k34);
  expect_gradient(BinaryCrossentropy(), yb, kPb, k34, w);
  expect_gradient(BinaryCrossentropy({.from_logits = true, .label_smoothing = 0.1}), yb, kZb, k34);
  expect_gradient(CategoricalCrossentropy(), yc, kPc, k34);
  expect_gradient(CategoricalCrossentropy({.from_logits = true, .label_smoothing = 0.2}), yc, kZc, k34);
  expect_gradient(SparseCategoricalCrossentropy(), from_vector(kCls, {3}), kPc, k34);
  expect_gradient(SparseCategoricalCrossentropy({.from_logits = true, .ignore_class = 0}), from_vector(kCls, {3}), kZc,
                  k34, w);
  expect_gradient(BinaryFocalCrossentropy({.apply_class_balancing = true}), yb, kPb, k34);
  expect_gradient(BinaryFocalCrossentropy({.from_logits = true}), yb, kZb, k34);
  expect_gradient(CategoricalFocalCrossentropy(), yc, kPc, k34);
  expect_gradient(CategoricalFocalCrossentropy({.from_logits = true}), yc, kZc, k34);
}

}  // namespace
}  // namespace keel
