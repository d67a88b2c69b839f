// Regularizers, constraints and added losses in layers and in training, as Keras does them: weight penalties and
// activity penalties (divided by the batch size) join the loss that is differentiated, logged and evaluated;
// constraints project the weights after each update; the losses of a call replace the last call's. Training is
// checked against the same steps derived by hand and computed here in double precision, both op by op and
// replayed from a compiled step.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

#include "keel/keel.h"
#include "test_util.h"

namespace keel {
namespace {

double value_of(const Tensor& t) { return t.astype(DType::f64).item<double>(); }

double total(const std::vector<Tensor>& losses) {
  double s = 0;
  for (const Tensor& l : losses) s += value_of(ops::sum(l));
  return s;
}

TEST(LayerLosses, KernelRegularizerGivesKerasDocstringValue) {
  // keras.regularizers' docstring: Dense(5, kernel_initializer='ones', kernel_regularizer=L2(0.5)) -> 12.5.
  layers::Dense dense(5, {.kernel_initializer = "ones", .kernel_regularizer = regularizers::L2(0.5)});
  dense(ones({5, 5}));
  const std::vector<Tensor> losses = dense->losses();
  ASSERT_EQ(losses.size(), 1u);
  EXPECT_NEAR(value_of(losses[0]), 12.5, 1e-6);
}

TEST(LayerLosses, ActivityPenaltyIsDividedByTheBatchSize) {
  layers::Dense dense(3, {.kernel_initializer = initializers::RandomNormal({.seed = 3}),
                          .activity_regularizer = regularizers::L1(0.05)});
  const Tensor x = random::normal({4, 2}, 0.0, 1.0, DType::f32, 11);
  const std::vector<double> y = dense(x).astype(DType::f64).to_vector<double>();
  double sum_abs = 0;
  for (double v : y) sum_abs += std::abs(v);
  const std::vector<Tensor> losses = dense->losses();
  ASSERT_EQ(losses.size(), 1u);
  EXPECT_NEAR(value_of(losses[0]), 0.05 * sum_abs / 4, 1e-6);
}

TEST(LayerLosses, EachOutermostCallStartsAfresh) {
  layers::Dense dense(2, {.activity_regularizer = regularizers::L2(0.1)});
  dense(ones({3, 4}));
  dense(ones({5, 4}));
  EXPECT_EQ(dense->losses().size(), 1u);  // the last call's only

  // A layer called twice inside one forward pass adds a loss per call, as Keras's entry layer keeps them.
  layers::Dense shared(2, {.activity_regularizer = regularizers::L2(0.1)});
  SymbolicTensor a = layers::Input({4}), b = layers::Input({4});
  Model model({a, b}, {layers::Add()({shared(a), shared(b)})});
  model({ones({3, 4}), ones({3, 4}) * 2.0});
  EXPECT_EQ(model->losses().size(), 2u);
  model({ones({3, 4}), ones({3, 4})});
  EXPECT_EQ(model->losses().size(), 2u);
}

TEST(LayerLosses, AddLossFromACustomLayer) {
  class Penalised : public UnaryLayer {
   public:
    Penalised() : UnaryLayer("Penalised") {}
    Tensor call(const Tensor& x, const CallContext&) override {
      add_loss(ops::mean(ops::square(x)) * 3.0);
      return x;
    }
    Shape compute_output_shape(const Shape& s) const override { return s; }
  };
  Sequential model({layers::Input({2}), make_layer<Penalised>(), layers::Dense(1, {.kernel_initializer = "ones"})});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.0}), .loss = "mse"});
  const Tensor x = from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  const Tensor y = from_vector(std::vector<float>{0, 0}, {2, 1});
  // mse of x·1 = (3, 7) against 0 is 29; the added loss is 3 · mean(x²) = 22.5.
  EXPECT_NEAR(model.evaluate(x, y, {.verbose = 0}).at("loss"), 29.0 + 22.5, 1e-4);
  EXPECT_NEAR(total(model->losses()), 22.5, 1e-5);
}

