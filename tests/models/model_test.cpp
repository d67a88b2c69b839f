// Sequential and functional models: building, layers, weights in Keras order, trainable flags honoured
// by fit, summary() text, config round trips and nesting (keras-reference §1).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "keel/core/naming.h"
#include "keel/keel.h"
#include "test_util.h"

namespace keel {
namespace {

TEST(Sequential, BuildsAsSoonAsTheInputShapeIsKnown) {
  Sequential model({layers::Input({4}), layers::Dense(5), layers::Dense(1)});
  EXPECT_TRUE(model->built());
  EXPECT_EQ(model.layers().size(), 2u);  // the InputLayer is not listed
  EXPECT_EQ(model.outputs()[0].shape, (Shape{kUnknownDim, 1}));
  EXPECT_EQ(model.count_params(), 4 * 5 + 5 + 5 + 1);
}

TEST(Sequential, AddPopAndBuild) {
  Sequential model;
  model.add(layers::Dense(3));
  model.add(layers::Dense(2));
  EXPECT_FALSE(model->built());
  testing::expect_error<ValueError>([&] { model.inputs(); }, "no defined input shape");
  model.build({kUnknownDim, 4});
  EXPECT_TRUE(model->built());
  EXPECT_EQ(model.count_params(), 4 * 3 + 3 + 3 * 2 + 2);
  model.pop();
  EXPECT_EQ(model.layers().size(), 1u);
  EXPECT_EQ(model.outputs()[0].shape, (Shape{kUnknownDim, 3}));
  EXPECT_EQ(model.weights().size(), 2u);
  model.pop();
  testing::expect_error<ValueError>([&] { model.pop(); }, "no layers");
}

TEST(Sequential, RejectsDuplicateNamesAndASecondInput) {
  Sequential model({layers::Input({4}), layers::Dense(2, {.name = "d"})});
  testing::expect_error<ValueError>([&] { model.add(layers::Dense(2, {.name = "d"})); }, "unique", "\"d\"");
  testing::expect_error<ValueError>([&] { model.add(layers::Input({4})); }, "Input");
}

TEST(Sequential, WeightsFollowKerasOrderAndSetWeightsChecksCountAndShapes) {
  naming::reset_names();
  Sequential model({layers::Input({3}), layers::Dense(2), layers::BatchNormalization(), layers::Dense(1)});
  std::vector<std::string> paths;
  for (const auto& v : model.weights()) paths.push_back(v.path());
  EXPECT_EQ(paths, (std::vector<std::string>{"sequential/dense/kernel", "sequential/dense/bias",
                                             "sequential/batch_normalization/gamma",
                                             "sequential/batch_normalization/beta",
                                             "sequential/batch_normalization/moving_mean",
                                             "sequential/batch_normalization/moving_variance",
                                             "sequential/dense_1/kernel", "sequential/dense_1/bias"}));
  EXPECT_EQ(model.trainable_weights().size(), 6u);
  EXPECT_EQ(model.non_trainable_weights().size(), 2u);
  auto w = model.get_weights();
  w[0] = ones({3, 2});
  model.set_weights(w);
  EXPECT_EQ(model.get_weights()[0].to_vector<float>(), std::vector<float>(6, 1.0f));
  w.pop_back();
  testing::expect_error<ValueError>([&] { model.set_weights(w); }, "7", "8");
  w.push_back(ones({2}));
  testing::expect_error<ShapeError>([&] { model.set_weights(w); }, "(1,)", "(2,)");
}

TEST(Sequential, FrozenLayersAreNotTrainedByFit) {
  random::set_seed(1);
  auto first = layers::Dense(4, "relu");
  Sequential model({layers::Input({3}), first, layers::Dense(1)});
  first->set_trainable(false);
  model.compile({.optimizer = optimizers::SGD({.learning_rate = 0.1}), .loss = "mse"});
  Tensor before_frozen = first->kernel().value().clone();
  Tensor before_head = model.get_weights()[2].clone();
  model.fit(random::normal({16, 3}), random::normal({16, 1}), {.epochs = 2, .verbose = 0});
  EXPECT_EQ(first->kernel().value().to_vector<float>(), before_frozen.to_vector<float>());
  EXPECT_NE(model.get_weights()[2].to_vector<float>(), before_head.to_vector<float>());
  EXPECT_EQ(model.trainable_weights().size(), 2u);
}

TEST(Sequential, SummaryPrintsKerasTable) {
  naming::reset_names();
  Sequential model({layers::Input({1}), layers::Dense(5), layers::Dense(1)});
  std::ostringstream os;
  model.summary(os);
  const std::string expected =
      "Model: \"sequential\"\n"
      "┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓\n"
      "┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃\n"
      "┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩\n"
      "│ dense (Dense)                   │ (None, 5)              │            10 │\n"
      "├─────────────────────────────────┼────────────────────────┼───────────────┤\n"
      "│ dense_1 (Dense)                 │ (None, 1)              │             6 │\n"
      "└─────────────────────────────────┴────────────────────────┴───────────────┘\n"
      " Total params: 16 (64.00 B)\n"
      " Trainable params: 16 (64.00 B)\n"
      " Non-trainable params: 0 (0.00 B)\n";
  EXPECT_EQ(os.str(), expected);
}

TEST(Sequential, SummaryCountsOptimizerVariablesOnceBuilt) {
  naming::reset_names();
  Sequential model({layers::Input({1}), layers::Dense(5), layers::Dense(1)});
  model.compile({.optimizer = "adam", .loss = "mse"});
  model.fit(zeros({4, 1}), zeros({4, 1}), {.epochs = 1, .verbose = 0});
  std::ostringstream os;
  model.summary(os);
  // Adam: iteration + learning_rate + 2 slots per trainable parameter = 2 + 32.
  EXPECT_NE(os.str().find(" Total params: 50 ("), std::string::npos) << os.str();
  EXPECT_NE(os.str().find(" Optimizer params: 34 ("), std::string::npos) << os.str();
}

TEST(Functional, ListsInputLayersAndRunsTheGraph) {
  naming::reset_names();
  auto in = layers::Input({4});
  auto h = layers::Dense(3, "relu")(in);
  auto out = layers::Dense(1)(h);
  Model model(in, out);
  EXPECT_EQ(model.name(), "functional");
  ASSERT_EQ(model.layers().size(), 3u);
  EXPECT_EQ(model.layers()[0]->class_name(), "InputLayer");
  Tensor x = random::normal({5, 4});
  Tensor y = model.predict(x, {.verbose = 0});
  // Same as calling the layers by hand.
  Tensor manual = (*model.layers()[2])((*model.layers()[1])(x));
  EXPECT_EQ(y.to_vector<float>(), manual.to_vector<float>());
  testing::expect_error<ShapeError>([&] { model.predict(zeros({2, 5}), {.verbose = 0}); }, "(None, 4)", "(2, 5)");
}

TEST(Functional, SharedLayersShareWeightsAndDisconnectedGraphsAreRejected) {
  auto a = layers::Input({4});
  auto b = layers::Input({4});
  auto shared = layers::Dense(2);
  auto sum = layers::Add()({shared(a), shared(b)});
  Model model({a, b}, {sum});
  EXPECT_EQ(model.weights().size(), 2u);
  testing::expect_error<ValueError>([&] { Model bad(a, sum); }, "disconnected");
}

TEST(Functional, NonChainSummaryHasConnectedToColumn) {
  naming::reset_names();
  auto a = layers::Input({4}, {.name = "a"});
  auto b = layers::Input({4}, {.name = "b"});
  auto sum = layers::Add()({layers::Dense(2)(a), layers::Dense(2)(b)});
  Model model({a, b}, {sum});
  std::ostringstream os;
  model.summary(os);
  EXPECT_NE(os.str().find("Connected to"), std::string::npos);
  EXPECT_NE(os.str().find("dense[0][0], dense_1[0][0]"), std::string::npos) << os.str();
}

TEST(Models, NestedSequentialInsideFunctionalTrains) {
  random::set_seed(2);
  Sequential block({layers::Input({3}), layers::Dense(4, "relu")});
  auto in = layers::Input({3});
  auto out = layers::Dense(1)(block(in));
  Model model(in, out);
  EXPECT_EQ(model.weights().size(), 4u);
  model.compile({.optimizer = "adam", .loss = "mse"});
  History h = model.fit(random::normal({32, 3}), random::normal({32, 1}), {.epochs = 3, .verbose = 0});
  EXPECT_EQ(h.history.at("loss").size(), 3u);
}

TEST(Models, SequentialConfigRoundTripRebuildsAnEquivalentModel) {
  Sequential model({layers::Input({6}), layers::Dense(4, "relu"), layers::Dropout(0.3), layers::Dense(2, "softmax")});
  nlohmann::json serialized = layers::serialize(model);
  LayerHandle copy = layers::deserialize(serialized);
  EXPECT_EQ(layers::serialize(copy).dump(), serialized.dump());
  copy->set_weights(model.get_weights());
  Tensor x = random::normal({3, 6});
  EXPECT_EQ((*copy)(x).to_vector<float>(), model.predict(x, {.verbose = 0}).to_vector<float>());
}

}  // namespace
}  // namespace keel
