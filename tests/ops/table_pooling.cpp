// Op cases for max and average pooling: valid/same (TensorFlow padding, odd and even sizes), overlapping
// windows, per-axis strides, 1-D forms, a non-contiguous input, an empty batch, and AvgPoolBackward called
// directly so its own gradient is checked. Inputs are continuous random values, so max windows have no ties.
#include "ops/op_cases.h"
#include "ops/pooling_attrs.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;

ops::PoolOptions popts(std::vector<int64_t> strides, std::string padding) {
  return ops::PoolOptions{std::move(strides), std::move(padding)};
}

OpCase pool_case(std::string name, std::vector<OpId> covers, Shape xs, std::function<Tensor(const V&)> f,
                 uint64_t seed) {
  return OpCase{std::move(name), std::move(covers), [xs, seed](DType dt) { return V{rand_uniform(xs, dt, seed)}; },
                std::move(f), {0}};
}

const std::vector<OpId> kMax = {OpId::MaxPool, OpId::MaxPoolBackward};
const std::vector<OpId> kAvg = {OpId::AvgPool, OpId::AvgPoolBackward};

KEEL_OP_CASES({
    pool_case("max_pool2d_valid", kMax, {2, 4, 5, 2}, [](const V& in) { return ops::max_pool2d(in[0], {2}); }, 1),
    pool_case("max_pool2d_same_stride2", kMax, {1, 5, 6, 2},
              [](const V& in) { return ops::max_pool2d(in[0], {3}, popts({2}, "same")); }, 2),
    pool_case("max_pool2d_overlapping_windows", kMax, {1, 5, 5, 2},
              [](const V& in) { return ops::max_pool2d(in[0], {3, 2}, popts({1}, "valid")); }, 3),
    pool_case("max_pool2d_same_even_window", kMax, {1, 5, 4, 2},
              [](const V& in) { return ops::max_pool2d(in[0], {2}, popts({1, 2}, "same")); }, 4),
    pool_case("max_pool2d_noncontiguous_input", kMax, {3, 4, 4, 1},
              [](const V& in) { return ops::max_pool2d(ops::transpose(in[0]), {2}, popts({1}, "same")); }, 5),
    pool_case("max_pool1d_valid", kMax, {2, 7, 2}, [](const V& in) { return ops::max_pool1d(in[0], {2}); }, 6),
    pool_case("max_pool1d_same_stride2", kMax, {2, 7, 2},
              [](const V& in) { return ops::max_pool1d(in[0], {3}, popts({2}, "same")); }, 7),
    pool_case("avg_pool2d_valid", kAvg, {2, 4, 5, 2}, [](const V& in) { return ops::avg_pool2d(in[0], {2}); }, 8),
    pool_case("avg_pool2d_same_excludes_padding", kAvg, {1, 5, 6, 2},
              [](const V& in) { return ops::avg_pool2d(in[0], {3}, popts({2}, "same")); }, 9),
    pool_case("avg_pool2d_overlapping_per_axis", kAvg, {1, 5, 5, 2},
              [](const V& in) { return ops::avg_pool2d(in[0], {2, 3}, popts({1, 2}, "valid")); }, 10),
    pool_case("avg_pool2d_same_even_window", kAvg, {1, 4, 5, 2},
              [](const V& in) { return ops::avg_pool2d(in[0], {2}, popts({1}, "same")); }, 11),
    pool_case("avg_pool2d_noncontiguous_input", kAvg, {3, 4, 4, 1},
              [](const V& in) { return ops::avg_pool2d(ops::transpose(in[0]), {2}, popts({2}, "same")); }, 12),
    pool_case("avg_pool1d_same", kAvg, {2, 7, 2},
              [](const V& in) { return ops::avg_pool1d(in[0], {3}, popts({2}, "same")); }, 13),
    // AvgPoolBackward as a function of grad_y: 3x3 windows, stride 2, 'same' padding on a 5x6 input.
    pool_case("avg_pool_backward_direct", kAvg, {1, 3, 3, 2},
              [](const V& in) {
                PoolAttrs a;
                a.window = {3, 3};
                a.strides = {2, 2};
                a.pad_before = {1, 0};
                a.pad_after = {1, 1};
                a.input_shape = {1, 5, 6, 2};
                return detail::avg_pool_backward(in[0], a);
              },
              14),
    OpCase{"max_pool2d_empty_batch", kMax, [](DType dt) { return V{rand_uniform({0, 4, 4, 2}, dt, 15)}; },
           [](const V& in) { return ops::max_pool2d(in[0], {2}); }, {}},
    OpCase{"avg_pool2d_empty_batch", kAvg, [](DType dt) { return V{rand_uniform({0, 4, 4, 2}, dt, 16)}; },
           [](const V& in) { return ops::avg_pool2d(in[0], {2}, popts({}, "same")); }, {}},
});

}  // namespace
}  // namespace keel::testing