// A linear model y = x·w (no bias) trained with SGD on full batches, derived by hand:
//   loss = mean_i (x_i·w − y_i)² + l2 · Σ w² + a2 · Σ_i (x_i·w)² / N
//   grad = 2/N Σ_i (x_i·w − y_i) x_i + 2 l2 w + 2 a2 / N Σ_i (x_i·w) x_i
//   w ← w − lr · grad, then w ← max(w, 0) when `non_neg`.
struct HandRun {
  std::vector<double> losses;
  std::vector<double> w;
};
HandRun by_hand(const std::vector<std::vector<double>>& x, const std::vector<double>& y, std::vector<double> w,
                double l2, double a2, bool non_neg, double lr, int steps) {
  HandRun r;
  const double n = static_cast<double>(x.size());
  for (int s = 0; s < steps; ++s) {
    double loss = 0;
    std::vector<double> grad(w.size(), 0.0);
    for (size_t i = 0; i < x.size(); ++i) {
      double p = 0;
      for (size_t k = 0; k < w.size(); ++k) p += x[i][k] * w[k];
      loss += (p - y[i]) * (p - y[i]) / n + a2 * p * p / n;
      for (size_t k = 0; k < w.size(); ++k) grad[k] += 2 / n * (p - y[i]) * x[i][k] + 2 * a2 / n * p * x[i][k];
    }
    for (size_t k = 0; k < w.size(); ++k) {
      loss += l2 * w[k] * w[k];
      grad[k] += 2 * l2 * w[k];
    }
    r.losses.push_back(loss);
    for (size_t k = 0; k < w.size(); ++k) {
      w[k] -= lr * grad[k];
      if (non_neg) w[k] = std::max(w[k], 0.0);
    }
  }
  r.w = w;
  return r;
}

void expect_fit_matches_hand(double l2, double a2, bool non_neg) {
  const std::vector<std::vector<double>> xs = {{1.0, 0.5}, {-0.5, 2.0}, {1.5, -1.0}, {0.25, 0.75}};
  std::vector<double> ys;
  for (const auto& r : xs) ys.push_back(0.8 * r[0] - 1.2 * r[1]);  // pulls the second weight below zero
  std::vector<float> flat;
  for (const auto& r : xs) flat.insert(flat.end(), r.begin(), r.end());
  const Tensor x = from_vector(flat, {4, 2});
  const Tensor y = from_vector(std::vector<float>(ys.begin(), ys.end()), {4, 1});
  const int epochs = 5;
  const HandRun want = by_hand(xs, ys, {0.5, 0.5}, l2, a2, non_neg, 0.1, epochs);
  for (bool eager : {true, false}) {
    SCOPED_TRACE(eager ? "run_eagerly" : "compiled");
    layers::DenseOptions o{.use_bias = false, .kernel_initializer = initializers::Constant(0.5)};
    if (l2 > 0) o.kernel_regularizer = regularizers::L2(l2);
    if (a2 > 0) o.activity_regularizer = regularizers::L2(a2);
    if (non_neg) o.kernel_constraint = constraints::NonNeg();
    Sequential model({layers::Input({2}), layers::Dense(1, o)});
    model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.1}), .loss = "mse", .run_eagerly = eager});
    const History h = model.fit(x, y, {.batch_size = 4, .epochs = epochs, .verbose = 0, .shuffle = false});
    const std::vector<double>& losses = h.history.at("loss");
    ASSERT_EQ(losses.size(), want.losses.size());
    for (int e = 0; e < epochs; ++e) EXPECT_NEAR(losses[e], want.losses[e], 2e-6 * std::max(1.0, want.losses[e])) << e;
    const std::vector<double> w = model.get_weights()[0].astype(DType::f64).to_vector<double>();
    EXPECT_NEAR(w[0], want.w[0], 2e-6);
    EXPECT_NEAR(w[1], want.w[1], 2e-6);
    if (!eager) {
      EXPECT_GE(model->train_step_stats().replayed, 1) << model->train_step_stats().not_compiled_because;
    }
  }
  if (non_neg) {
    EXPECT_EQ(want.w[1], 0.0) << "the data should push the second weight onto the constraint";
  }
}

TEST(TrainingWithRegularizers, KernelL2MatchesHandDerivedSgd) { expect_fit_matches_hand(0.05, 0.0, false); }
TEST(TrainingWithRegularizers, ActivityL2MatchesHandDerivedSgd) { expect_fit_matches_hand(0.0, 0.2, false); }
TEST(TrainingWithRegularizers, NonNegConstraintMatchesHandDerivedSgd) { expect_fit_matches_hand(0.05, 0.2, true); }

