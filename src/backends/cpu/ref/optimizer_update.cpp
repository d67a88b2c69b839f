// Reference fused optimizer updates: Keras's formulas (optimizer_attrs.h) in float64 with unrounded
// hyperparameters. Every input is read before any output is written, so outputs may alias inputs.
#include <cmath>

#include "backends/cpu/ref/ref_common.h"
#include "ops/dispatch.h"
#include "ops/optimizer_attrs.h"

namespace keel::cpu_ref {
namespace {

void adam_update_ref(const KernelArgs& a) {
  const auto& attrs = a.get<AdamUpdateAttrs>();
  std::vector<double> w = to_doubles(a.in[0]), m = to_doubles(a.in[1]), v = to_doubles(a.in[2]);
  const std::vector<double> g = to_doubles(a.in[3]);
  for (size_t i = 0; i < w.size(); ++i) {
    m[i] += (g[i] - m[i]) * (1.0 - attrs.beta_1);
    v[i] += (g[i] * g[i] - v[i]) * (1.0 - attrs.beta_2);
    w[i] -= m[i] * attrs.alpha / (std::sqrt(v[i]) + attrs.epsilon);
  }
  write_doubles(a.out[0], w);
  write_doubles(a.out[1], m);
  write_doubles(a.out[2], v);
}

void sgd_momentum_update_ref(const KernelArgs& a) {
  const auto& attrs = a.get<SgdMomentumUpdateAttrs>();
  std::vector<double> w = to_doubles(a.in[0]), m = to_doubles(a.in[1]);
  const std::vector<double> g = to_doubles(a.in[2]);
  for (size_t i = 0; i < w.size(); ++i) {
    const double velocity = m[i] * attrs.momentum - g[i] * attrs.learning_rate;
    m[i] = velocity;
    w[i] += attrs.nesterov ? velocity * attrs.momentum - g[i] * attrs.learning_rate : velocity;
  }
  write_doubles(a.out[0], w);
  write_doubles(a.out[1], m);
}

KEEL_REGISTER_KERNEL(AdamUpdate, kCpuRef, adam_update_ref);
KEEL_REGISTER_KERNEL(SgdMomentumUpdate, kCpuRef, sgd_momentum_update_ref);

}  // namespace
}  // namespace keel::cpu_ref
