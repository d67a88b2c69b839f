// Customising fit (Keras's guide "Customizing what happens in fit()"): a subclassed model with its own call,
// a train_step written with forward / compute_loss / gradients / optimizer().apply / compute_metrics that
// trains exactly as the default one, a compute_loss override the default step uses, a two-optimizer GAN step
// on data without targets with its own loss trackers, custom test and predict steps, and the refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "data/temp_dir.h"
#include "keel/keel.h"
#include "test_util.h"

namespace keel {
namespace {

// Keras's subclassed-model example: two Dense layers tracked as attributes.
class MLP : public SubclassedModel {
 public:
  MLP() : SubclassedModel("MLP") {
    hidden_ = add_layer(layers::Dense(8, "relu"), "hidden");
    out_ = add_layer(layers::Dense(1, "sigmoid"), "out");
  }
  std::vector<Tensor> call(const std::vector<Tensor>& x, const CallContext& ctx) override {
    return {out_(hidden_(x.at(0), ctx.training), ctx.training)};
  }

 private:
  LayerHandle hidden_, out_;
};

// The guide's CustomModel: the default step written out with the public pieces.
class HandWrittenStep : public MLP {
 protected:
  Logs train_step(const StepData& data) override {
    ++steps;
    const ForwardResult y_pred = forward(data.x, /*training=*/true);
    const Tensor loss = compute_loss(data, y_pred);
    const std::vector<Variable> vars = trainable_weights();
    optimizer().apply(gradients(loss, vars), vars);
    return compute_metrics(data, y_pred, loss);
  }

