// Op cases for dropout and the fused cross-entropies, plus dropout's statistical and determinism tests
// (the mask comes from Philox: same seed, same mask, on every backend and thread count).
#include <cmath>

#include "ops/dispatch.h"
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;

// Soft labels in [0, 1] (rows not normalised, so the sum(labels) term of the gradient matters).
Tensor soft_labels(const Shape& s, DType dt, uint64_t seed) { return rand_uniform(s, dt, seed, 0.0, 1.0); }

KEEL_OP_CASES({
    OpCase{"dropout_seeded", {OpId::DropoutMask},
           [](DType dt) { return V{rand_uniform({6, 8}, dt, 71)}; },
           [](const V& in) { return ops::dropout(in[0], 0.4, 1234); }, {0}},
    OpCase{"dropout_seeded_transposed", {OpId::DropoutMask},
           [](DType dt) { return V{rand_uniform({5, 3}, dt, 72)}; },
           [](const V& in) { return ops::dropout(ops::transpose(in[0]), 0.25, 99); }, {0}},
    OpCase{"sigmoid_cross_entropy", {OpId::SigmoidCrossEntropy},
           [](DType dt) { return V{soft_labels({3, 4}, dt, 81), rand_away_from_zero({3, 4}, dt, 82, 0.1, 3.0)}; },
           [](const V& in) { return ops::sigmoid_cross_entropy_with_logits(in[0], in[1]); }, {0, 1}},
    OpCase{"sigmoid_cross_entropy_transposed", {OpId::SigmoidCrossEntropy},
           [](DType dt) { return V{soft_labels({4, 2}, dt, 83), rand_away_from_zero({4, 2}, dt, 84, 0.1, 3.0)}; },
           [](const V& in) {
             return ops::sigmoid_cross_entropy_with_logits(ops::transpose(in[0]), ops::transpose(in[1]));
           },
           {0, 1}},
    OpCase{"sigmoid_cross_entropy_large_logits", {OpId::SigmoidCrossEntropy},
           [](DType dt) { return V{soft_labels({2, 3}, dt, 85), rand_away_from_zero({2, 3}, dt, 86, 0.5, 1.0)}; },
           [](const V& in) { return ops::sigmoid_cross_entropy_with_logits(in[0], in[1] * 60.0); }, {0, 1},
           1e-5, 1e-4},
    OpCase{"softmax_cross_entropy_last_axis", {OpId::SoftmaxCrossEntropy},
           [](DType dt) { return V{soft_labels({4, 5}, dt, 91), rand_uniform({4, 5}, dt, 92, -2, 2)}; },
           [](const V& in) { return ops::softmax_cross_entropy_with_logits(in[0], in[1]); }, {0, 1}},
    OpCase{"softmax_cross_entropy_axis0", {OpId::SoftmaxCrossEntropy},
           [](DType dt) { return V{soft_labels({5, 3}, dt, 93), rand_uniform({5, 3}, dt, 94, -2, 2)}; },
           [](const V& in) { return ops::softmax_cross_entropy_with_logits(in[0], in[1], 0); }, {0, 1}},
    OpCase{"softmax_cross_entropy_3d_transposed", {OpId::SoftmaxCrossEntropy},
           [](DType dt) { return V{soft_labels({4, 3, 2}, dt, 95), rand_uniform({4, 3, 2}, dt, 96, -2, 2)}; },
           [](const V& in) {  // (2, 3, 4) views, classes along the middle axis
             return ops::softmax_cross_entropy_with_logits(ops::transpose(in[0]), ops::transpose(in[1]), 1);
           },
           {0, 1}},
    OpCase{"softmax_cross_entropy_large_logits", {OpId::SoftmaxCrossEntropy},
           [](DType dt) { return V{soft_labels({2, 4}, dt, 97), rand_uniform({2, 4}, dt, 98, -1, 1)}; },
           [](const V& in) { return ops::softmax_cross_entropy_with_logits(in[0], in[1] * 80.0); }, {0, 1},
           1e-5, 1e-4},
    OpCase{"softmax_cross_entropy_empty_batch", {OpId::SoftmaxCrossEntropy},
           [](DType dt) { return V{soft_labels({0, 4}, dt, 99), rand_uniform({0, 4}, dt, 100)}; },
           [](const V& in) { return ops::softmax_cross_entropy_with_logits(in[0], in[1]); }, {}},
    OpCase{"sparse_softmax_cross_entropy", {OpId::SparseSoftmaxCrossEntropy},
           [](DType dt) { return V{rand_int({4}, 0, 5, 101), rand_uniform({4, 5}, dt, 102, -2, 2)}; },
           [](const V& in) { return ops::sparse_softmax_cross_entropy_with_logits(in[0], in[1]); }, {1}},
    OpCase{"sparse_softmax_cross_entropy_3d_int32", {OpId::SparseSoftmaxCrossEntropy},
           [](DType dt) {
             return V{rand_int({2, 3}, 0, 4, 103, DType::i32), rand_uniform({2, 3, 4}, dt, 104, -2, 2)};
           },
           [](const V& in) { return ops::sparse_softmax_cross_entropy_with_logits(in[0], in[1]); }, {1}},
    OpCase{"sparse_softmax_cross_entropy_transposed", {OpId::SparseSoftmaxCrossEntropy},
           [](DType dt) { return V{rand_int({3}, 0, 4, 105), rand_uniform({4, 3}, dt, 106, -2, 2)}; },
           [](const V& in) {  // logits viewed as (3, 4)
             return ops::sparse_softmax_cross_entropy_with_logits(in[0], ops::transpose(in[1]));
           },
           {1}},
    OpCase{"sparse_softmax_cross_entropy_large_logits", {OpId::SparseSoftmaxCrossEntropy},
           [](DType dt) { return V{rand_int({3}, 0, 3, 107), rand_uniform({3, 3}, dt, 108, -1, 1)}; },
           [](const V& in) { return ops::sparse_softmax_cross_entropy_with_logits(in[0], in[1] * 80.0); }, {1},
           1e-5, 1e-4},
});

