// Op cases for batch normalisation (training and inference) and layer normalisation: channels-last and
// other axes, non-contiguous views, gradients through the returned batch statistics, empty batches.
#include "ops/dispatch.h"
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;

// x, gamma, beta with C channels.
V bn_inputs(const Shape& x_shape, int64_t c, DType dt, uint64_t seed) {
  return {rand_uniform(x_shape, dt, seed, -2, 2), rand_uniform({c}, dt, seed + 1, 0.5, 1.5),
          rand_uniform({c}, dt, seed + 2, -0.5, 0.5)};
}

// x, mean, variance, gamma, beta with C channels.
V bn_inference_inputs(const Shape& x_shape, int64_t c, DType dt, uint64_t seed) {
  return {rand_uniform(x_shape, dt, seed, -2, 2), rand_uniform({c}, dt, seed + 1, -0.5, 0.5),
          rand_uniform({c}, dt, seed + 2, 0.5, 1.5), rand_uniform({c}, dt, seed + 3, 0.5, 1.5),
          rand_uniform({c}, dt, seed + 4, -0.5, 0.5)};
}

KEEL_OP_CASES({
    OpCase{"batch_norm_train_last_axis", {OpId::BatchNormTrain, OpId::BatchNormBackward},
           [](DType dt) { return bn_inputs({6, 3}, 3, dt, 21); },
           [](const V& in) { return ops::batch_norm_train(in[0], in[1], in[2]).y; }, {0, 1, 2}},
    OpCase{"batch_norm_train_nhwc", {OpId::BatchNormTrain, OpId::BatchNormBackward},
           [](DType dt) { return bn_inputs({2, 2, 3, 2}, 2, dt, 24); },
           [](const V& in) { return ops::batch_norm_train(in[0], in[1], in[2], -1, 1e-2).y; }, {0, 1, 2}},
    OpCase{"batch_norm_train_axis1", {OpId::BatchNormTrain, OpId::BatchNormBackward},
           [](DType dt) { return bn_inputs({3, 4, 2}, 4, dt, 27); },
           [](const V& in) { return ops::batch_norm_train(in[0], in[1], in[2], 1).y; }, {0, 1, 2}},
    OpCase{"batch_norm_train_transposed", {OpId::BatchNormTrain, OpId::BatchNormBackward},
           [](DType dt) { return bn_inputs({3, 5}, 3, dt, 30); },  // x viewed as (5, 3)
           [](const V& in) { return ops::batch_norm_train(ops::transpose(in[0]), in[1], in[2]).y; }, {0, 1, 2}},
    OpCase{"batch_norm_train_y_and_stats", {OpId::BatchNormTrain, OpId::BatchNormBackward},
           [](DType dt) { return bn_inputs({5, 3}, 3, dt, 33); },
           [](const V& in) {
             auto r = ops::batch_norm_train(in[0], in[1], in[2]);
             return ops::add(r.y, ops::multiply(r.mean, r.variance));
           },
           {0, 1, 2}},
    OpCase{"batch_norm_train_moments_only", {OpId::BatchNormTrain},
           [](DType dt) { return bn_inputs({4, 2, 3}, 2, dt, 36); },
           [](const V& in) {
             auto r = ops::batch_norm_train(in[0], in[1], in[2], 1);
             return ops::add(r.mean, ops::multiply(r.variance, r.variance));
           },
           {0}},
    OpCase{"batch_norm_train_empty_batch", {OpId::BatchNormTrain},
           [](DType dt) { return bn_inputs({0, 3}, 3, dt, 39); },
           [](const V& in) { return ops::batch_norm_train(in[0], in[1], in[2]).y; }, {}},
    OpCase{"batch_norm_inference_last_axis", {OpId::BatchNormInference},
           [](DType dt) { return bn_inference_inputs({4, 3}, 3, dt, 41); },
           [](const V& in) { return ops::batch_norm_inference(in[0], in[1], in[2], in[3], in[4]); },
           {0, 1, 2, 3, 4}},
    OpCase{"batch_norm_inference_axis1_transposed", {OpId::BatchNormInference},
           [](DType dt) { return bn_inference_inputs({4, 3, 2}, 3, dt, 46); },  // x viewed as (2, 3, 4)
           [](const V& in) {
             return ops::batch_norm_inference(ops::transpose(in[0]), in[1], in[2], in[3], in[4], 1, 1e-2);
           },
           {0, 1, 2, 3, 4}},
    OpCase{"layer_norm_last_axis", {OpId::LayerNorm, OpId::LayerNormBackward},
           [](DType dt) { return bn_inputs({4, 5}, 5, dt, 51); },
           [](const V& in) { return ops::layer_norm(in[0], in[1], in[2]); }, {0, 1, 2}},
    OpCase{"layer_norm_two_axes", {OpId::LayerNorm, OpId::LayerNormBackward},
           [](DType dt) {
             return V{rand_uniform({2, 3, 4}, dt, 54, -2, 2), rand_uniform({3, 4}, dt, 55, 0.5, 1.5),
                      rand_uniform({3, 4}, dt, 56, -0.5, 0.5)};
           },
           [](const V& in) { return ops::layer_norm(in[0], in[1], in[2], {-2, -1}, 1e-2); }, {0, 1, 2}},
    OpCase{"layer_norm_transposed", {OpId::LayerNorm, OpId::LayerNormBackward},
           [](DType dt) {
             return V{rand_uniform({4, 3}, dt, 57, -2, 2), rand_uniform({4}, dt, 58, 0.5, 1.5),
                      rand_uniform({4}, dt, 59, -0.5, 0.5)};
           },
           [](const V& in) { return ops::layer_norm(ops::transpose(in[0]), in[1], in[2]); },  // x viewed as (3, 4)
           {0, 1, 2}},
    OpCase{"layer_norm_1d", {OpId::LayerNorm, OpId::LayerNormBackward},
           [](DType dt) { return bn_inputs({6}, 6, dt, 60); },
           [](const V& in) { return ops::layer_norm(in[0], in[1], in[2], {0}); }, {0, 1, 2}},
    OpCase{"layer_norm_empty_batch", {OpId::LayerNorm},
           [](DType dt) { return bn_inputs({0, 4}, 4, dt, 63); },
           [](const V& in) { return ops::layer_norm(in[0], in[1], in[2]); }, {}},
});

}  // namespace
}  // namespace keel::testing

