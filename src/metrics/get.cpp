// metrics::get: compile()'s string resolution (keras/src/trainers/compile_utils.py get_metric and
// keras/src/metrics/__init__.py ALL_OBJECTS_DICT).
#include <algorithm>
#include <functional>
#include <map>

#include "keel/core/naming.h"
#include "keel/metrics/metrics.h"

namespace keel::metrics {

namespace {

using Factory = std::function<std::shared_ptr<Metric>()>;

template <class T>
Factory make() {
  return [] { return std::make_shared<T>(); };
}

// Class name and its snake_case (plus aliases) -> factory.
const std::map<std::string, Factory>& registry() {
  static const auto* table = [] {
    auto* t = new std::map<std::string, Factory>();
    auto add = [&](const std::string& class_name, Factory f, std::initializer_list<const char*> aliases = {}) {
      (*t)[class_name] = f;
      (*t)[naming::to_snake_case(class_name)] = f;
      for (const char* alias : aliases) (*t)[alias] = f;
    };
    add("Mean", make<Mean>());
    add("Sum", make<Sum>());
    add("MeanSquaredError", make<MeanSquaredError>(), {"mse", "MSE"});
    add("RootMeanSquaredError", make<RootMeanSquaredError>());
    add("MeanAbsoluteError", make<MeanAbsoluteError>(), {"mae", "MAE"});
    add("MeanAbsolutePercentageError", make<MeanAbsolutePercentageError>(), {"mape", "MAPE"});
    add("MeanSquaredLogarithmicError", make<MeanSquaredLogarithmicError>(), {"msle", "MSLE"});
    add("CosineSimilarity", make<CosineSimilarity>());
    add("LogCoshError", make<LogCoshError>());
    add("AUC", make<AUC>());
    add("Precision", make<Precision>());
    add("Recall", make<Recall>());
    add("Hinge", make<Hinge>());
    add("SquaredHinge", make<SquaredHinge>());
    add("CategoricalHinge", make<CategoricalHinge>());
    add("KLDivergence", make<KLDivergence>());
    add("Poisson", make<Poisson>());
    add("BinaryCrossentropy", make<BinaryCrossentropy>(), {"bce", "BCE"});
    add("CategoricalCrossentropy", make<CategoricalCrossentropy>());
    add("SparseCategoricalCrossentropy", make<SparseCategoricalCrossentropy>());
    add("Accuracy", make<Accuracy>());
    add("BinaryAccuracy", make<BinaryAccuracy>());
    add("CategoricalAccuracy", make<CategoricalAccuracy>());
    add("SparseCategoricalAccuracy", make<SparseCategoricalAccuracy>());
    add("TopKCategoricalAccuracy", make<TopKCategoricalAccuracy>());
    add("SparseTopKCategoricalAccuracy", make<SparseTopKCategoricalAccuracy>());
    return t;
  }();
  return *table;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// compile_utils.get_metric's choice for "accuracy": from the shapes only, never from the loss.
std::shared_ptr<Metric> resolve_accuracy(const Shape& y_true_shape, const Shape& y_pred_shape) {
  const bool is_binary = !y_pred_shape.empty() && y_pred_shape.back() == 1;
  const bool is_sparse =
      y_true_shape.size() < y_pred_shape.size() ||
      (!y_true_shape.empty() && !y_pred_shape.empty() && y_true_shape.back() == 1 && y_pred_shape.back() > 1);
  if (is_binary) return std::make_shared<BinaryAccuracy>();
  if (is_sparse) return std::make_shared<SparseCategoricalAccuracy>();
  return std::make_shared<CategoricalAccuracy>();
}

}  // namespace

std::vector<std::string> identifiers() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::shared_ptr<Metric> get(const std::string& identifier, const Shape& y_true_shape, const Shape& y_pred_shape) {
  std::shared_ptr<Metric> metric;
  const std::string key = lower(identifier);
  if (key == "accuracy" || key == "acc") {
    metric = resolve_accuracy(y_true_shape, y_pred_shape);
  } else {
    const auto& table = registry();
    auto it = table.find(identifier);
    if (it == table.end()) {
      std::string valid = "accuracy, acc";
      for (const auto& [name, factory] : table) valid += ", " + name;
      throw ValueError("Could not interpret metric identifier: \"" + identifier + "\". Valid identifiers: " + valid);
    }
    metric = it->second();
  }
  metric->set_name(identifier);
  return metric;
}

}  // namespace keel::metrics