TEST(TrainingWithRegularizers, EvaluateIncludesThePenalty) {
  Sequential model({layers::Input({2}), layers::Dense(1, {.use_bias = false,
                                                          .kernel_initializer = initializers::Constant(0.5),
                                                          .kernel_regularizer = regularizers::L1(0.25)})});
  model.compile({.optimizer = "sgd", .loss = "mse"});
  const Tensor x = from_vector(std::vector<float>{1, 1, 2, 0}, {2, 2});
  const Tensor y = from_vector(std::vector<float>{1, 0}, {2, 1});
  // predictions (1, 1): mse 0.5; penalty 0.25 · (0.5 + 0.5).
  EXPECT_NEAR(model.evaluate(x, y, {.verbose = 0}).at("loss"), 0.5 + 0.25, 1e-6);
}

TEST(TrainingWithRegularizers, MaxNormHoldsAfterEveryUpdate) {
  Sequential model(
      {layers::Input({6}), layers::Dense(4, {.kernel_constraint = constraints::MaxNorm({.max_value = 0.3})})});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.5}), .loss = "mse"});
  const Tensor x = random::normal({32, 6}, 0.0, 1.0, DType::f32, 5);
  const Tensor y = random::normal({32, 4}, 0.0, 3.0, DType::f32, 6);
  model.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0});
  const Tensor kernel = model.get_weights()[0];
  for (double n : ops::sqrt(ops::sum(ops::square(kernel), {0})).astype(DType::f64).to_vector<double>())
    EXPECT_LE(n, 0.3 + 1e-6);
}

TEST(RegularizerConfigs, DenseAndConvRoundTripThroughSerialize) {
  layers::Dense dense(3, {.kernel_regularizer = regularizers::L1L2({.l1 = 0.01, .l2 = 0.02}),
                          .bias_regularizer = "l2",
                          .activity_regularizer = regularizers::L1(0.003),
                          .kernel_constraint = constraints::MaxNorm({.max_value = 3.0}),
                          .bias_constraint = "non_neg"});
  const nlohmann::json config = dense->get_config();
  EXPECT_EQ(config.at("kernel_regularizer").at("class_name"), "L1L2");
  EXPECT_EQ(config.at("bias_regularizer").at("config"), nlohmann::json::parse(R"({"l2": 0.01})"));
  EXPECT_EQ(config.at("activity_regularizer").at("config"), nlohmann::json::parse(R"({"l1": 0.003})"));
  EXPECT_EQ(config.at("kernel_constraint").at("config"), nlohmann::json::parse(R"({"max_value": 3.0, "axis": 0})"));
  EXPECT_EQ(config.at("bias_constraint").at("class_name"), "NonNeg");
  LayerHandle copy = layers::deserialize(layers::serialize(dense));
  EXPECT_EQ(copy->get_config(), config);
  EXPECT_EQ(copy->activity_regularizer().class_name(), "L1");

  layers::Conv2D conv(2, {3, 3},
                      {.kernel_regularizer = "l2",
                       .activity_regularizer = "l1",
                       .kernel_constraint = constraints::MaxNorm({.axis = {0, 1, 2}})});
  const nlohmann::json conv_config = conv->get_config();
  EXPECT_EQ(layers::deserialize(layers::serialize(conv))->get_config(), conv_config);
  EXPECT_EQ(conv_config.at("kernel_constraint").at("config").at("axis"), nlohmann::json::parse("[0, 1, 2]"));
  // The rebuilt layer penalises what the original does.
  LayerHandle conv_copy = layers::deserialize(layers::serialize(conv));
  conv(ones({1, 5, 5, 1}));
  conv_copy(ones({1, 5, 5, 1}));  // builds it
  conv_copy->set_weights(conv->get_weights());
  conv_copy(ones({1, 5, 5, 1}));
  EXPECT_NEAR(total(conv_copy->losses()), total(conv->losses()), 1e-6);
  EXPECT_EQ(conv->losses().size(), 2u);  // the kernel's and the activity's
}

