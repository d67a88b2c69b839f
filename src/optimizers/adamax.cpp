// Adamax (keras/src/optimizers/adamax.py): Adam with an infinity-norm second moment.
#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/optimizers/optimizers.h"
#include "optimizers/optimizer_util.h"

namespace keel::optimizers {

Adamax::Adamax(AdamaxOptions options)
    : Optimizer("Adamax", options.learning_rate, detail::base_options_of(options)),
      beta_1_(options.beta_1),
      beta_2_(options.beta_2),
      epsilon_(options.epsilon) {}

void Adamax::build_slots(const std::vector<Variable>& vars) { add_slots(vars, {"momentum", "norm"}); }

void Adamax::update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) {
  const double t = static_cast<double>(iterations() + 1);
  const double bias_correction = 1.0 - std::pow(beta_1_, t);
  const Variable& m = slot(var_index, 0);
  const Variable& u = slot(var_index, 1);
  m.assign(m.value() + (grad - m.value()) * (1.0 - beta_1_));
  u.assign(ops::maximum(u.value() * beta_2_, ops::abs(grad)));
  var.assign(var.value() - m.value() * lr / ((u.value() + epsilon_) * bias_correction));
}

nlohmann::json Adamax::get_config() const {
  nlohmann::json config = Optimizer::get_config();
  config["beta_1"] = beta_1_;
  config["beta_2"] = beta_2_;
  config["epsilon"] = epsilon_;
  return config;
}

}  // namespace keel::optimizers
