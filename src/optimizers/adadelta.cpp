// Adadelta (keras/src/optimizers/adadelta.py), with Keras's learning rate on the update.
#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/optimizers/optimizers.h"
#include "optimizers/optimizer_util.h"

namespace keel::optimizers {

Adadelta::Adadelta(AdadeltaOptions options)
    : Optimizer("Adadelta", options.learning_rate, detail::base_options_of(options)),
      rho_(options.rho),
      epsilon_(options.epsilon) {}

void Adadelta::build_slots(const std::vector<Variable>& vars) {
  add_slots(vars, {"accumulated_grad", "accumulated_delta_var"});
}

void Adadelta::update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) {
  const Variable& accumulated_grad = slot(var_index, 0);
  const Variable& accumulated_delta = slot(var_index, 1);
  accumulated_grad.assign(accumulated_grad.value() * rho_ + ops::square(grad) * (1.0 - rho_));
  const Tensor delta =
      -(ops::sqrt(accumulated_delta.value() + epsilon_) * grad / ops::sqrt(accumulated_grad.value() + epsilon_));
  accumulated_delta.assign(accumulated_delta.value() * rho_ + ops::square(delta) * (1.0 - rho_));
  var.assign(var.value() + delta * lr);
}

nlohmann::json Adadelta::get_config() const {
  nlohmann::json config = Optimizer::get_config();
  config["rho"] = rho_;
  config["epsilon"] = epsilon_;
  return config;
}

}  // namespace keel::optimizers
