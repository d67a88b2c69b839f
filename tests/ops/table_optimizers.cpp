// Op cases for the fused optimizer updates (src/ops/optimizer_update.h): forward-only, float32 only (the
// float64 pass of the suite sees the DTypeError and skips). Each case returns the updated variable and
// slots concatenated along axis 0. PyTorch fixtures: tools/golden/ops_optimizers.py, same hyperparameters.
#include <cmath>

#include "ops/op_cases.h"
#include "ops/optimizer_update.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;

// Adam at step t = 3 with lr 0.01 and Keras's default betas and epsilon.
AdamUpdateAttrs adam_attrs() {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, t = 3;
  return {lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t)), b1, b2, 1e-7};
}

V adam_inputs(const Shape& s, DType dt, uint64_t seed) {  // w, m, v (> 0), g
  return {rand_uniform(s, dt, seed), rand_uniform(s, dt, seed + 1, -0.5, 0.5), rand_uniform(s, dt, seed + 2, 0.01, 1),
          rand_uniform(s, dt, seed + 3)};
}

Tensor fresh(const Tensor& like) { return empty(like.shape(), like.dtype(), like.device()); }

Tensor adam_fresh_outputs(const V& in) {
  const Tensor w = fresh(in[0]), m = fresh(in[1]), v = fresh(in[2]);
  adam_update(in[0], in[1], in[2], in[3], w, m, v, adam_attrs());
  return ops::concatenate({w, m, v});
}

Tensor adam_in_place(const V& in) {
  adam_update(in[0], in[1], in[2], in[3], in[0], in[1], in[2], adam_attrs());
  return ops::concatenate({in[0], in[1], in[2]});
}

V sgd_inputs(const Shape& s, DType dt, uint64_t seed) {  // w, momentum, g
  return {rand_uniform(s, dt, seed), rand_uniform(s, dt, seed + 1, -0.5, 0.5), rand_uniform(s, dt, seed + 2)};
}

Tensor sgd_fresh_outputs(const V& in, bool nesterov) {
  const Tensor w = fresh(in[0]), m = fresh(in[1]);
  sgd_momentum_update(in[0], in[1], in[2], w, m, {0.1, 0.9, nesterov});
  return ops::concatenate({w, m});
}

Tensor sgd_in_place(const V& in, bool nesterov) {
  sgd_momentum_update(in[0], in[1], in[2], in[0], in[1], {0.1, 0.9, nesterov});
  return ops::concatenate({in[0], in[1]});
}

KEEL_OP_CASES({
    OpCase{"adam_update",
           {OpId::AdamUpdate},
           [](DType dt) {
             return adam_inputs({3, 4}, dt, 501);
           },
           adam_fresh_outputs,
           {}},
    OpCase{"adam_update_in_place",
           {OpId::AdamUpdate},
           [](DType dt) { return adam_inputs({37}, dt, 511); },
           adam_in_place,
           {}},
    OpCase{"sgd_momentum_update",
           {OpId::SgdMomentumUpdate},
           [](DType dt) {
             return sgd_inputs({4, 3}, dt, 521);
           },
           [](const V& in) { return sgd_fresh_outputs(in, false); },
           {}},
    OpCase{"sgd_momentum_update_nesterov_in_place",
           {OpId::SgdMomentumUpdate},
           [](DType dt) { return sgd_inputs({29}, dt, 531); },
           [](const V& in) { return sgd_in_place(in, true); },
           {}},
});

}  // namespace
}  // namespace keel::testing