TEST(Dropout, SameSeedSameMaskDifferentSeedDifferentMask) {
  Tensor x = ones({64, 64});
  std::vector<float> a = ops::dropout(x, 0.5, 7).to_vector<float>();
  EXPECT_EQ(a, ops::dropout(x, 0.5, 7).to_vector<float>());
  EXPECT_NE(a, ops::dropout(x, 0.5, 8).to_vector<float>());
}

TEST(Dropout, KeptFractionAndScale) {
  const double rate = 0.3;
  Tensor x = full({1000, 1000}, 2.0);
  std::vector<float> y = ops::dropout(x, rate, 2024).to_vector<float>();
  int64_t kept = 0;
  for (float v : y) {
    if (v == 0.0f) continue;
    ++kept;
    ASSERT_FLOAT_EQ(v, static_cast<float>(2.0 / (1.0 - rate)));
  }
  // 1e6 Bernoulli(0.7) draws: the standard deviation of the fraction is ~4.6e-4.
  EXPECT_NEAR(static_cast<double>(kept) / 1e6, 1.0 - rate, 3e-3);
}

TEST(Dropout, CpuAndReferenceKernelsGiveTheSameMaskAtAnyThreadCount) {
  Tensor x = ones({257, 33});  // not a multiple of 4 elements: the last Philox block is partial
  std::vector<float> ref;
  {
    ReferenceKernelsScope reference;
    ref = ops::dropout(x, 0.45, 31337).to_vector<float>();
  }
  const int threads = config::get_num_threads();
  for (int n : {1, 2, 3}) {
    config::set_num_threads(n);
    EXPECT_EQ(ops::dropout(x, 0.45, 31337).to_vector<float>(), ref) << n << " threads";
  }
  config::set_num_threads(threads);
}

TEST(Dropout, RateZeroIsIdentityAndUnseededCallsAdvanceTheGlobalStream) {
  Tensor x = ones({16, 16});
  EXPECT_TRUE(ops::dropout(x, 0.0).is_same(x));
  random::set_seed(5);
  std::vector<float> first = ops::dropout(x, 0.5).to_vector<float>();
  std::vector<float> second = ops::dropout(x, 0.5).to_vector<float>();
  EXPECT_NE(first, second);
  random::set_seed(5);
  EXPECT_EQ(ops::dropout(x, 0.5).to_vector<float>(), first);
}

TEST(Dropout, GradientIsTheScaledMask) {
  Tensor x = rand_uniform({8, 8}, DType::f32, 3).requires_grad_();
  Tensor y = ops::dropout(x, 0.5, 11);
  ops::sum(y).backward();
  std::vector<float> g = x.grad().to_vector<float>(), yv = y.to_vector<float>();
  for (size_t i = 0; i < g.size(); ++i) EXPECT_FLOAT_EQ(g[i], yv[i] == 0.0f ? 0.0f : 2.0f) << i;
}

}  // namespace
}  // namespace keel::testing
