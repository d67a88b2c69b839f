// SGD with optional (Nesterov) momentum, as keras/src/optimizers/sgd.py.
#include <nlohmann/json.hpp>

#include "keel/ops/elementwise.h"
#include "keel/optimizers/optimizers.h"
#include "ops/optimizer_update.h"
#include "optimizers/fused_update_util.h"
#include "optimizers/optimizer_util.h"

namespace keel::optimizers {

SGD::SGD(SGDOptions options)
    : Optimizer("SGD", options.learning_rate, detail::base_options_of(options)),
      momentum_(options.momentum),
      nesterov_(options.nesterov) {
  KEEL_CHECK(momentum_ >= 0 && momentum_ <= 1, ValueError, "SGD '", name(),
             "': `momentum` must be a float between [0, 1]. Received: momentum=", momentum_);
}

void SGD::build_slots(const std::vector<Variable>& vars) {
  if (momentum_ != 0) add_slots(vars, {"momentum"});
}

void SGD::update_step(const Tensor& grad, const Variable& var, size_t var_index, double lr) {
  if (momentum_ == 0) {
    var.assign(var.value() - grad * lr);
    return;
  }
  const Variable& m = slot(var_index, 0);
  if (fused_update_supported({var.value(), m.value(), grad})) {
    // One pass over w, m and g with the same float32 results as the op-by-op path below.
    const detail::UpdateTarget w_out(var), m_out(m);
    sgd_momentum_update(var.value(), m.value(), grad, w_out.out(), m_out.out(),
                        SgdMomentumUpdateAttrs{lr, momentum_, nesterov_});
    w_out.commit();
    m_out.commit();
    return;
  }
  const Tensor velocity = m.value() * momentum_ - grad * lr;
  m.assign(velocity);
  var.assign(var.value() + (nesterov_ ? velocity * momentum_ - grad * lr : velocity));
}

nlohmann::json SGD::get_config() const {
  nlohmann::json config = Optimizer::get_config();
  config["momentum"] = momentum_;
  config["nesterov"] = nesterov_;
  return config;
}

}  // namespace keel::optimizers