TEST(RegularizerConfigs, KerasWrittenConfigLoads) {
  // The Dense config Keras 3 writes for Dense(4, kernel_regularizer=L2(1e-4), kernel_constraint=MaxNorm(2)).
  LayerHandle dense = layers::deserialize(nlohmann::json::parse(R"({
    "module": "keras.layers", "class_name": "Dense", "registered_name": null,
    "config": {"name": "dense", "trainable": true,
               "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
               "units": 4, "activation": "linear", "use_bias": true,
               "kernel_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null},
               "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
               "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.0001}, "registered_name": null},
               "bias_regularizer": null,
               "kernel_constraint": {"module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}, "registered_name": null},
               "bias_constraint": null, "quantization_config": null}})"));
  dense(ones({1, 3}));
  const std::vector<Tensor> losses = dense->losses();
  ASSERT_EQ(losses.size(), 1u);
  EXPECT_NEAR(value_of(losses[0]), 1e-4 * 12, 1e-9);
  EXPECT_TRUE(dense->weights()[0].constraint());
}

// MultiHeadAttention passes its penalties to the four projections (Keras's EinsumDense layers): every kernel
// and bias is penalised and constrained; a Keras config with them loads.
TEST(RegularizerConfigs, MultiHeadAttentionPenalisesEveryProjection) {
  LayerHandle mha = layers::deserialize(nlohmann::json::parse(R"({"class_name": "MultiHeadAttention", "config": {
      "name": "mha", "num_heads": 2, "key_dim": 3,
      "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.1}},
      "bias_regularizer": {"class_name": "L1", "config": {"l1": 0.2}},
      "kernel_constraint": {"class_name": "NonNeg", "config": {}}}})"));
  const Tensor q = random::normal({2, 3, 4}, 0.0, 1.0, DType::f32, 3);
  mha(std::vector<Tensor>{q, q});
  double expected = 0;
  int kernels = 0;
  for (const Variable& v : mha->trainable_weights()) {
    const std::vector<float> w = v.value().to_vector<float>();
    const bool kernel = v.name() == "kernel";
    kernels += kernel;
    for (float x : w) expected += kernel ? 0.1 * x * x : 0.2 * std::abs(x);
    if (kernel) {
      EXPECT_TRUE(v.constraint());
    }
  }
  EXPECT_EQ(kernels, 4);
  double total = 0;
  for (const Tensor& l : mha->losses()) total += value_of(l);
  EXPECT_NEAR(total, expected, 1e-5 * (1 + expected));
  EXPECT_EQ(mha->get_config().at("kernel_regularizer").at("class_name"), "L2");
}

TEST(RegularizerConfigs, UnsupportedPenaltiesAreRefusedNotIgnored) {
  // Loading them silently would train a different model.
  testing::expect_error<UnimplementedError>(
      [] {
        layers::deserialize(nlohmann::json::parse(R"({"class_name": "Flatten", "config": {"name": "f",
            "kernel_constraint": {"class_name": "NonNeg", "config": {}}}})"));
      },
      "Layer 'f' (Flatten)", "`kernel_constraint`");
  // A regularizer Keel does not know names the layer and the key.
  testing::expect_error<ValueError>(
      [] {
        layers::deserialize(nlohmann::json::parse(R"({"class_name": "Dense", "config": {"name": "d1", "units": 2,
            "kernel_regularizer": {"class_name": "MyRegularizer", "config": {}}}})"));
      },
      "Layer 'd1'", "`kernel_regularizer`", "'MyRegularizer'");
  testing::expect_error<ValueError>(
      [] {
        layers::deserialize(nlohmann::json::parse(R"({"class_name": "Flatten", "config": {"name": "f",
            "activity_regularizer": "l3"}})"));
      },
      "Layer 'f' (Flatten)", "`activity_regularizer`", "'l3'");
}

double l2_of(const Tensor& w, double factor) { return factor * value_of(ops::sum(ops::square(w))); }

