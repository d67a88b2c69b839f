// metrics::from_config: Keel's metric classes rebuilt from the configs Keras writes
// (keras.metrics.deserialize for the classes Keel has), e.g. for the metric objects of a saved model's
// compile_config.
#include <functional>
#include <nlohmann/json.hpp>

#include "keel/metrics/metrics.h"
#include "losses/config_table.h"

namespace keel::metrics {

namespace {

using json = nlohmann::json;

using losses::detail::arg;
using losses::detail::optional_arg;

std::vector<double> thresholds_arg(const json& c, const char* key) {
  if (!c.contains(key) || c.at(key).is_null()) return {};
  if (c.at(key).is_number()) return {c.at(key).get<double>()};
  return c.at(key).get<std::vector<double>>();
}

using MetricFactory = std::function<std::shared_ptr<Metric>(const json&)>;
const losses::detail::ConfigTable<Metric>& metric_classes() {
  auto plain = [](auto tag) -> MetricFactory {
    using T = typename decltype(tag)::type;
    return [](const json& c) -> std::shared_ptr<Metric> {
      return std::make_shared<T>(MetricOptions{.name = arg<std::string>(c, "name", "")});
    };
  };
  auto top_k = [](auto tag) -> MetricFactory {
    using T = typename decltype(tag)::type;
    return [](const json& c) -> std::shared_ptr<Metric> {
      return std::make_shared<T>(TopKOptions{.k = arg<int64_t>(c, "k", 5), .name = arg<std::string>(c, "name", "")});
    };
  };
  auto precision_recall = [](auto tag) -> MetricFactory {
    using T = typename decltype(tag)::type;
    return [](const json& c) -> std::shared_ptr<Metric> {
      return std::make_shared<T>(PrecisionRecallOptions{.thresholds = thresholds_arg(c, "thresholds"),
                                                        .top_k = optional_arg<int64_t>(c, "top_k"),
                                                        .class_id = optional_arg<int64_t>(c, "class_id"),
                                                        .name = arg<std::string>(c, "name", "")});
    };
  };
  static const losses::detail::ConfigTable<Metric> table = {
      {"Accuracy", plain(std::type_identity<Accuracy>{})},
      {"CategoricalAccuracy", plain(std::type_identity<CategoricalAccuracy>{})},
      {"SparseCategoricalAccuracy", plain(std::type_identity<SparseCategoricalAccuracy>{})},
      {"MeanSquaredError", plain(std::type_identity<MeanSquaredError>{})},
      {"MeanAbsoluteError", plain(std::type_identity<MeanAbsoluteError>{})},
      {"MeanAbsolutePercentageError", plain(std::type_identity<MeanAbsolutePercentageError>{})},
      {"MeanSquaredLogarithmicError", plain(std::type_identity<MeanSquaredLogarithmicError>{})},
      {"LogCoshError", plain(std::type_identity<LogCoshError>{})},
      {"RootMeanSquaredError", plain(std::type_identity<RootMeanSquaredError>{})},
      {"KLDivergence", plain(std::type_identity<KLDivergence>{})},
      {"Poisson", plain(std::type_identity<Poisson>{})},
      {"Hinge", plain(std::type_identity<Hinge>{})},
      {"SquaredHinge", plain(std::type_identity<SquaredHinge>{})},
      {"CategoricalHinge", plain(std::type_identity<CategoricalHinge>{})},
      {"TopKCategoricalAccuracy", top_k(std::type_identity<TopKCategoricalAccuracy>{})},
      {"SparseTopKCategoricalAccuracy", top_k(std::type_identity<SparseTopKCategoricalAccuracy>{})},
      {"Precision", precision_recall(std::type_identity<Precision>{})},
      {"Recall", precision_recall(std::type_identity<Recall>{})},
      {"BinaryAccuracy",
       [](const json& c) -> std::shared_ptr<Metric> {
         return std::make_shared<BinaryAccuracy>(
             BinaryAccuracyOptions{.threshold = arg<double>(c, "threshold", 0.5), .name = arg<std::string>(c, "name", "")});
       }},
      {"CosineSimilarity",
       [](const json& c) -> std::shared_ptr<Metric> {
         return std::make_shared<CosineSimilarity>(
             CosineSimilarityOptions{.axis = arg<int64_t>(c, "axis", -1), .name = arg<std::string>(c, "name", "")});
       }},
      {"BinaryCrossentropy",
       [](const json& c) -> std::shared_ptr<Metric> {
         return std::make_shared<BinaryCrossentropy>(
             BinaryCrossentropyOptions{.from_logits = arg<bool>(c, "from_logits", false),
                                       .label_smoothing = arg<double>(c, "label_smoothing", 0.0),
                                       .name = arg<std::string>(c, "name", "")});
       }},
      {"CategoricalCrossentropy",
       [](const json& c) -> std::shared_ptr<Metric> {
         return std::make_shared<CategoricalCrossentropy>(
             CategoricalCrossentropyOptions{.from_logits = arg<bool>(c, "from_logits", false),
                                            .label_smoothing = arg<double>(c, "label_smoothing", 0.0),
                                            .axis = arg<int64_t>(c, "axis", -1),
                                            .name = arg<std::string>(c, "name", "")});
       }},
      {"SparseCategoricalCrossentropy",
       [](const json& c) -> std::shared_ptr<Metric> {
         return std::make_shared<SparseCategoricalCrossentropy>(
             SparseCategoricalCrossentropyOptions{.from_logits = arg<bool>(c, "from_logits", false),
                                                  .axis = arg<int64_t>(c, "axis", -1),
                                                  .name = arg<std::string>(c, "name", "")});
       }},
      {"AUC",
       [](const json& c) -> std::shared_ptr<Metric> {
         // Keras writes the inner thresholds it derived from num_thresholds: rebuilt from num_thresholds
         // (the config check then compares the thresholds, so other ones are refused).
         return std::make_shared<AUC>(AUCOptions{.num_thresholds = arg<int64_t>(c, "num_thresholds", 200),
                                                 .curve = arg<std::string>(c, "curve", "ROC"),
                                                 .summation_method = arg<std::string>(c, "summation_method", "interpolation"),
                                                 .from_logits = arg<bool>(c, "from_logits", false),
                                                 .name = arg<std::string>(c, "name", "")});
       }},
  };
  return table;
}

}  // namespace

std::shared_ptr<Metric> from_config(const std::string& class_name, const nlohmann::json& config) {
  return losses::detail::build_from(metric_classes(), class_name, config);
}

std::vector<std::string> config_class_names() { return losses::detail::class_names(metric_classes()); }

}  // namespace keel::metrics
