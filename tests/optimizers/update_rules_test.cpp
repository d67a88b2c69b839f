// Each optimizer's update rule (keras-reference §5.2): three steps on two variables with fixed gradients,
// against values from an independent float64 numpy implementation of the formulas, and, where torch's
// formula equals Keras's (SGD with momentum / Nesterov, Adadelta), against torch.optim.
//
// numpy (/usr/bin/python3), printing the expected values below:
//   import numpy as np
//   W0 = np.array([1.0, -2.0, 3.0, 0.5]); W1 = np.array([0.1, 0.2, -0.3])
//   B0 = np.array([0.5, -1.0, 0.25, 2.0]); B1 = np.array([-0.3, 0.0, 1.5]); S = [1.0, -0.5, 2.0]
//   def run(step, pre=None, steps=3):
//       ws = [W0.copy(), W1.copy()]; st = [dict(), dict()]
//       for k in range(steps):
//           t = k + 1
//           if pre: pre(t)
//           for i, b in enumerate([B0, B1]): ws[i] = step(ws[i], b * S[k], st[i], t)
//       return ws
//   def sgd(lr, mu=0.0, nesterov=False):
//       def f(w, g, s, t):
//           if mu == 0: return w - lr * g
//           v = s.get('v', 0 * w); v = mu * v - lr * g; s['v'] = v
//           return w + (mu * v - lr * g if nesterov else v)
//       return f
//   def adam(lr, b1=0.9, b2=0.999, eps=1e-7, ams=False):
//       def f(w, g, s, t):
//           m = s.get('m', 0 * w); v = s.get('v', 0 * w); vh = s.get('vh', 0 * w)
//           a = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
//           m = m + (g - m) * (1 - b1); v = v + (g * g - v) * (1 - b2); vh = np.maximum(vh, v)
//           s.update(m=m, v=v, vh=vh)
//           return w - a * m / (np.sqrt(vh if ams else v) + eps)
//       return f
//   def adamw(lr, wd, **kw):
//       inner = adam(lr, **kw)
//       return lambda w, g, s, t: inner(w - w * wd * lr, g, s, t)
//   def rmsprop(lr, rho=0.9, mu=0.0, eps=1e-7, centered=False):
//       def f(w, g, s, t):
//           v = rho * s.get('v', 0 * w) + (1 - rho) * g * g; s['v'] = v
//           if centered:
//               a = rho * s.get('a', 0 * w) + (1 - rho) * g; s['a'] = a; den = v - a * a + eps
//           else: den = v + eps
//           inc = lr * g / np.sqrt(den)
//           if mu > 0:
//               m = mu * s.get('m', 0 * w) + inc; s['m'] = m; return w - m
//           return w - inc
//       return f
//   def adagrad(lr, init=0.1, eps=1e-7):
//       def f(w, g, s, t):
//           a = s.get('a', 0 * w + init) + g * g; s['a'] = a
//           return w - lr * g / np.sqrt(a + eps)
//       return f
//   def adadelta(lr, rho=0.95, eps=1e-7):
//       def f(w, g, s, t):
//           A = rho * s.get('A', 0 * w) + (1 - rho) * g * g; D = s.get('D', 0 * w)
//           d = -np.sqrt(D + eps) * g / np.sqrt(A + eps); s['A'] = A; s['D'] = rho * D + (1 - rho) * d * d
//           return w + lr * d
//       return f
//   def adamax(lr, b1=0.9, b2=0.999, eps=1e-7):
//       def f(w, g, s, t):
//           m = s.get('m', 0 * w) + (g - s.get('m', 0 * w)) * (1 - b1)
//           u = np.maximum(b2 * s.get('u', 0 * w), np.abs(g))
//           s.update(m=m, u=u); return w - lr * m / ((1 - b1**t) * (u + eps))
//       return f
//   def lion(lr, b1=0.9, b2=0.99):
//       def f(w, g, s, t):
//           m = s.get('m', 0 * w); s['m'] = b2 * m + (1 - b2) * g
//           return w - lr * np.sign(b1 * m + (1 - b1) * g)
//       return f
//   P = [1.0]
//   def nadam(lr, b1=0.9, b2=0.999, eps=1e-7):
//       def pre(t): P[0] *= b1 * (1 - 0.5 * 0.96**t)
//       def f(w, g, s, t):
//           mu_t = b1 * (1 - 0.5 * 0.96**t); mu_t1 = b1 * (1 - 0.5 * 0.96**(t + 1))
//           m = s.get('m', 0 * w); m = m + (g - m) * (1 - b1)
//           v = s.get('v', 0 * w); v = v + (g * g - v) * (1 - b2); s.update(m=m, v=v)
//           mh = mu_t1 * m / (1 - P[0] * mu_t1) + (1 - mu_t) * g / (1 - P[0]); vh = v / (1 - b2**t)
//           return w - lr * mh / (np.sqrt(vh) + eps)
//       return f, pre
//   # each test names the run(...) call whose printed values it embeds
//
// torch 1.13 (/usr/bin/python3):
//   import torch
//   W = [[1.0, -2.0, 3.0, 0.5], [0.1, 0.2, -0.3]]; B = [[0.5, -1.0, 0.25, 2.0], [-0.3, 0.0, 1.5]]
//   def run(make):
//       ps = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in W]; opt = make(ps)
//       for s in [1.0, -0.5, 2.0]:
//           for p, b in zip(ps, B): p.grad = torch.tensor(b, dtype=torch.float64) * s
//           opt.step()
//       print([p.tolist() for p in ps])
//   run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9))
//   run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True))
//   run(lambda ps: torch.optim.Adadelta(ps, lr=1.0, rho=0.95, eps=1e-7))
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "optimizers/optimizer_test_util.h"

