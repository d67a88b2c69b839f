// The fused Adam and SGD-momentum updates (src/ops/optimizer_update.h) against the op-by-op formulas the
// optimizers used before them (Keras's, keyword for keyword): equal bit for bit on random float32 data,
// in place and into fresh tensors; and the optimizers' in-place writes stay invisible to other holders.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "keel/keel.h"
#include "ops/optimizer_update.h"

namespace keel::optimizers::testing {
namespace {

Tensor uniform(const Shape& s, double lo, double hi) { return random::uniform(s, lo, hi); }

// Bitwise equality (both float32, contiguous).
void expect_bitwise_equal(const Tensor& actual, const Tensor& expected, const char* what) {
  ASSERT_EQ(actual.numel(), expected.numel()) << what;
  const std::vector<float> a = actual.to_vector<float>(), e = expected.to_vector<float>();
  int64_t mismatches = 0, first = -1;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &e[i], sizeof(float)) != 0 && mismatches++ == 0) first = static_cast<int64_t>(i);
  EXPECT_EQ(mismatches, 0) << what << ": first difference at " << first << ": " << a[first] << " vs " << e[first];
}

struct AdamState {
  Tensor w, m, v, g;
};

// 10007 elements: several threads' chunks and a vector-loop remainder.
AdamState random_adam_state(uint64_t seed) {
  random::set_seed(seed);
  return {uniform({10007}, -1, 1), uniform({10007}, -0.1, 0.1), uniform({10007}, 0, 0.05), uniform({10007}, -2, 2)};
}

// The update as adam.cpp wrote it with ops before the fused kernel.
AdamState unfused_adam(const AdamState& s, const AdamUpdateAttrs& a) {
  Tensor m = s.m + (s.g - s.m) * (1.0 - a.beta_1);
  Tensor v = s.v + (ops::square(s.g) - s.v) * (1.0 - a.beta_2);
  Tensor w = s.w - m * a.alpha / (ops::sqrt(v) + a.epsilon);
  return {w, m, v, s.g};
}

double adam_alpha(double lr, double b1, double b2, double t) {
  return lr * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t));
}

TEST(FusedUpdate, AdamEqualsTheUnfusedFormulaBitwise) {
  const AdamUpdateAttrs configs[] = {{adam_alpha(1e-3, 0.9, 0.999, 1), 0.9, 0.999, 1e-7},
                                     {adam_alpha(0.05, 0.8, 0.95, 7), 0.8, 0.95, 1e-3},
                                     {adam_alpha(0.3, 0.5, 0.9999, 1000), 0.5, 0.9999, 1e-8}};
  uint64_t seed = 11;
  for (const AdamUpdateAttrs& attrs : configs) {
    const AdamState s = random_adam_state(seed++);
    const AdamState expected = unfused_adam(s, attrs);
    // Fresh outputs.
    Tensor w = empty({10007}), m = empty({10007}), v = empty({10007});
    adam_update(s.w, s.m, s.v, s.g, w, m, v, attrs);
    expect_bitwise_equal(w, expected.w, "variable");
    expect_bitwise_equal(m, expected.m, "momentum");
    expect_bitwise_equal(v, expected.v, "velocity");
    // In place: the operands' own storage.
    Tensor wi = s.w.clone(), mi = s.m.clone(), vi = s.v.clone();
    const void* w_data = wi.data_ptr();
    adam_update(wi, mi, vi, s.g, wi, mi, vi, attrs);
    EXPECT_EQ(wi.data_ptr(), w_data);
    expect_bitwise_equal(wi, expected.w, "variable (in place)");
    expect_bitwise_equal(mi, expected.m, "momentum (in place)");
    expect_bitwise_equal(vi, expected.v, "velocity (in place)");
  }
}