 public:
  int steps = 0;
};

struct Data {
  Tensor x, y;
};

Data blobs() {
  const Tensor x = random::normal({64, 4}, 0.0, 1.0, DType::f32, 17);
  const Tensor y = ops::cast(ops::greater(ops::sum(x, {1}, true), zeros({})), DType::f32);
  return {x, y};
}

Sequential reference_mlp() {
  return Sequential({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(1, "sigmoid")});
}

TEST(SubclassedModel, TrainsAsTheEquivalentSequentialModel) {
  random::set_seed(1);
  const Data d = blobs();
  Model mlp(std::make_shared<MLP>());
  mlp(d.x);  // builds the layers
  Sequential seq = reference_mlp();
  seq.set_weights(mlp.get_weights());
  for (const Model& m : {mlp, Model(seq)})
    m.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  const FitOptions options{.batch_size = 16, .epochs = 3, .verbose = 0, .shuffle = false};
  const History a = mlp.fit(d.x, d.y, options);
  const History b = seq.fit(d.x, d.y, options);
  for (const char* key : {"loss", "accuracy"})
    for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(a.history.at(key)[e], b.history.at(key)[e], 1e-6) << key << " " << e;
  EXPECT_EQ(mlp->layers().size(), 2u);
  EXPECT_EQ(mlp->count_params(), 4 * 8 + 8 + 8 + 1);
  const std::map<std::string, double> ra = mlp.evaluate(d.x, d.y, {.verbose = 0});
  const std::map<std::string, double> rb = seq.evaluate(d.x, d.y, {.verbose = 0});
  EXPECT_NEAR(ra.at("loss"), rb.at("loss"), 1e-6);
  const std::vector<float> pa = mlp.predict(d.x, {.verbose = 0}).to_vector<float>();
  const std::vector<float> pb = seq.predict(d.x, {.verbose = 0}).to_vector<float>();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_NEAR(pa[i], pb[i], 1e-6);
}

TEST(SubclassedModel, SavesWeightsButHasNoConfig) {
  random::set_seed(2);
  const Data d = blobs();
  Model mlp(std::make_shared<MLP>());
  mlp(d.x);
  testing::TempDir dir;
  const std::string weights = (dir.path() / "mlp.weights.h5").string();
  mlp.save_weights(weights);
  Model other(std::make_shared<MLP>());
  other(d.x);
  other.load_weights(weights);
  EXPECT_EQ(other.predict(d.x, {.verbose = 0}).to_vector<float>(), mlp.predict(d.x, {.verbose = 0}).to_vector<float>());
  const std::string model_file = (dir.path() / "mlp.keras").string();
  testing::expect_error<ValueError>([&] { mlp.save(model_file); }, "subclassed model", "save_weights");
  EXPECT_FALSE(std::filesystem::exists(model_file));
}

TEST(CustomTrainStep, HandWrittenDefaultStepTrainsExactlyAsTheDefault) {
  random::set_seed(3);
  const Data d = blobs();
  auto custom = std::make_shared<HandWrittenStep>();
  Model hand(custom);
  hand(d.x);
  Model plain(std::make_shared<MLP>());
  plain(d.x);
  plain.set_weights(hand.get_weights());
  for (const Model& m : {hand, plain})
    m.compile({.optimizer = "adam", .loss = "binary_crossentropy", .metrics = {"accuracy"}});
  const FitOptions options{.batch_size = 16, .epochs = 2, .verbose = 0, .shuffle = false};
  const History a = hand.fit(d.x, d.y, options);
  const History b = plain.fit(d.x, d.y, options);
  EXPECT_EQ(custom->steps, 8);
  for (const char* key : {"loss", "accuracy"})
    for (size_t e = 0; e < 2; ++e) EXPECT_NEAR(a.history.at(key)[e], b.history.at(key)[e], 1e-6) << key << " " << e;
  const std::vector<Tensor> wa = hand.get_weights(), wb = plain.get_weights();
  for (size_t i = 0; i < wa.size(); ++i) {
    const std::vector<float> x = wa[i].to_vector<float>(), y = wb[i].to_vector<float>();
    for (size_t j = 0; j < x.size(); ++j) EXPECT_NEAR(x[j], y[j], 1e-6);
  }
}

// compute_loss overridden: the default train and test steps use it (Keras's default steps call it).
class ShiftedLoss : public MLP {
 protected:
  Tensor compute_loss(const StepData& data, const ForwardResult& y_pred) override {
    return MLP::compute_loss(data, y_pred) + 1.0;
  }
};

TEST(CustomTrainStep, DefaultStepsUseAnOverriddenComputeLoss) {
  random::set_seed(4);
  const Data d = blobs();
  Model shifted(std::make_shared<ShiftedLoss>());
  shifted(d.x);
  Model plain(std::make_shared<MLP>());
  plain(d.x);
  plain.set_weights(shifted.get_weights());
  for (const Model& m : {shifted, plain}) m.compile({.optimizer = "sgd", .loss = "binary_crossentropy"});
  const FitOptions options{.batch_size = 64, .epochs = 2, .verbose = 0, .shuffle = false};
  const History a = shifted.fit(d.x, d.y, options);
  const History b = plain.fit(d.x, d.y, options);
  for (size_t e = 0; e < 2; ++e) EXPECT_NEAR(a.history.at("loss")[e], b.history.at("loss")[e] + 1.0, 1e-6);
  EXPECT_NEAR(shifted.evaluate(d.x, d.y, {.verbose = 0}).at("loss"),
              plain.evaluate(d.x, d.y, {.verbose = 0}).at("loss") + 1.0, 1e-6);
}

// The guide's GAN, small: a generator and a discriminator with their own optimizers, trained on real
// samples only (fit without targets), reporting its own loss trackers.
class GAN : public SubclassedModel {
 public:
  GAN() : SubclassedModel("GAN") {
    generator_ = add_layer(Sequential({layers::Input({2}), layers::Dense(8, "relu"), layers::Dense(2)}), "generator");
    discriminator_ =
        add_layer(Sequential({layers::Input({2}), layers::Dense(8, "relu"), layers::Dense(1)}), "discriminator");
    track_metric(d_tracker_);
    track_metric(g_tracker_);
  }
  std::vector<Tensor> call(const std::vector<Tensor>& x, const CallContext&) override { return {generator_(x.at(0))}; }
  std::vector<double> d_losses;  // per step, to check the trackers
  Model generator_, discriminator_;

 protected:
  Logs train_step(const StepData& data) override {
    const Tensor real = data.x.at(0);
    const int64_t n = real.shape()[0];
    const Tensor fake = generator_(random::normal({n, 2}));
    const Tensor images = ops::concatenate({fake, real}, 0);
    const Tensor labels = ops::concatenate({ones({n, 1}), zeros({n, 1})}, 0);
    const std::vector<Variable> d_vars = discriminator_->trainable_weights();
    const Tensor d_loss = loss_(labels, discriminator_(images));
    d_opt_->apply(gradients(d_loss, d_vars), d_vars);
    const std::vector<Variable> g_vars = generator_->trainable_weights();
    const Tensor g_loss = loss_(zeros({n, 1}), discriminator_(generator_(random::normal({n, 2}))));
    g_opt_->apply(gradients(g_loss, g_vars), g_vars);
    d_losses.push_back(d_loss.item<double>());
    d_tracker_->update_state(d_loss);
    g_tracker_->update_state(g_loss);
    return {{"d_loss", d_tracker_->result()}, {"g_loss", g_tracker_->result()}};
  }

