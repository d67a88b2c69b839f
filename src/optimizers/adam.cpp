// Adam (keras/src/optimizers/adam.py) and AdamW (adamw.py: Adam plus the base class's decoupled weight decay).
#include <cmath>
#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/optimizers/optimizers.h"
#include "ops/optimizer_update.h"
#include "optimizers/fused_update_util.h"
#include "optimizers/optimizer_util.h"

namespace keel::optimizers {

Adam::Adam(AdamOptions options)
    : Adam("Adam", options.learning_rate, options.beta_1, options.beta_2, options.epsilon, options.amsgrad,
           detail::base_options_of(options)) {}

Adam::Adam(std::string class_name, LearningRate learning_rate, double beta_1, double beta_2, double epsilon,
           bool amsgrad, OptimizerBaseOptions base)
    : Optimizer(std::move(class_name), std::move(learning_rate), std::move(base)),
      beta_1_(beta_1),
      beta_2_(beta_2),
      epsilon_(epsilon),
      amsgrad_(amsgrad) {}

void Adam::build_slots(const std::vector<Variable>& vars) {
  add_slots(vars, {"momentum", "velocity"});
  if (amsgrad_) add_slots(vars, {"velocity_hat"});
}

void Adam::update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) {
  const double t = static_cast<double>(iterations() + 1);
  const double alpha = lr * std::sqrt(1.0 - std::pow(beta_2_, t)) / (1.0 - std::pow(beta_1_, t));
  const Variable& m = slot(var_index, 0);
  const Variable& v = slot(var_index, 1);
  if (!amsgrad_ && fused_update_supported({var.value(), m.value(), v.value(), grad})) {
    // One pass over w, m, v and g instead of a dozen elementwise ops, with the same float32 results.
    const detail::UpdateTarget w_out(var), m_out(m), v_out(v);
    adam_update(var.value(), m.value(), v.value(), grad, w_out.out(), m_out.out(), v_out.out(),
                AdamUpdateAttrs{alpha, beta_1_, beta_2_, epsilon_});
    w_out.commit();
    m_out.commit();
    v_out.commit();
    return;
  }
  m.assign(m.value() + (grad - m.value()) * (1.0 - beta_1_));
  v.assign(v.value() + (ops::square(grad) - v.value()) * (1.0 - beta_2_));
  Tensor second_moment = v.value();
  if (amsgrad_) {
    const Variable& v_hat = slot(var_index, 2);
    v_hat.assign(ops::maximum(v_hat.value(), second_moment));
    second_moment = v_hat.value();
  }
  var.assign(var.value() - m.value() * alpha / (ops::sqrt(second_moment) + epsilon_));
}

nlohmann::json Adam::get_config() const {
  nlohmann::json config = Optimizer::get_config();
  config["beta_1"] = beta_1_;
  config["beta_2"] = beta_2_;
  config["epsilon"] = epsilon_;
  config["amsgrad"] = amsgrad_;
  return config;
}

namespace {
OptimizerBaseOptions adamw_base(const AdamWOptions& options) {
  KEEL_CHECK(options.weight_decay.has_value(), ValueError, "AdamW '", options.name,
             "': argument `weight_decay` must be a float. Received: weight_decay=None");
  return detail::base_options_of(options);
}
}  // namespace

AdamW::AdamW(AdamWOptions options)
    : Adam("AdamW", options.learning_rate, options.beta_1, options.beta_2, options.epsilon, options.amsgrad,
           adamw_base(options)) {}

}  // namespace keel::optimizers
