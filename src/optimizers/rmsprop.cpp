// RMSprop (keras/src/optimizers/rmsprop.py): epsilon inside the square root, optional momentum and centering.
#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/optimizers/optimizers.h"
#include "optimizers/optimizer_util.h"

namespace keel::optimizers {

RMSprop::RMSprop(RMSpropOptions options)
    : Optimizer("RMSprop", options.learning_rate, detail::base_options_of(options)),
      rho_(options.rho),
      momentum_(options.momentum),
      epsilon_(options.epsilon),
      centered_(options.centered) {}

void RMSprop::build_slots(const std::vector<Variable>& vars) {
  // Three separate groups, as Keras adds them: velocities, then momentums, then average gradients.
  add_slots(vars, {"velocity"});
  if (momentum_ > 0) add_slots(vars, {"momentum"});
  if (centered_) add_slots(vars, {"average_gradient"});
}

void RMSprop::update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) {
  const Variable& velocity = slot(var_index, 0);
  velocity.assign(velocity.value() * rho_ + ops::square(grad) * (1.0 - rho_));
  Tensor denominator;
  if (centered_) {
    const Variable& average_grad = slot(var_index, momentum_ > 0 ? 2 : 1);
    average_grad.assign(average_grad.value() * rho_ + grad * (1.0 - rho_));
    denominator = velocity.value() - ops::square(average_grad.value()) + epsilon_;
  } else {
    denominator = velocity.value() + epsilon_;
  }
  const Tensor increment = grad * lr / ops::sqrt(denominator);
  if (momentum_ > 0) {
    const Variable& momentum = slot(var_index, 1);
    momentum.assign(momentum.value() * momentum_ + increment);
    var.assign(var.value() - momentum.value());
  } else {
    var.assign(var.value() - increment);
  }
}

nlohmann::json RMSprop::get_config() const {
  nlohmann::json config = Optimizer::get_config();
  config["rho"] = rho_;
  config["momentum"] = momentum_;
  config["epsilon"] = epsilon_;
  config["centered"] = centered_;
  return config;
}

}  // namespace keel::optimizers
