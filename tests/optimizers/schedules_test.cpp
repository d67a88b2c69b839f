// Learning-rate schedules (keras-reference §5.3) at several steps, including staircase, cycle and warmup.
//
// Expected values from /usr/bin/python3 (plain math, written from the Keras docs' formulas):
//   import math
//   exp:        0.1 * 0.5**(s / 10)                 staircase: 0.1 * 0.5**math.floor(s / 10)
//   inverse:    0.1 / (1 + 0.5 * s / 10)            staircase: 0.1 / (1 + 0.5 * math.floor(s / 10))
//   polynomial: d = 10 * (max(1, math.ceil(s / 10)) if cycle else 1); s = s if cycle else min(s, 10)
//               (0.1 - 0.01) * (1 - s / d)**2 + 0.01
//   cosine:     0.1 * (0.9 * 0.5 * (1 + math.cos(math.pi * min(s, 10) / 10)) + 0.1)
//   warmup (lr0 0, target 0.1, 4 warmup steps, 10 decay steps):
//               0.1 * s / 4 if s < 4 else 0.1 * 0.5 * (1 + math.cos(math.pi * min(s - 4, 10) / 10))
//   restarts (walking the periods one by one):
//       start, period, i = 0.0, 10.0, 0
//       while s >= start + period: start += period; period *= t_mul; i += 1
//       0.1 * 0.5 * m_mul**i * (1 + math.cos(math.pi * (s - start) / period))
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "keel/core/error.h"
#include "keel/optimizers/schedules.h"

namespace keel::optimizers::schedules {
namespace {

void expect_at(const LearningRateSchedule& schedule, const std::vector<double>& steps,
               const std::vector<double>& expected) {
  ASSERT_EQ(steps.size(), expected.size());
  for (size_t i = 0; i < steps.size(); ++i)
    EXPECT_NEAR(schedule(steps[i]), expected[i], 1e-10) << schedule.class_name() << " at step " << steps[i];
}

TEST(Schedules, ExponentialDecay) {
  expect_at(ExponentialDecay({.initial_learning_rate = 0.1, .decay_steps = 10, .decay_rate = 0.5}), {0, 5, 10, 25},
            {0.1, 0.0707106781187, 0.05, 0.0176776695297});
  expect_at(ExponentialDecay({.initial_learning_rate = 0.1, .decay_steps = 10, .decay_rate = 0.5, .staircase = true}),
            {0, 5, 10, 25}, {0.1, 0.1, 0.05, 0.025});
}

TEST(Schedules, InverseTimeDecay) {
  expect_at(InverseTimeDecay({.initial_learning_rate = 0.1, .decay_steps = 10, .decay_rate = 0.5}), {0, 5, 25},
            {0.1, 0.08, 0.0444444444444});
  expect_at(InverseTimeDecay({.initial_learning_rate = 0.1, .decay_steps = 10, .decay_rate = 0.5, .staircase = true}),
            {0, 5, 25}, {0.1, 0.1, 0.05});
}

TEST(Schedules, PiecewiseConstantDecayBoundariesBelongToTheLowerInterval) {
  expect_at(PiecewiseConstantDecay({.boundaries = {10, 20}, .values = {1.0, 0.5, 0.1}}), {0, 10, 10.5, 20, 21},
            {1.0, 1.0, 0.5, 0.5, 0.1});
}

TEST(Schedules, PolynomialDecay) {
  expect_at(PolynomialDecay({.initial_learning_rate = 0.1, .decay_steps = 10, .end_learning_rate = 0.01, .power = 2}),
            {0, 5, 10, 15}, {0.1, 0.0325, 0.01, 0.01});
  expect_at(
      PolynomialDecay(
          {.initial_learning_rate = 0.1, .decay_steps = 10, .end_learning_rate = 0.01, .power = 2, .cycle = true}),
      {0, 5, 15, 20}, {0.1, 0.0325, 0.015625, 0.01});
}

TEST(Schedules, CosineDecay) {
  expect_at(CosineDecay({.initial_learning_rate = 0.1, .decay_steps = 10, .alpha = 0.1}), {0, 5, 10, 20},
            {0.1, 0.055, 0.01, 0.01});
}

TEST(Schedules, CosineDecayWithWarmup) {
  expect_at(CosineDecay({.initial_learning_rate = 0.0, .decay_steps = 10, .warmup_target = 0.1, .warmup_steps = 4}),
            {0, 2, 4, 9, 14, 20}, {0, 0.05, 0.1, 0.05, 0, 0});
}

TEST(Schedules, CosineDecayRestarts) {
  expect_at(CosineDecayRestarts({.initial_learning_rate = 0.1, .first_decay_steps = 10, .m_mul = 0.5}),
            {0, 5, 10, 20, 30, 35}, {0.1, 0.05, 0.05, 0.025, 0.025, 0.0240484941564});
  expect_at(CosineDecayRestarts({.initial_learning_rate = 0.1, .first_decay_steps = 10, .t_mul = 1.0}), {0, 5, 10, 15},
            {0.1, 0.05, 0.1, 0.05});
}

TEST(Schedules, InvalidArgumentsAreValueErrors) {
  EXPECT_THROW(ExponentialDecay({.initial_learning_rate = 0.1, .decay_steps = 0, .decay_rate = 0.5}), ValueError);
  EXPECT_THROW(ExponentialDecay({.initial_learning_rate = 0.1, .decay_steps = 10}), ValueError);  // no decay_rate
  EXPECT_THROW(InverseTimeDecay({.initial_learning_rate = 0.1, .decay_steps = -1, .decay_rate = 0.5}), ValueError);
  EXPECT_THROW(PolynomialDecay({.initial_learning_rate = 0.1}), ValueError);
  EXPECT_THROW(CosineDecay({.decay_steps = 10}), ValueError);  // no initial_learning_rate
  EXPECT_THROW(CosineDecayRestarts({.initial_learning_rate = 0.1, .first_decay_steps = 0}), ValueError);
  EXPECT_THROW(PiecewiseConstantDecay({.boundaries = {10, 20}, .values = {1.0, 0.5}}), ValueError);
}

TEST(Schedules, ConfigRoundTrip) {
  const CosineDecay original(
      {.initial_learning_rate = 0.0, .decay_steps = 10, .warmup_target = 0.1, .warmup_steps = 4});
  const nlohmann::json s = serialize(original);
  EXPECT_EQ(s.at("class_name"), "CosineDecay");
  EXPECT_EQ(s.at("config").at("decay_steps"), 10);
  EXPECT_EQ(s.at("config").at("warmup_target"), 0.1);
  EXPECT_EQ(s.at("config").at("name"), "CosineDecay");
  const auto copy = deserialize(s);
  for (double step : {0.0, 3.0, 9.0}) EXPECT_EQ((*copy)(step), original(step));
  EXPECT_THROW(deserialize({{"class_name", "NoSuchDecay"}, {"config", nlohmann::json::object()}}), ValueError);
}

}  // namespace
}  // namespace keel::optimizers::schedules
