// Op cases for the reductions: sum/max/min/prod over rows, columns, middle and several axes, keepdims,
// size-1 and empty axes, non-contiguous inputs, ties and zeros (gradients), inputs large enough for the
// threaded paths (built with tile inside fn so fixtures stay small), argmax/argmin, and the composites
// mean, var, std and logsumexp.
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;
constexpr OpId kSum = OpId::Sum, kMax = OpId::Max, kMin = OpId::Min, kProd = OpId::Prod;

Tensor values(const std::vector<double>& v, const Shape& shape, DType dt) { return from_vector(v, shape).astype(dt); }

KEEL_OP_CASES({
    // --- sum ---
    OpCase{"sum_all", {kSum}, [](DType dt) { return V{rand_uniform({3, 4}, dt, 101)}; },
           [](const V& in) { return ops::sum(in[0]); }, {0}},
    OpCase{"sum_axis0_columns", {kSum}, [](DType dt) { return V{rand_uniform({5, 4}, dt, 102)}; },
           [](const V& in) { return ops::sum(in[0], {0}); }, {0}},
    OpCase{"sum_last_axis_keepdims", {kSum}, [](DType dt) { return V{rand_uniform({3, 5}, dt, 103)}; },
           [](const V& in) { return ops::sum(in[0], {-1}, true); }, {0}},
    OpCase{"sum_middle_axis", {kSum}, [](DType dt) { return V{rand_uniform({2, 3, 4}, dt, 104)}; },
           [](const V& in) { return ops::sum(in[0], {1}); }, {0}},
    OpCase{"sum_outer_and_inner_axes_transposed", {kSum, OpId::Transpose},
           [](DType dt) { return V{rand_uniform({4, 3, 2}, dt, 105)}; },
           [](const V& in) { return ops::sum(ops::transpose(in[0]), {0, 2}); }, {0}},
    OpCase{"sum_size1_axes", {kSum}, [](DType dt) { return V{rand_uniform({1, 4, 1}, dt, 106)}; },
           [](const V& in) { return ops::sum(in[0], {0, 2}, true); }, {0}},
    OpCase{"sum_empty_axis", {kSum}, [](DType dt) { return V{rand_uniform({0, 3}, dt, 107)}; },
           [](const V& in) { return ops::sum(in[0], {0}); }, {}},
    OpCase{"sum_int32_keeps_dtype", {kSum}, [](DType) { return V{rand_int({3, 4}, -5, 5, 108, DType::i32)}; },
           [](const V& in) { return ops::sum(in[0], {1}); }, {}},
    OpCase{"sum_threaded_rows", {kSum, OpId::Reshape, OpId::BroadcastTo},
           [](DType dt) { return V{rand_uniform({2, 41}, dt, 109, 0.5, 1.5)}; },
           [](const V& in) { return ops::sum(ops::tile(in[0], {4, 100}), {1}); }, {0}, 1e-5, 1e-4},
    OpCase{"sum_threaded_full", {kSum}, [](DType dt) { return V{rand_uniform({4, 5}, dt, 110, 0.5, 1.5)}; },
           [](const V& in) { return ops::sum(ops::tile(in[0], {40, 50})); }, {0}, 1e-5, 1e-4},
    OpCase{"sum_threaded_columns", {kSum}, [](DType dt) { return V{rand_uniform({3, 16}, dt, 111, 0.5, 1.5)}; },
           [](const V& in) { return ops::sum(ops::tile(in[0], {1000, 1}), {0}); }, {0}, 1e-5, 1e-4},
    // --- max / min (ties share the gradient equally; a 2-way tie matches central differences) ---
    OpCase{"max_axis1", {kMax}, [](DType dt) { return V{rand_uniform({3, 5}, dt, 121)}; },
           [](const V& in) { return ops::max(in[0], {1}); }, {0}},
    OpCase{"max_all_transposed", {kMax}, [](DType dt) { return V{rand_uniform({3, 4}, dt, 122)}; },
           [](const V& in) { return ops::max(ops::transpose(in[0])); }, {0}},
    OpCase{"max_ties_keepdims", {kMax},
           [](DType dt) { return V{values({1, 3, 2, 3, 0.5, -1, 0.5, -2, 2.5, 0, 1, 2.5}, {3, 4}, dt)}; },
           [](const V& in) { return ops::max(in[0], {1}, true); }, {0}},
    OpCase{"max_middle_axis", {kMax}, [](DType dt) { return V{rand_uniform({2, 3, 4}, dt, 123)}; },
           [](const V& in) { return ops::max(in[0], {1}); }, {0}},
    OpCase{"min_axis0_keepdims", {kMin}, [](DType dt) { return V{rand_uniform({4, 3}, dt, 124)}; },
           [](const V& in) { return ops::min(in[0], {0}, true); }, {0}},
    OpCase{"min_ties", {kMin}, [](DType dt) { return V{values({2, -1, 3, -1, 0, 4}, {2, 3}, dt)}; },
           [](const V& in) { return ops::min(in[0], {0, 1}); }, {0}},
    OpCase{"max_int64", {kMax}, [](DType) { return V{rand_int({4, 5}, -50, 50, 125)}; },
           [](const V& in) { return ops::max(in[0], {0}); }, {}},
    // --- prod (zeros: none, one, two per row) ---
    OpCase{"prod_axis1", {kProd}, [](DType dt) { return V{rand_away_from_zero({3, 4}, dt, 131, 0.5, 1.5)}; },
           [](const V& in) { return ops::prod(in[0], {1}); }, {0}},
    OpCase{"prod_all", {kProd}, [](DType dt) { return V{rand_away_from_zero({2, 3}, dt, 132, 0.5, 1.5)}; },
           [](const V& in) { return ops::prod(in[0]); }, {0}},
    OpCase{"prod_with_zeros", {kProd},
           [](DType dt) { return V{values({0.5, -2, 1.5, 3, 0, 2, -1.5, 0.5, 0, 1.25, 0, 2}, {3, 4}, dt)}; },
           [](const V& in) { return ops::prod(in[0], {1}); }, {0}},
    OpCase{"prod_axis0_transposed", {kProd}, [](DType dt) { return V{rand_uniform({3, 2}, dt, 133, 0.5, 1.5)}; },
           [](const V& in) { return ops::prod(ops::transpose(in[0]), {0}, true); }, {0}},
    // --- argmax / argmin ---
    OpCase{"argmax_axis1", {OpId::ArgMax}, [](DType dt) { return V{rand_uniform({3, 5}, dt, 141)}; },
           [](const V& in) { return ops::argmax(in[0], 1); }, {}},
    OpCase{"argmax_flattened", {OpId::ArgMax}, [](DType dt) { return V{rand_uniform({3, 4}, dt, 142)}; },
           [](const V& in) { return ops::argmax(ops::transpose(in[0])); }, {}},
    OpCase{"argmax_columns", {OpId::ArgMax}, [](DType dt) { return V{rand_uniform({5, 300}, dt, 143)}; },
           [](const V& in) { return ops::argmax(in[0], 0); }, {}},
    OpCase{"argmin_axis0_keepdims", {OpId::ArgMin}, [](DType dt) { return V{rand_uniform({4, 3}, dt, 144)}; },
           [](const V& in) { return ops::argmin(in[0], 0, true); }, {}},
    OpCase{"argmin_first_tie", {OpId::ArgMin}, [](DType dt) { return V{values({3, 1, 2, 1, 5, 5, 4, 5}, {2, 4}, dt)}; },
           [](const V& in) { return ops::argmin(in[0], -1); }, {}},
    // --- composites ---
    OpCase{"mean_axis0", {kSum}, [](DType dt) { return V{rand_uniform({3, 4}, dt, 151)}; },
           [](const V& in) { return ops::mean(in[0], {0}); }, {0}},
    OpCase{"mean_all_keepdims", {kSum}, [](DType dt) { return V{rand_uniform({2, 3, 2}, dt, 152)}; },
           [](const V& in) { return ops::mean(in[0], {}, true); }, {0}},
    OpCase{"mean_int32_gives_float32", {kSum}, [](DType) { return V{rand_int({3, 4}, 0, 10, 153, DType::i32)}; },
           [](const V& in) { return ops::mean(in[0], {1}); }, {}},
    OpCase{"var_axis1", {kSum}, [](DType dt) { return V{rand_uniform({3, 5}, dt, 154)}; },
           [](const V& in) { return ops::var(in[0], {1}); }, {0}},
    OpCase{"std_all", {kSum}, [](DType dt) { return V{rand_uniform({2, 5}, dt, 155)}; },
           [](const V& in) { return ops::std(in[0]); }, {0}},
    OpCase{"logsumexp_axis1_large", {kSum, kMax}, [](DType dt) { return V{rand_uniform({3, 4}, dt, 156)}; },
           [](const V& in) { return ops::logsumexp(in[0] * 60.0, {1}); }, {0}, 1e-5, 1e-4},
    OpCase{"logsumexp_all_keepdims", {kSum, kMax}, [](DType dt) { return V{rand_uniform({2, 3}, dt, 157)}; },
           [](const V& in) { return ops::logsumexp(in[0], {}, true); }, {0}},
});

}  // namespace
}  // namespace keel::testing