namespace keel::optimizers {
namespace {

using testing::expect_values;
using testing::run_steps;

TEST(UpdateRules, SGDPlain) {
  SGD opt({.learning_rate = 0.1});  // numpy: run(sgd(0.1))
  expect_values(run_steps(opt), {{0.875, -1.75, 2.9375, 0}, {0.175, 0.2, -0.675}});
  EXPECT_EQ(opt.iterations(), 3);
}

TEST(UpdateRules, SGDMomentumMatchesNumpyAndTorch) {
  SGD opt({.learning_rate = 0.1, .momentum = 0.9});  // numpy: run(sgd(0.1, 0.9)); torch SGD(momentum=0.9)
  expect_values(run_steps(opt), {{0.812, -1.624, 2.906, -0.252}, {0.2128, 0.2, -0.864}});
}

TEST(UpdateRules, SGDNesterovMatchesNumpyAndTorch) {
  // numpy: run(sgd(0.1, 0.9, True)); torch SGD(momentum=0.9, nesterov=True)
  SGD opt({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});
  expect_values(run_steps(opt), {{0.7058, -1.4116, 2.8529, -0.6768}, {0.27652, 0.2, -1.1826}});
}

TEST(UpdateRules, Adam) {
  Adam opt({.learning_rate = 0.1});  // numpy: run(adam(0.1))
  expect_values(run_steps(opt),
                {{0.807556101, -1.80755562, 2.80755707, 0.307555377}, {0.292443256, 0.2, -0.492444542}});
}

TEST(UpdateRules, AdamEpsilonIsOutsideTheRootAndNotBiasCorrected) {
  Adam opt({.learning_rate = 0.1, .epsilon = 0.1});  // a large epsilon makes its placement visible
  // numpy: run(adam(0.1, eps=0.1))
  expect_values(run_steps(opt),
                {{0.964848715, -1.94137313, 2.98042029, 0.411291358}, {0.122966935, 0.2, -0.375672078}});
}

TEST(UpdateRules, AdamAmsgradUsesTheRunningMaximum) {
  // beta_2 = 0.5 makes v shrink at step 2, so amsgrad's max(v̂, v) differs from v.
  Adam plain({.learning_rate = 0.1, .beta_2 = 0.5});  // numpy: run(adam(0.1, b2=0.5))
  expect_values(run_steps(plain), {{0.81514982, -1.8151498, 2.81514987, 0.315149786}, {0.28485015, 0.2, -0.48485021}});
  Adam ams({.learning_rate = 0.1, .beta_2 = 0.5, .amsgrad = true});  // numpy: run(adam(0.1, b2=0.5, ams=True))
  expect_values(run_steps(ams), {{0.819138632, -1.81913861, 2.81913868, 0.3191386}, {0.280861339, 0.2, -0.480861397}});
}

TEST(UpdateRules, AdamWDecaysBeforeTheAdamStep) {
  AdamW opt({.learning_rate = 0.1});  // default weight_decay 0.004; numpy: run(adamw(0.1, 0.004))
  expect_values(run_steps(opt),
                {{0.806447218, -1.80524722, 2.80404914, 0.307046255}, {0.292232667, 0.199760096, -0.491994049}});
}

TEST(UpdateRules, RMSprop) {
  RMSprop opt({.learning_rate = 0.1});  // numpy: run(rmsprop(0.1))
  expect_values(run_steps(opt),
                {{0.549356748, -1.54935638, 2.54935821, 0.0493562906}, {0.550642384, 0.2, -0.750643686}});
}

TEST(UpdateRules, RMSpropEpsilonIsInsideTheRoot) {
  RMSprop opt({.learning_rate = 0.1, .epsilon = 0.1});  // numpy: run(rmsprop(0.1, eps=0.1))
  expect_values(run_steps(opt),
                {{0.717842168, -1.62677689, 2.82358543, 0.0756771971}, {0.303109305, 0.2, -0.708085134}});
}

TEST(UpdateRules, RMSpropCenteredWithMomentum) {
  // numpy: run(rmsprop(0.1, mu=0.5, centered=True))
  RMSprop opt({.learning_rate = 0.1, .momentum = 0.5, .centered = true});
  expect_values(run_steps(opt),
                {{0.340512867, -1.34051209, 2.34051598, -0.159488105}, {0.759485289, 0.2, -0.959488054}}, 1e-5);
}

TEST(UpdateRules, Adagrad) {
  Adagrad opt({.learning_rate = 0.1});  // numpy: run(adagrad(0.1))
  expect_values(run_steps(opt), {{0.8702689, -1.86121935, 2.89118402, 0.358427717}, {0.215583366, 0.2, -0.44082232}});
}

TEST(UpdateRules, AdadeltaMatchesNumpyAndTorch) {
  Adadelta opt({.learning_rate = 1.0});  // numpy: run(adadelta(1.0)); torch Adadelta(lr=1, rho=0.95, eps=1e-7)
  expect_values(run_steps(opt),
                {{0.997579413, -1.99757941, 2.99757943, 0.497579406}, {0.102420575, 0.2, -0.302420594}});
}

TEST(UpdateRules, Adamax) {
  Adamax opt({.learning_rate = 0.1});  // numpy: run(adamax(0.1))
  expect_values(run_steps(opt),
                {{0.835383888, -1.83538387, 2.83538392, 0.335383866}, {0.264616093, 0.2, -0.464616131}});
}

TEST(UpdateRules, Lion) {
  Lion opt({.learning_rate = 0.1});  // numpy: run(lion(0.1)): the second step's sign follows the gradient
  expect_values(run_steps(opt), {{0.9, -1.9, 2.9, 0.4}, {0.2, 0.2, -0.4}});
  Lion slow({.learning_rate = 0.1, .beta_1 = 0.99});  // numpy: run(lion(0.1, b1=0.99)): ... and here the momentum
  expect_values(run_steps(slow), {{0.7, -1.7, 2.7, 0.2}, {0.4, 0.2, -0.6}});
  EXPECT_EQ(Lion().get_config().at("beta_2").get<double>(), 0.99);
  EXPECT_EQ(Lion().name(), "lion");
  EXPECT_THROW(Lion({.beta_1 = 0.0}), ValueError);
}

TEST(UpdateRules, Nadam) {
  Nadam opt({.learning_rate = 0.1});  // numpy: f, pre = nadam(0.1); run(f, pre)
  expect_values(run_steps(opt), {{0.838192616, -1.8381926, 2.83819264, 0.338192596}, {0.261807367, 0.2, -0.461807401}});
  // u_product = Π_t β1(1 − ½·0.96^t) over t = 1..3.
  double p = 1.0;
  for (int t = 1; t <= 3; ++t) p *= 0.9 * (1.0 - 0.5 * std::pow(0.96, t));
  EXPECT_NEAR(opt.variables().back().value().item<float>(), p, 1e-7);
}

TEST(UpdateRules, DefaultsFollowKeras) {
  EXPECT_NEAR(SGD().learning_rate(), 0.01, 1e-9);
  EXPECT_NEAR(Adam().learning_rate(), 0.001, 1e-9);
  const nlohmann::json adam = Adam().get_config();
  EXPECT_EQ(adam.at("beta_1").get<double>(), 0.9);
  EXPECT_EQ(adam.at("beta_2").get<double>(), 0.999);
  EXPECT_EQ(adam.at("epsilon").get<double>(), 1e-7);
  EXPECT_EQ(adam.at("amsgrad").get<bool>(), false);
  EXPECT_EQ(AdamW().get_config().at("weight_decay").get<double>(), 0.004);
  const nlohmann::json rms = RMSprop().get_config();
  EXPECT_EQ(rms.at("rho").get<double>(), 0.9);
  EXPECT_EQ(rms.at("momentum").get<double>(), 0.0);
  EXPECT_EQ(Adagrad().get_config().at("initial_accumulator_value").get<double>(), 0.1);
  EXPECT_EQ(Adadelta().get_config().at("rho").get<double>(), 0.95);
  EXPECT_EQ(Nadam().get_config().at("epsilon").get<double>(), 1e-7);
  EXPECT_EQ(Adam().get_config().at("ema_momentum").get<double>(), 0.99);
  EXPECT_EQ(SGD().name(), "SGD");
  EXPECT_EQ(Adam().name(), "adam");
  EXPECT_EQ(AdamW().name(), "adamw");
  EXPECT_EQ(RMSprop().name(), "rmsprop");
}

}  // namespace
}  // namespace keel::optimizers
