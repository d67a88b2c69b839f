// Lion (keras/src/optimizers/lion.py): the sign of an interpolation between the momentum and the gradient;
// the momentum itself moves with beta_2.
#include <nlohmann/json.hpp>

#include "keel/core/error.h"
#include "keel/ops/elementwise.h"
#include "keel/optimizers/optimizers.h"
#include "optimizers/optimizer_util.h"

namespace keel::optimizers {

Lion::Lion(LionOptions options)
    : Optimizer("Lion", options.learning_rate, detail::base_options_of(options)),
      beta_1_(options.beta_1),
      beta_2_(options.beta_2) {
  KEEL_CHECK(beta_1_ > 0.0 && beta_1_ <= 1.0, ValueError,
             "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates to SignSGD. "
             "Received: beta_1=",
             beta_1_);
}

void Lion::build_slots(const std::vector<Variable>& vars) { add_slots(vars, {"momentum"}); }

void Lion::update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) {
  const Variable& m = slot(var_index, 0);
  var.assign(var.value() - lr * ops::sign(m.value() * beta_1_ + grad * (1.0 - beta_1_)));
  m.assign(m.value() * beta_2_ + grad * (1.0 - beta_2_));
}

nlohmann::json Lion::get_config() const {
  nlohmann::json config = Optimizer::get_config();
  config["beta_1"] = beta_1_;
  config["beta_2"] = beta_2_;
  return config;
}

}  // namespace keel::optimizers
