// Nadam (keras/src/optimizers/nadam.py): Adam with Nesterov momentum and Dozat's momentum schedule; the
// running product of the schedule is one float32 scalar variable updated once per step.
#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/optimizers/optimizers.h"
#include "optimizers/optimizer_util.h"

namespace keel::optimizers {

Nadam::Nadam(NadamOptions options)
    : Optimizer("Nadam", options.learning_rate, detail::base_options_of(options)),
      beta_1_(options.beta_1),
      beta_2_(options.beta_2),
      epsilon_(options.epsilon) {}

void Nadam::build_slots(const std::vector<Variable>& vars) {
  add_slots(vars, {"momentum", "velocity"});
  // Keras creates it after the slots, with the dtype of the first model variable.
  const DType dtype = vars.empty() ? DType::f32 : vars.front().dtype();
  u_product_index_ = add_variable("u_product", scalar_tensor(1.0, dtype));
}

void Nadam::before_update_steps() {
  const Variable& u_product = variable_at(u_product_index_);
  const double t = static_cast<double>(iterations() + 1);
  u_product.assign(u_product.value() * (beta_1_ * (1.0 - 0.5 * std::pow(0.96, t))));
  u_product_ = u_product.value().item<double>();
}

void Nadam::update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) {
  const double t = static_cast<double>(iterations() + 1);
  const double u_t = beta_1_ * (1.0 - 0.5 * std::pow(0.96, t));
  const double u_t_1 = beta_1_ * (1.0 - 0.5 * std::pow(0.96, t + 1));
  const double u_product_t_1 = u_product_ * u_t_1;
  const double beta_2_power = std::pow(beta_2_, t);
  const Variable& m = slot(var_index, 0);
  const Variable& v = slot(var_index, 1);
  m.assign(m.value() + (grad - m.value()) * (1.0 - beta_1_));
  v.assign(v.value() + (ops::square(grad) - v.value()) * (1.0 - beta_2_));
  const Tensor m_hat = m.value() * (u_t_1 / (1.0 - u_product_t_1)) + grad * ((1.0 - u_t) / (1.0 - u_product_));
  const Tensor v_hat = v.value() / (1.0 - beta_2_power);
  var.assign(var.value() - m_hat * lr / (ops::sqrt(v_hat) + epsilon_));
}

nlohmann::json Nadam::get_config() const {
  nlohmann::json config = Optimizer::get_config();
  config["beta_1"] = beta_1_;
  config["beta_2"] = beta_2_;
  config["epsilon"] = epsilon_;
  return config;
}

}  // namespace keel::optimizers
