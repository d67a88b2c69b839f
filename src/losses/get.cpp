// losses::get: Keras's exact identifiers (keras/src/losses/__init__.py ALL_OBJECTS_DICT).
#include <functional>
#include <map>

#include "keel/losses/losses.h"

namespace keel::losses {

namespace {

using Factory = std::function<std::shared_ptr<Loss>(const std::string& name)>;

template <class T, class Options>
Factory make(Options options = {}) {
  return [options](const std::string& name) {
    Options o = options;
    o.name = name;
    return std::make_shared<T>(o);
  };
}

// Identifier -> factory given the name the loss gets (empty: its default name). Class names keep the
// class's default name; function names and aliases name the loss after the string, as compile's
// LossFunctionWrapper(fn, name=identifier) does.
const std::map<std::string, std::pair<Factory, bool>>& registry() {
  static const auto* table = [] {
    auto* t = new std::map<std::string, std::pair<Factory, bool>>();
    auto add = [&](const std::string& class_name, const std::string& fn_name, Factory f,
                   std::initializer_list<const char*> aliases = {}) {
      (*t)[class_name] = {f, false};
      (*t)[fn_name] = {f, true};
      for (const char* alias : aliases) (*t)[alias] = {f, true};
    };
    add("MeanSquaredError", "mean_squared_error", make<MeanSquaredError, LossOptions>(), {"mse", "MSE"});
    add("MeanAbsoluteError", "mean_absolute_error", make<MeanAbsoluteError, LossOptions>(), {"mae", "MAE"});
    add("MeanAbsolutePercentageError", "mean_absolute_percentage_error",
        make<MeanAbsolutePercentageError, LossOptions>(), {"mape", "MAPE"});
    add("MeanSquaredLogarithmicError", "mean_squared_logarithmic_error",
        make<MeanSquaredLogarithmicError, LossOptions>(), {"msle", "MSLE"});
    add("Huber", "huber", make<Huber, HuberOptions>());
    add("LogCosh", "log_cosh", make<LogCosh, LossOptions>());
    add("Hinge", "hinge", make<Hinge, LossOptions>());
    add("SquaredHinge", "squared_hinge", make<SquaredHinge, LossOptions>());
    add("CategoricalHinge", "categorical_hinge", make<CategoricalHinge, LossOptions>());
    add("KLDivergence", "kl_divergence", make<KLDivergence, LossOptions>(), {"kld", "KLD"});
    add("Poisson", "poisson", make<Poisson, LossOptions>());
    add("CosineSimilarity", "cosine_similarity", make<CosineSimilarity, CosineSimilarityOptions>());
    add("BinaryCrossentropy", "binary_crossentropy", make<BinaryCrossentropy, CrossentropyOptions>(), {"bce", "BCE"});
    add("CategoricalCrossentropy", "categorical_crossentropy", make<CategoricalCrossentropy, CrossentropyOptions>());
    add("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy",
        make<SparseCategoricalCrossentropy, SparseCrossentropyOptions>());
    add("BinaryFocalCrossentropy", "binary_focal_crossentropy",
        make<BinaryFocalCrossentropy, BinaryFocalCrossentropyOptions>());
    add("CategoricalFocalCrossentropy", "categorical_focal_crossentropy",
        make<CategoricalFocalCrossentropy, CategoricalFocalCrossentropyOptions>());
    return t;
  }();
  return *table;
}

}  // namespace

std::vector<std::string> identifiers() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : registry()) names.push_back(name);
  return names;
}

std::shared_ptr<Loss> get(const std::string& identifier) {
  const auto& table = registry();
  auto it = table.find(identifier);
  if (it == table.end()) {
    std::string valid;
    for (const auto& [name, entry] : table) valid += (valid.empty() ? "" : ", ") + name;
    throw ValueError("Could not interpret loss identifier: \"" + identifier + "\". Valid identifiers: " + valid);
  }
  const auto& [factory, named_after_string] = it->second;
  return factory(named_after_string ? identifier : std::string());
}

}  // namespace keel::losses