namespace keel::testing {
namespace {

// (2, 3, 4) normalised over its last axis and (2, 4, 3) over axis 1 reach oneDNN with equal 4-D dims but
// different layouts (nhwc vs nchw): the cached primitives must not be confused.
TEST(BatchNormCpu, ShapesWithEqualOneDnnDimsButDifferentLayouts) {
  Tensor a = rand_uniform({2, 3, 4}, DType::f32, 1, -2, 2), b = rand_uniform({2, 4, 3}, DType::f32, 2, -2, 2);
  Tensor g = rand_uniform({4}, DType::f32, 3, 0.5, 1.5), beta = rand_uniform({4}, DType::f32, 4);
  for (int round = 0; round < 2; ++round) {
    Tensor ya = ops::batch_norm_train(a, g, beta, -1).y, yb = ops::batch_norm_train(b, g, beta, 1).y;
    ReferenceKernelsScope reference;
    EXPECT_TRUE(all_close(ya, ops::batch_norm_train(a, g, beta, -1).y, 1e-5, 1e-5));
    EXPECT_TRUE(all_close(yb, ops::batch_norm_train(b, g, beta, 1).y, 1e-5, 1e-5));
  }
}

// Channel axis first with only size-1 axes after it: one element per channel.
TEST(BatchNormCpu, LeadingChannelAxisWithTrailingOnes) {
  Tensor x = rand_uniform({3, 1, 1}, DType::f32, 5, -2, 2);
  Tensor g = rand_uniform({3}, DType::f32, 6, 0.5, 1.5), beta = rand_uniform({3}, DType::f32, 7);
  auto fast = ops::batch_norm_train(x, g, beta, 0);
  ReferenceKernelsScope reference;
  auto ref = ops::batch_norm_train(x, g, beta, 0);
  EXPECT_TRUE(all_close(fast.y, ref.y, 1e-5, 1e-5));
  EXPECT_TRUE(all_close(fast.mean, ref.mean, 1e-6, 1e-6));
  EXPECT_TRUE(all_close(fast.variance, ref.variance, 1e-6, 1e-6));
}

}  // namespace
}  // namespace keel::testing
