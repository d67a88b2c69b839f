// Attributes of the fused optimizer updates. Hyperparameters are doubles as the optimizers hold them;
// kernels round each coefficient to float32 exactly where the unfused path rounds its scalar operands
// (ops::operator*(Tensor, double) makes a float32 scalar), so both paths give the same bits:
//   AdamUpdate        (keras/src/optimizers/adam.py, amsgrad off; alpha = lr·sqrt(1-β₂ᵗ)/(1-β₁ᵗ))
//     m += (g - m)·f(1-β₁);  v += (g² - v)·f(1-β₂);  w -= (m·f(alpha)) / (sqrt(v) + f(ε))
//   SgdMomentumUpdate (keras/src/optimizers/sgd.py, momentum > 0)
//     u = m·f(μ) - g·f(lr);  m = u;  w += nesterov ? u·f(μ) - g·f(lr) : u
// where f(x) is static_cast<float>(x), each operation rounds to float32, and nothing is fused into an FMA.
#pragma once

namespace keel {

struct AdamUpdateAttrs {
  double alpha = 0.0;  // the bias-corrected step size of this iteration
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
};

struct SgdMomentumUpdateAttrs {
  double learning_rate = 0.0;
  double momentum = 0.0;
  bool nesterov = false;
};

}  // namespace keel