TEST(RecurrentAndNormalizationPenalties, EachWeightHasItsOwn) {
  layers::LSTM lstm(3, {.kernel_regularizer = regularizers::L2(0.1),
                        .recurrent_regularizer = regularizers::L2(0.2),
                        .bias_regularizer = regularizers::L2(0.3),
                        .activity_regularizer = regularizers::L2(0.4),
                        .recurrent_constraint = constraints::MaxNorm({.max_value = 0.5})});
  const Tensor seq = random::normal({2, 5, 4}, 0.0, 1.0, DType::f32, 9);
  const Tensor h = lstm(seq);
  const std::vector<Variable> w = lstm->weights();  // kernel, recurrent_kernel, bias
  ASSERT_EQ(w.size(), 3u);
  const std::vector<Tensor> losses = lstm->losses();
  ASSERT_EQ(losses.size(), 4u);  // the activity penalty (added by the call), then the weights' in order
  EXPECT_NEAR(value_of(losses[0]), 0.4 * value_of(ops::sum(ops::square(h))) / 2, 1e-6);
  EXPECT_NEAR(value_of(losses[1]), l2_of(w[0].value(), 0.1), 1e-6);
  EXPECT_NEAR(value_of(losses[2]), l2_of(w[1].value(), 0.2), 1e-6);
  EXPECT_NEAR(value_of(losses[3]), l2_of(w[2].value(), 0.3), 1e-6);
  EXPECT_TRUE(w[1].constraint());
  EXPECT_FALSE(w[0].constraint());
  const nlohmann::json config = lstm->get_config();
  EXPECT_EQ(config.at("recurrent_regularizer").at("config"), nlohmann::json::parse(R"({"l2": 0.2})"));
  EXPECT_EQ(config.at("activity_regularizer").at("config"), nlohmann::json::parse(R"({"l2": 0.4})"));
  EXPECT_EQ(config.at("recurrent_constraint").at("class_name"), "MaxNorm");
  EXPECT_EQ(layers::deserialize(layers::serialize(lstm))->get_config(), config);

  layers::BatchNormalization bn(
      {.beta_regularizer = regularizers::L1(0.5), .gamma_regularizer = "l2", .beta_constraint = constraints::NonNeg()});
  bn(ones({4, 3}));
  const std::vector<Tensor> bn_losses = bn->losses();
  ASSERT_EQ(bn_losses.size(), 2u);  // gamma (ones): 0.01 · 3; beta (zeros): 0
  EXPECT_NEAR(value_of(bn_losses[0]), 0.03, 1e-7);
  EXPECT_NEAR(value_of(bn_losses[1]), 0.0, 1e-7);
  EXPECT_EQ(layers::deserialize(layers::serialize(bn))->get_config(), bn->get_config());
  layers::LayerNormalization ln({.gamma_regularizer = regularizers::L1(0.25)});
  ln(ones({2, 4}));
  EXPECT_NEAR(total(ln->losses()), 0.25 * 4, 1e-6);
  EXPECT_EQ(layers::deserialize(layers::serialize(ln))->get_config(), ln->get_config());
}

TEST(RecurrentAndNormalizationPenalties, RecurrentConstraintHoldsAfterTraining) {
  Sequential model({layers::Input({5, 4}),
                    layers::GRU(3, {.recurrent_regularizer = regularizers::L2(1e-3),
                                    .recurrent_constraint = constraints::MaxNorm({.max_value = 0.2})}),
                    layers::Dense(1)});
  model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.5}), .loss = "mse"});
  model.fit(random::normal({16, 5, 4}, 0.0, 1.0, DType::f32, 2), random::normal({16, 1}, 0.0, 2.0, DType::f32, 3),
            {.batch_size = 8, .epochs = 2, .verbose = 0});
  const Tensor recurrent = model.get_weights()[1];
  for (double n : ops::sqrt(ops::sum(ops::square(recurrent), {0})).astype(DType::f64).to_vector<double>())
    EXPECT_LE(n, 0.2 + 1e-6);
}

TEST(ActivityRegularizationLayer, PenaltyConfigAndRoundTrip) {
  layers::ActivityRegularization reg({.l1 = 0.1, .l2 = 0.2});
  const Tensor x = from_vector(std::vector<float>{1, -2, 3, -4}, {2, 2});
  const Tensor y = reg(x);
  EXPECT_EQ(y.to_vector<float>(), x.to_vector<float>());
  // (0.1 · 10 + 0.2 · 30) / batch 2.
  EXPECT_NEAR(total(reg->losses()), (0.1 * 10 + 0.2 * 30) / 2, 1e-6);
  const nlohmann::json config = reg->get_config();
  EXPECT_FALSE(config.contains("activity_regularizer"));
  EXPECT_EQ(config.at("l1"), 0.1);
  EXPECT_EQ(config.at("l2"), 0.2);
  LayerHandle copy = layers::deserialize(layers::serialize(reg));
  copy(x);
  EXPECT_NEAR(total(copy->losses()), (0.1 * 10 + 0.2 * 30) / 2, 1e-6);
}

}  // namespace
}  // namespace keel
