// Optimizers by identifier (compile's strings), OptimizerArg, and config (de)serialisation.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "optimizers/optimizer_test_util.h"

namespace keel::optimizers {
namespace {

TEST(Registry, IdentifiersAreCaseInsensitiveClassNames) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sgd", "SGD"},         {"adam", "Adam"},         {"adamw", "AdamW"},     {"rmsprop", "RMSprop"},
      {"adagrad", "Adagrad"}, {"adadelta", "Adadelta"}, {"adamax", "Adamax"},   {"nadam", "Nadam"},
      {"lion", "Lion"},       {"Adam", "Adam"},         {"RMSprop", "RMSprop"}, {"SGD", "SGD"},
      {"ADAMW", "AdamW"}};
  for (const auto& [identifier, class_name] : cases) {
    const auto opt = get(identifier);
    ASSERT_NE(opt, nullptr) << identifier;
    EXPECT_EQ(opt->class_name(), class_name) << identifier;
  }
  EXPECT_NEAR(get("sgd")->learning_rate(), 0.01, 1e-9);
  EXPECT_NE(std::dynamic_pointer_cast<AdamW>(get("adamw")), nullptr);
  // A saved config comes back with its own options.
  const auto lion = deserialize(serialize(Lion({.beta_1 = 0.95, .beta_2 = 0.98})));
  EXPECT_EQ(lion->get_config().at("beta_1"), 0.95);
  EXPECT_EQ(lion->get_config().at("beta_2"), 0.98);
}

TEST(Registry, UnknownIdentifierListsTheValidNames) {
  try {
    get("adamm");
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'adamm'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'rmsprop'"), std::string::npos) << msg;
  }
}

TEST(Registry, OptimizerArg) {
  const OptimizerArg by_name = "Nadam";
  EXPECT_EQ(by_name.resolve()->class_name(), "Nadam");
  const OptimizerArg by_value = SGD({.learning_rate = 0.5});
  EXPECT_NEAR(by_value.resolve()->learning_rate(), 0.5, 1e-7);
  EXPECT_EQ(by_value.resolve(), by_value.resolve());  // one optimizer, shared
  auto shared = std::make_shared<Adam>();
  EXPECT_EQ(OptimizerArg(shared).resolve(), shared);
  EXPECT_THROW(OptimizerArg("nope").resolve(), ValueError);
  EXPECT_THROW(OptimizerArg(std::shared_ptr<Optimizer>()), ValueError);
}

TEST(Registry, SerializeRoundTrip) {
  Nadam original({.learning_rate =
                      schedules::ExponentialDecay({.initial_learning_rate = 0.1, .decay_steps = 1, .decay_rate = 0.5}),
                  .beta_1 = 0.8,
                  .clipvalue = 0.4,
                  .name = "my_nadam"});
  const nlohmann::json s = serialize(original);
  EXPECT_EQ(s.at("class_name"), "Nadam");
  EXPECT_EQ(s.at("module"), "keras.optimizers");
  const auto copy = deserialize(s);
  EXPECT_EQ(copy->class_name(), "Nadam");
  EXPECT_EQ(copy->name(), "my_nadam");
  EXPECT_EQ(copy->get_config(), original.get_config());
  // Same config, same training.
  testing::expect_values(testing::run_steps(*copy), testing::run_steps(original), 0.0);
}

TEST(Registry, DeserializeKerasConfig) {
  // The config Keras 3 writes for SGD(learning_rate=0.05, momentum=0.9).
  const nlohmann::json keras = nlohmann::json::parse(R"({
    "module": "keras.optimizers", "class_name": "SGD", "registered_name": null,
    "config": {"name": "SGD", "learning_rate": 0.05000000074505806, "weight_decay": null, "clipnorm": null,
               "global_clipnorm": null, "clipvalue": null, "use_ema": false, "ema_momentum": 0.99,
               "ema_overwrite_frequency": null, "loss_scale_factor": null, "gradient_accumulation_steps": null,
               "momentum": 0.9, "nesterov": false}})");
  const auto opt = deserialize(keras);
  const auto* sgd = dynamic_cast<const SGD*>(opt.get());
  ASSERT_NE(sgd, nullptr);
  EXPECT_EQ(sgd->momentum(), 0.9);
  EXPECT_NEAR(sgd->learning_rate(), 0.05, 1e-8);
  nlohmann::json accumulating = keras;
  accumulating["config"]["gradient_accumulation_steps"] = 4;
  EXPECT_THROW(deserialize(accumulating), UnimplementedError);
}

}  // namespace
}  // namespace keel::optimizers