TEST(FusedUpdate, SgdMomentumEqualsTheUnfusedFormulaBitwise) {
  for (bool nesterov : {false, true}) {
    for (double momentum : {0.9, 0.37}) {
      random::set_seed(nesterov ? 21 : 22);
      const Tensor w = uniform({5003}, -1, 1), m = uniform({5003}, -0.2, 0.2), g = uniform({5003}, -3, 3);
      const double lr = 0.0173;
      // sgd.cpp's op-by-op update.
      const Tensor velocity = m * momentum - g * lr;
      const Tensor expected_w = w + (nesterov ? velocity * momentum - g * lr : velocity);
      Tensor wi = w.clone(), mi = m.clone();
      sgd_momentum_update(wi, mi, g, wi, mi, {lr, momentum, nesterov});
      expect_bitwise_equal(wi, expected_w, "variable");
      expect_bitwise_equal(mi, velocity, "momentum");
    }
  }
}

TEST(FusedUpdate, RejectsOperandsItCannotTake) {
  const Tensor a = zeros({4}), b = zeros({4}), c = ones({4}), d = ones({4});
  const AdamUpdateAttrs attrs{1e-3, 0.9, 0.999, 1e-7};
  EXPECT_THROW(adam_update(a, b, c, zeros({4}, DType::f64), a, b, c, attrs), DTypeError);
  EXPECT_THROW(adam_update(a, b, c, zeros({5}), a, b, c, attrs), ShapeError);
  EXPECT_THROW(adam_update(a, b, c, d, b, a, c, attrs), ValueError);  // outputs swapped: partial aliasing
  const Tensor wide = zeros({4, 2});
  EXPECT_THROW(sgd_momentum_update(ops::transpose(wide), zeros({2, 4}), zeros({2, 4}), zeros({2, 4}), zeros({2, 4}),
                                   {0.1, 0.9, false}),
               ValueError);  // not contiguous
  EXPECT_FALSE(fused_update_supported({a, zeros({4}, DType::f64)}));
  EXPECT_FALSE(fused_update_supported({ops::transpose(wide), zeros({2, 4})}));
  EXPECT_TRUE(fused_update_supported({a, b, c}));
}

TEST(FusedUpdate, AdamOptimizerStepsMatchTheUnfusedFormula) {
  random::set_seed(31);
  Variable w("w", uniform({257}, -1, 1));
  const Tensor w0 = w.value().detach().clone();  // a plain clone would record a graph holding the value
  Adam opt(AdamOptions{.learning_rate = 0.01});
  AdamState expected{w0, zeros({257}), zeros({257}), Tensor()};
  for (int step = 1; step <= 4; ++step) {
    const Tensor g = uniform({257}, -1, 1);
    const void* data = w.value().data_ptr();
    opt.apply({g}, {w});
    EXPECT_EQ(w.value().data_ptr(), data) << "an unshared variable is updated in place";
    expected.g = g;
    expected = unfused_adam(expected, {adam_alpha(0.01, 0.9, 0.999, step), 0.9, 0.999, 1e-7});
    expect_bitwise_equal(w.value(), expected.w, "variable");
  }
}

TEST(FusedUpdate, SharedValuesAreNotWrittenInPlace) {
  // A Variable built from a tensor shares its storage; a copy of value() shares its state. Neither may
  // change when the optimizer steps.
  const Tensor init = from_vector(std::vector<float>{1, 2, 3}, {3});
  Variable w("w", init);
  SGD opt(SGDOptions{.learning_rate = 0.1, .momentum = 0.9});
  opt.apply({from_vector(std::vector<float>{1, 1, 1}, {3})}, {w});
  EXPECT_EQ(init.to_vector<float>(), (std::vector<float>{1, 2, 3}));
  const Tensor held = w.value();
  const std::vector<float> before = held.to_vector<float>();
  opt.apply({from_vector(std::vector<float>{1, 1, 1}, {3})}, {w});
  EXPECT_EQ(held.to_vector<float>(), before);
  EXPECT_NE(w.value().to_vector<float>(), before);
}

}  // namespace
}  // namespace keel::optimizers::testing
