// losses::from_config: Keel's loss classes rebuilt from the configs Keras writes (keras.losses.deserialize
// for the classes Keel has), e.g. for the loss objects of a saved model's compile_config.
#include <functional>
#include <nlohmann/json.hpp>

#include "keel/losses/losses.h"
#include "losses/config_table.h"

namespace keel::losses {

namespace {

using json = nlohmann::json;

using detail::arg;
using detail::optional_arg;

// Keras writes reduction=None as null; Keel spells it "none".
std::string reduction_arg(const json& c) {
  return c.contains("reduction") && c.at("reduction").is_null() ? "none"
                                                               : arg<std::string>(c, "reduction", "sum_over_batch_size");
}

using LossFactory = std::function<std::shared_ptr<Loss>(const json&)>;
const detail::ConfigTable<Loss>& loss_classes() {
  auto plain = [](auto tag) -> LossFactory {
    using T = typename decltype(tag)::type;
    return [](const json& c) -> std::shared_ptr<Loss> {
      return std::make_shared<T>(LossOptions{.reduction = reduction_arg(c), .name = arg<std::string>(c, "name", "")});
    };
  };
  auto crossentropy = [](auto tag) -> LossFactory {
    using T = typename decltype(tag)::type;
    return [](const json& c) -> std::shared_ptr<Loss> {
      return std::make_shared<T>(CrossentropyOptions{.from_logits = arg<bool>(c, "from_logits", false),
                                                     .label_smoothing = arg<double>(c, "label_smoothing", 0.0),
                                                     .axis = arg<int64_t>(c, "axis", -1),
                                                     .reduction = reduction_arg(c),
                                                     .name = arg<std::string>(c, "name", "")});
    };
  };
  static const detail::ConfigTable<Loss> table = {
      {"MeanSquaredError", plain(std::type_identity<MeanSquaredError>{})},
      {"MeanAbsoluteError", plain(std::type_identity<MeanAbsoluteError>{})},
      {"MeanAbsolutePercentageError", plain(std::type_identity<MeanAbsolutePercentageError>{})},
      {"MeanSquaredLogarithmicError", plain(std::type_identity<MeanSquaredLogarithmicError>{})},
      {"LogCosh", plain(std::type_identity<LogCosh>{})},
      {"Hinge", plain(std::type_identity<Hinge>{})},
      {"SquaredHinge", plain(std::type_identity<SquaredHinge>{})},
      {"CategoricalHinge", plain(std::type_identity<CategoricalHinge>{})},
      {"KLDivergence", plain(std::type_identity<KLDivergence>{})},
      {"Poisson", plain(std::type_identity<Poisson>{})},
      {"Huber",
       [](const json& c) -> std::shared_ptr<Loss> {
         return std::make_shared<Huber>(HuberOptions{
             .delta = arg<double>(c, "delta", 1.0), .reduction = reduction_arg(c), .name = arg<std::string>(c, "name", "")});
       }},
      {"CosineSimilarity",
       [](const json& c) -> std::shared_ptr<Loss> {
         return std::make_shared<CosineSimilarity>(CosineSimilarityOptions{
             .axis = arg<int64_t>(c, "axis", -1), .reduction = reduction_arg(c), .name = arg<std::string>(c, "name", "")});
       }},
      {"BinaryCrossentropy", crossentropy(std::type_identity<BinaryCrossentropy>{})},
      {"CategoricalCrossentropy", crossentropy(std::type_identity<CategoricalCrossentropy>{})},
      {"SparseCategoricalCrossentropy",
       [](const json& c) -> std::shared_ptr<Loss> {
         return std::make_shared<SparseCategoricalCrossentropy>(
             SparseCrossentropyOptions{.from_logits = arg<bool>(c, "from_logits", false),
                                       .ignore_class = optional_arg<int64_t>(c, "ignore_class"),
                                       .axis = arg<int64_t>(c, "axis", -1),
                                       .reduction = reduction_arg(c),
                                       .name = arg<std::string>(c, "name", "")});
       }},
      {"BinaryFocalCrossentropy",
       [](const json& c) -> std::shared_ptr<Loss> {
         return std::make_shared<BinaryFocalCrossentropy>(
             BinaryFocalCrossentropyOptions{.apply_class_balancing = arg<bool>(c, "apply_class_balancing", false),
                                            .alpha = arg<double>(c, "alpha", 0.25),
                                            .gamma = arg<double>(c, "gamma", 2.0),
                                            .from_logits = arg<bool>(c, "from_logits", false),
                                            .label_smoothing = arg<double>(c, "label_smoothing", 0.0),
                                            .axis = arg<int64_t>(c, "axis", -1),
                                            .reduction = reduction_arg(c),
                                            .name = arg<std::string>(c, "name", "")});
       }},
      {"CategoricalFocalCrossentropy",
       [](const json& c) -> std::shared_ptr<Loss> {
         return std::make_shared<CategoricalFocalCrossentropy>(
             CategoricalFocalCrossentropyOptions{.alpha = arg<double>(c, "alpha", 0.25),
                                                 .gamma = arg<double>(c, "gamma", 2.0),
                                                 .from_logits = arg<bool>(c, "from_logits", false),
                                                 .label_smoothing = arg<double>(c, "label_smoothing", 0.0),
                                                 .axis = arg<int64_t>(c, "axis", -1),
                                                 .reduction = reduction_arg(c),
                                                 .name = arg<std::string>(c, "name", "")});
       }},
  };
  return table;
}

}  // namespace

std::shared_ptr<Loss> from_config(const std::string& class_name, const nlohmann::json& config) {
  return detail::build_from(loss_classes(), class_name, config);
}

std::vector<std::string> config_class_names() { return detail::class_names(loss_classes()); }

}  // namespace keel::losses
