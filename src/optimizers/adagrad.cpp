// Adagrad (keras/src/optimizers/adagrad.py): accumulators start at initial_accumulator_value; epsilon
// inside the square root.
#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/optimizers/optimizers.h"
#include "optimizers/optimizer_util.h"

namespace keel::optimizers {

Adagrad::Adagrad(AdagradOptions options)
    : Optimizer("Adagrad", options.learning_rate, detail::base_options_of(options)),
      initial_accumulator_value_(options.initial_accumulator_value),
      epsilon_(options.epsilon) {}

void Adagrad::build_slots(const std::vector<Variable>& vars) {
  add_slots(vars, {"accumulator"}, initial_accumulator_value_);
}

void Adagrad::update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) {
  const Variable& accumulator = slot(var_index, 0);
  accumulator.assign(accumulator.value() + ops::square(grad));
  var.assign(var.value() - grad * lr / ops::sqrt(accumulator.value() + epsilon_));
}

nlohmann::json Adagrad::get_config() const {
  nlohmann::json config = Optimizer::get_config();
  config["initial_accumulator_value"] = initial_accumulator_value_;
  config["epsilon"] = epsilon_;
  return config;
}

}  // namespace keel::optimizers
