// Kernel plans (Note [Kernel plans] in src/ops/kernel_plan.h): a replay recomputes what the recorded ops
// compute, from the values now in their input buffers, also after buffers are shared; dropout draws its
// next mask on replay, as running the op again would; and the recorder refuses what a replay cannot
// repeat, saying why.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/tensor_internals.h"
#include "keel/keel.h"
#include "ops/kernel_plan.h"
#include "ops/op_cases.h"
#include "ops/optimizer_update.h"

namespace keel::testing {
namespace {

Tensor chain(const Tensor& a, const Tensor& b) {
  Tensor c = ops::relu(ops::matmul(a, b) + 1.0);
  return ops::sum(ops::tanh(c * c) - ops::sigmoid(c), {1});
}

TEST(KernelPlan, ReplayRecomputesFromTheValuesNowInItsInputs) {
  const Tensor a = rand_uniform({8, 5}, DType::f32, 1), b = rand_uniform({5, 6}, DType::f32, 2);
  KernelPlanRecorder recorder;
  const Tensor out = chain(a, b);
  KernelPlan plan = recorder.finish();
  ASSERT_TRUE(plan.replayable()) << plan.not_replayable_because();
  EXPECT_GE(plan.size(), 7u);
  for (uint64_t seed : {3, 4}) {
    const Tensor a2 = rand_uniform({8, 5}, DType::f32, seed), b2 = rand_uniform({5, 6}, DType::f32, seed + 10);
    detail::copy_cpu(a2, a);
    detail::copy_cpu(b2, b);
    plan.replay();
    EXPECT_TRUE(all_close(out, chain(a2, b2), 0, 0));  // the same kernels on the same values: bit-equal
  }
}

TEST(KernelPlan, SharedBuffersGiveTheSameResults) {
  const Tensor a = rand_uniform({64, 64}, DType::f32, 5), b = rand_uniform({64, 64}, DType::f32, 6);
  KernelPlanRecorder recorder;
  const Tensor out = chain(a, b);
  KernelPlan plan = recorder.finish();
  const Tensor keep[] = {out};
  EXPECT_GE(plan.share_buffers(keep), 3u * 64 * 64 * sizeof(float));  // intermediates reuse earlier ones
  const Tensor a2 = rand_uniform({64, 64}, DType::f32, 7);
  detail::copy_cpu(a2, a);
  plan.replay();
  EXPECT_TRUE(all_close(out, chain(a2, b), 0, 0));
}

TEST(KernelPlan, DropoutDrawsItsNextMaskOnReplay) {
  const Tensor x = ones({1000});
  random::set_seed(11);
  const std::vector<float> first = ops::dropout(x, 0.5).to_vector<float>();
  const std::vector<float> second = ops::dropout(x, 0.5).to_vector<float>();
  ASSERT_NE(first, second);
  random::set_seed(11);
  KernelPlanRecorder recorder;
  const Tensor y = ops::dropout(x, 0.5);
  KernelPlan plan = recorder.finish();
  ASSERT_TRUE(plan.replayable()) << plan.not_replayable_because();
  EXPECT_EQ(y.to_vector<float>(), first);
  plan.replay();
  EXPECT_EQ(y.to_vector<float>(), second);
}

TEST(KernelPlan, RefusesCodeThatReadsValuesOnTheHost) {
  const Tensor a = rand_uniform({4}, DType::f32, 8);
  KernelPlanRecorder recorder;
  const Tensor s = ops::sum(a);
  if (s.item<float>() > 0) ops::neg(a);  // a decision a replay would not make again
  KernelPlan plan = recorder.finish();
  EXPECT_FALSE(plan.replayable());
  EXPECT_NE(plan.not_replayable_because().find("read tensor values on the host"), std::string::npos);
}

TEST(KernelPlan, ReadsThatOnlyValidateDoNotCount) {
  const Tensor a = rand_uniform({4}, DType::f32, 8);
  KernelPlanRecorder recorder;
  const Tensor s = ops::sum(a);
  {
    detail::ValidationReadScope only_checks;
    EXPECT_TRUE(std::isfinite(s.item<float>()));
  }
  KernelPlan plan = recorder.finish();
  EXPECT_TRUE(plan.replayable()) << plan.not_replayable_because();
}

TEST(KernelPlan, RefusesRandomDrawsItCannotRedraw) {
  const Tensor a = rand_uniform({4}, DType::f32, 9);
  KernelPlanRecorder recorder;
  const Tensor noisy = a + random::normal({4});
  KernelPlan plan = recorder.finish();
  EXPECT_FALSE(plan.replayable());
  EXPECT_NE(plan.not_replayable_because().find("random"), std::string::npos);
}

// A recorder inside another passes the reads and draws it sees on: the outer plan covers that code too.
TEST(KernelPlan, AnEnclosingRecorderSeesWhatAnInnerOneSaw) {
  const Tensor a = rand_uniform({4}, DType::f32, 10);
  KernelPlanRecorder outer;
  {
    KernelPlanRecorder inner;
    const Tensor s = ops::sum(a);
    EXPECT_TRUE(std::isfinite(s.item<float>()));
    const Tensor noisy = a + random::normal({4});
    KernelPlan inner_plan = inner.finish();
    EXPECT_FALSE(inner_plan.replayable());
  }
  const Tensor b = ops::neg(a);
  KernelPlan plan = outer.finish();
  EXPECT_FALSE(plan.replayable());
  EXPECT_NE(plan.not_replayable_because().find("read tensor values on the host"), std::string::npos);
  // Once both have finished, nothing observes the thread any more: a new recorder starts clean.
  KernelPlanRecorder fresh;
  const Tensor c = ops::neg(a);
  KernelPlan clean = fresh.finish();
  EXPECT_TRUE(clean.replayable()) << clean.not_replayable_because();
}

TEST(KernelPlan, RefusesKernelsThatWriteIntoBuffersTheyDidNotCreate) {
  // A fused Adam update writing the variable in place: a replay would start from the updated values.
  const Tensor w = rand_uniform({6}, DType::f32, 10), m = zeros({6}), v = zeros({6}),
               g = rand_uniform({6}, DType::f32, 11);
  KernelPlanRecorder recorder;
  adam_update(w, m, v, g, w, m, v, AdamUpdateAttrs{0.01, 0.9, 0.999, 1e-7});
  KernelPlan plan = recorder.finish();
  EXPECT_FALSE(plan.replayable());
  EXPECT_NE(plan.not_replayable_because().find("writes into a buffer it did not create"), std::string::npos)
      << plan.not_replayable_because();
}

}  // namespace
}  // namespace keel::testing