 private:
  std::shared_ptr<optimizers::Adam> d_opt_ =
      std::make_shared<optimizers::Adam>(optimizers::AdamOptions{.learning_rate = 3e-3});
  std::shared_ptr<optimizers::Adam> g_opt_ =
      std::make_shared<optimizers::Adam>(optimizers::AdamOptions{.learning_rate = 3e-3});
  losses::BinaryCrossentropy loss_{{.from_logits = true}};
  std::shared_ptr<metrics::Mean> d_tracker_ = std::make_shared<metrics::Mean>(metrics::MeanOptions{.name = "d_loss"});
  std::shared_ptr<metrics::Mean> g_tracker_ = std::make_shared<metrics::Mean>(metrics::MeanOptions{.name = "g_loss"});
};

TEST(CustomTrainStep, GanTrainsWithItsOwnOptimizersAndTrackers) {
  random::set_seed(5);
  const Tensor real = random::normal({48, 2}, 2.0, 0.5, DType::f32, 6);
  auto gan = std::make_shared<GAN>();
  Model model(gan);
  model.compile();
  const std::vector<Tensor> g_before = gan->generator_.get_weights(), d_before = gan->discriminator_.get_weights();
  const History h = model.fit(real, {.batch_size = 16, .epochs = 2, .verbose = 0});
  ASSERT_EQ(h.history.count("d_loss"), 1u);
  ASSERT_EQ(h.history.count("g_loss"), 1u);
  EXPECT_EQ(h.history.count("loss"), 0u);
  ASSERT_EQ(gan->d_losses.size(), 6u);
  // Each epoch's value is the mean of that epoch's steps: the trackers were reset when the epoch began.
  for (size_t e = 0; e < 2; ++e)
    EXPECT_NEAR(h.history.at("d_loss")[e],
                (gan->d_losses[3 * e] + gan->d_losses[3 * e + 1] + gan->d_losses[3 * e + 2]) / 3.0, 1e-6);
  EXPECT_NE(gan->generator_.get_weights()[0].to_vector<float>(), g_before[0].to_vector<float>());
  EXPECT_NE(gan->discriminator_.get_weights()[0].to_vector<float>(), d_before[0].to_vector<float>());
  EXPECT_EQ(model->metrics().size(), 2u);
}

// evaluate with an overridden test_step reports what it returns; predict_step replaces the forward pass.
class MaeEvaluator : public MLP {
 protected:
  Logs test_step(const StepData& data) override {
    const Tensor p = forward(data.x, false).outputs.at(0);
    mae_->update_state(ops::mean(ops::abs(p - data.y.at(0)), {1}));
    return {{"mae", mae_->result()}};
  }
  std::vector<Tensor> predict_step(const StepData& data) override {
    return {ops::cast(ops::greater(forward(data.x, false).outputs.at(0), full({}, 0.5)), DType::f32)};
  }

 public:
  MaeEvaluator() { track_metric(mae_); }
  std::shared_ptr<metrics::Mean> mae_ = std::make_shared<metrics::Mean>();
};

TEST(CustomTestStep, EvaluateAndPredictUseTheOverrides) {
  random::set_seed(6);
  const Data d = blobs();
  Model model(std::make_shared<MaeEvaluator>());
  model.compile({.optimizer = "sgd", .loss = "binary_crossentropy"});
  const std::vector<float> p = model(d.x).to_vector<float>(), y = d.y.to_vector<float>();
  double mae = 0;
  for (size_t i = 0; i < p.size(); ++i) mae += std::abs(p[i] - y[i]);
  const std::map<std::string, double> r = model.evaluate(d.x, d.y, {.batch_size = 16, .verbose = 0});
  EXPECT_EQ(r.count("loss"), 0u);
  EXPECT_NEAR(r.at("mae"), mae / 64.0, 1e-6);
  const std::vector<float> labels = model.predict(d.x, {.verbose = 0}).to_vector<float>();
  for (size_t i = 0; i < p.size(); ++i) EXPECT_EQ(labels[i], p[i] > 0.5f ? 1.0f : 0.0f);
}

TEST(CustomTrainStep, Refusals) {
  random::set_seed(7);
  const Data d = blobs();
  Model plain(std::make_shared<MLP>());
  plain.compile({.optimizer = "sgd", .loss = "binary_crossentropy"});
  testing::expect_error<ValueError>([&] { plain.fit(d.x, {.verbose = 0}); }, "fit()", "no targets");
  testing::expect_error<ValueError>([&] { gradients(ones({2}), {}); }, "one element", "(2,)");
  distribute::OneDeviceStrategy strategy("/CPU:0");
  auto scope = strategy.scope();
  Model hand(std::make_shared<HandWrittenStep>());
  hand.compile({.optimizer = "sgd", .loss = "binary_crossentropy"});
  testing::expect_error<UnimplementedError>([&] { hand.fit(d.x, d.y, {.epochs = 1, .verbose = 0}); }, "train_step",
                                            "distribution strategy");
}

}  // namespace
}  // namespace keel
