// losses::from_config: every class it knows rebuilds itself from its own config, takes Keras's config keys
// and defaults, and unknown classes give nullptr.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "keel/losses/losses.h"

namespace keel {
namespace {

TEST(LossFromConfig, EveryClassRoundTripsItsConfig) {
  const auto names = losses::config_class_names();
  ASSERT_GE(names.size(), 17u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    auto loss = losses::from_config(name, nlohmann::json::object());  // Keras's defaults
    ASSERT_NE(loss, nullptr);
    EXPECT_EQ(loss->class_name(), name);
    auto again = losses::from_config(name, loss->get_config());
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(again->get_config(), loss->get_config());
  }
}

TEST(LossFromConfig, ReadsKerasKeys) {
  auto bce = losses::from_config("BinaryCrossentropy", {{"name", "bce"}, {"from_logits", true},
                                                        {"label_smoothing", 0.1}, {"reduction", nullptr}});
  ASSERT_NE(bce, nullptr);
  const auto c = bce->get_config();
  EXPECT_EQ(c.at("name"), "bce");
  EXPECT_EQ(c.at("from_logits"), true);
  EXPECT_NEAR(c.at("label_smoothing").get<double>(), 0.1, 1e-12);
  EXPECT_EQ(c.at("reduction"), "none");  // Keras's null reduction
  auto huber = losses::from_config("Huber", {{"delta", 2.5}});
  EXPECT_NEAR(huber->get_config().at("delta").get<double>(), 2.5, 1e-12);
  EXPECT_EQ(losses::from_config("NoSuchLoss", nlohmann::json::object()), nullptr);
}

}  // namespace
}  // namespace keel
