// Op cases for matmul and dense: 2-D, batched, broadcast batch dims, 1-D promotion, transposed views
// (read in place by oneDNN), strided slices and broadcast views (copied first), size-1 and empty dims.
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;

KEEL_OP_CASES({
    OpCase{"matmul_2d", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({3, 4}, dt, 1), rand_uniform({4, 5}, dt, 2)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_batched", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({2, 3, 4}, dt, 3), rand_uniform({2, 4, 2}, dt, 4)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_broadcast_batch", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({2, 1, 3, 4}, dt, 5), rand_uniform({3, 4, 2}, dt, 6)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_batched_times_2d", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({2, 3, 4}, dt, 7), rand_uniform({4, 5}, dt, 8)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_2d_times_batched", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({3, 4}, dt, 9), rand_uniform({2, 4, 2}, dt, 10)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_1d_1d", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({4}, dt, 11), rand_uniform({4}, dt, 12)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_1d_2d", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({4}, dt, 13), rand_uniform({4, 3}, dt, 14)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_2d_1d", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({3, 4}, dt, 15), rand_uniform({4}, dt, 16)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_1d_batched", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({4}, dt, 17), rand_uniform({2, 4, 3}, dt, 18)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_transposed_views", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({4, 3}, dt, 19), rand_uniform({5, 4}, dt, 20)}; },
           [](const V& in) { return ops::matmul(ops::transpose(in[0]), ops::transpose(in[1])); }, {0, 1}},
    OpCase{"matmul_batched_transposed_views", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({2, 4, 3}, dt, 21), rand_uniform({2, 3, 4}, dt, 22)}; },
           [](const V& in) { return ops::matmul(ops::transpose(in[0], {0, 2, 1}), ops::transpose(in[1], {0, 2, 1})); },
           {0, 1}},
    OpCase{"matmul_strided_slice", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({3, 8}, dt, 23), rand_uniform({4, 2}, dt, 24)}; },
           [](const V& in) { return ops::matmul(ops::slice_axis(in[0], 1, 0, 8, 2), in[1]); }, {0, 1}},
    OpCase{"matmul_broadcast_view", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({3, 2, 4}, dt, 25), rand_uniform({4, 2}, dt, 26)}; },
           [](const V& in) { return ops::matmul(in[0], ops::broadcast_to(in[1], {3, 4, 2})); }, {0, 1}},
    OpCase{"matmul_size1_dims", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({1, 4}, dt, 27), rand_uniform({4, 1}, dt, 28)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_inner_size1", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({3, 1}, dt, 29), rand_uniform({1, 2}, dt, 30)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {0, 1}},
    OpCase{"matmul_empty_rows", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({0, 3}, dt, 31), rand_uniform({3, 2}, dt, 32)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {}},
    OpCase{"matmul_empty_contraction", {OpId::MatMul},
           [](DType dt) { return V{rand_uniform({2, 0}, dt, 33), rand_uniform({0, 3}, dt, 34)}; },
           [](const V& in) { return ops::matmul(in[0], in[1]); }, {}},
    OpCase{"dense_2d", {OpId::Dense},
           [](DType dt) {
             return V{rand_uniform({3, 4}, dt, 41), rand_uniform({4, 5}, dt, 42), rand_uniform({5}, dt, 43)};
           },
           [](const V& in) { return ops::dense(in[0], in[1], in[2]); }, {0, 1, 2}},
    OpCase{"dense_3d_input", {OpId::Dense},
           [](DType dt) {
             return V{rand_uniform({2, 3, 4}, dt, 44), rand_uniform({4, 2}, dt, 45), rand_uniform({2}, dt, 46)};
           },
           [](const V& in) { return ops::dense(in[0], in[1], in[2]); }, {0, 1, 2}},
    OpCase{"dense_no_bias", {OpId::Dense},
           [](DType dt) { return V{rand_uniform({3, 4}, dt, 47), rand_uniform({4, 3}, dt, 48)}; },
           [](const V& in) { return ops::dense(in[0], in[1]); }, {0, 1}},
    OpCase{"dense_1d_input", {OpId::Dense},
           [](DType dt) {
             return V{rand_uniform({4}, dt, 49), rand_uniform({4, 3}, dt, 50), rand_uniform({3}, dt, 51)};
           },
           [](const V& in) { return ops::dense(in[0], in[1], in[2]); }, {0, 1, 2}},
    OpCase{"dense_transposed_views", {OpId::Dense},
           [](DType dt) {
             return V{rand_uniform({4, 3}, dt, 52), rand_uniform({5, 4}, dt, 53), rand_uniform({5}, dt, 54)};
           },
           [](const V& in) { return ops::dense(ops::transpose(in[0]), ops::transpose(in[1]), in[2]); }, {0, 1, 2}},
    OpCase{"dense_strided_bias", {OpId::Dense},
           [](DType dt) {
             return V{rand_uniform({3, 4}, dt, 55), rand_uniform({4, 3}, dt, 56), rand_uniform({6}, dt, 57)};
           },
           [](const V& in) { return ops::dense(in[0], in[1], ops::slice_axis(in[2], 0, 0, 6, 2)); }, {0, 1, 2}},
    OpCase{"dense_empty_rows", {OpId::Dense},
           [](DType dt) {
             return V{rand_uniform({0, 4}, dt, 58), rand_uniform({4, 3}, dt, 59), rand_uniform({3}, dt, 60)};
           },
           [](const V& in) { return ops::dense(in[0], in[1], in[2]); }, {}},
    OpCase{"dense_empty_contraction", {OpId::Dense},
           [](DType dt) {
             return V{rand_uniform({2, 0}, dt, 61), rand_uniform({0, 3}, dt, 62), rand_uniform({3}, dt, 63)};
           },
           [](const V& in) { return ops::dense(in[0], in[1], in[2]); }, {}},
});

}  // namespace
}  // namespace keel::testing
