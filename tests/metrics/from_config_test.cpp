// metrics::from_config: every class it knows rebuilds itself from its own config, takes Keras's config keys
// and defaults, and unknown classes give nullptr.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "keel/metrics/metrics.h"

namespace keel {
namespace {

TEST(MetricFromConfig, EveryClassRoundTripsItsConfig) {
  const auto names = metrics::config_class_names();
  ASSERT_GE(names.size(), 24u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    auto metric = metrics::from_config(name, nlohmann::json::object());  // Keras's defaults
    ASSERT_NE(metric, nullptr);
    EXPECT_EQ(metric->class_name(), name);
    auto again = metrics::from_config(name, metric->get_config());
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(again->get_config(), metric->get_config());
  }
}

TEST(MetricFromConfig, ReadsKerasKeys) {
  auto acc = metrics::from_config("BinaryAccuracy", {{"name", "acc"}, {"threshold", 0.7}});
  ASSERT_NE(acc, nullptr);
  EXPECT_EQ(acc->get_config().at("name"), "acc");
  EXPECT_NEAR(acc->get_config().at("threshold").get<double>(), 0.7, 1e-6);
  auto top = metrics::from_config("TopKCategoricalAccuracy", {{"k", 3}});
  EXPECT_EQ(top->get_config().at("k"), 3);
  EXPECT_EQ(metrics::from_config("NoSuchMetric", nlohmann::json::object()), nullptr);
}

}  // namespace
}  // namespace keel
