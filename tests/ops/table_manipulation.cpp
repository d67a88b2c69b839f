// Op cases for the shape and indexing ops: reshape (view and copy paths), transpose, broadcast_to,
// slicing (keras slice, slice_axis with NumPy bounds and negative steps, split), pad, concatenate,
// stack, tile, take (embedding lookups with repeated and negative ids), one_hot, and the two backward
// ops called directly so their own gradients are checked.
#include "ops/manipulation_attrs.h"
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;

Tensor ids(const std::vector<int64_t>& v, const Shape& shape) { return from_vector(v, shape); }

KEEL_OP_CASES({
    // --- views ---
    OpCase{"reshape_infer", {OpId::Reshape}, [](DType dt) { return V{rand_uniform({3, 4}, dt, 201)}; },
           [](const V& in) { return ops::reshape(in[0], {2, -1, 3}); }, {0}},
    OpCase{"reshape_transposed_copies", {OpId::Reshape, OpId::Transpose, OpId::Copy},
           [](DType dt) { return V{rand_uniform({3, 4}, dt, 202)}; },
           [](const V& in) { return ops::reshape(ops::transpose(in[0]), {-1}); }, {0}},
    OpCase{"reshape_strided_view", {OpId::Reshape, OpId::Slice},
           [](DType dt) { return V{rand_uniform({6, 4}, dt, 203)}; },
           [](const V& in) { return ops::reshape(ops::slice_axis(in[0], 0, 0, 6, 2), {3, 2, 2}); }, {0}},
    OpCase{"reshape_empty", {OpId::Reshape}, [](DType dt) { return V{rand_uniform({0, 3}, dt, 204)}; },
           [](const V& in) { return ops::reshape(in[0], {3, 0}); }, {}},
    OpCase{"squeeze_expand_dims", {OpId::Reshape}, [](DType dt) { return V{rand_uniform({1, 3, 1, 2}, dt, 205)}; },
           [](const V& in) { return ops::expand_dims(ops::squeeze(in[0]), -1); }, {0}},
    OpCase{"transpose_3d", {OpId::Transpose}, [](DType dt) { return V{rand_uniform({2, 3, 4}, dt, 206)}; },
           [](const V& in) { return ops::transpose(in[0], {1, 2, 0}); }, {0}},
    OpCase{"broadcast_to_rank3", {OpId::BroadcastTo}, [](DType dt) { return V{rand_uniform({3, 1}, dt, 207)}; },
           [](const V& in) { return ops::broadcast_to(in[0], {2, 3, 4}); }, {0}},
    // --- slicing ---
    OpCase{"slice_block", {OpId::Slice, OpId::SliceBackward}, [](DType dt) { return V{rand_uniform({4, 5}, dt, 211)}; },
           [](const V& in) { return ops::slice(in[0], {1, 2}, {2, 3}); }, {0}},
    OpCase{"slice_axis_numpy_bounds", {OpId::Slice}, [](DType dt) { return V{rand_uniform({3, 7}, dt, 212)}; },
           [](const V& in) { return ops::slice_axis(in[0], 1, -5, 100, 2); }, {0}},
    OpCase{"slice_axis_reversed", {OpId::Slice, OpId::Copy}, [](DType dt) { return V{rand_uniform({5, 2}, dt, 213)}; },
           [](const V& in) { return ops::slice_axis(in[0], 0, -2, -100, -2); }, {0}},
    OpCase{"slice_axis_empty", {OpId::Slice}, [](DType dt) { return V{rand_uniform({3, 4}, dt, 214)}; },
           [](const V& in) { return ops::slice_axis(in[0], 1, 3, 1); }, {}},
    OpCase{"split_sections_reordered", {OpId::Slice, OpId::Concatenate},
           [](DType dt) { return V{rand_uniform({2, 6}, dt, 215)}; },
           [](const V& in) {
             std::vector<Tensor> s = ops::split(in[0], 3, 1);
             return ops::concatenate({s[2], s[0], s[1]}, 1);
           },
           {0}},
    OpCase{"split_indices", {OpId::Slice, OpId::Concatenate}, [](DType dt) { return V{rand_uniform({5, 2}, dt, 216)}; },
           [](const V& in) {
             std::vector<Tensor> s = ops::split(in[0], std::vector<int64_t>{1, -2}, 0);
             return ops::concatenate({s[1], s[2], s[0]}, 0);
           },
           {0}},
    OpCase{"slice_backward_direct", {OpId::SliceBackward, OpId::Slice},
           [](DType dt) { return V{rand_uniform({2, 3}, dt, 217)}; },
           [](const V& in) { return detail::slice_backward(in[0], {5, 4}, SliceAttrs{{1, 0}, {2, 3}, {2, 1}}); }, {0}},
    // --- pad / concatenate / stack / tile ---
    OpCase{"pad_constant", {OpId::Pad}, [](DType dt) { return V{rand_uniform({2, 3}, dt, 221)}; },
           [](const V& in) { return ops::pad(in[0], {{1, 2}, {0, 1}}, 0.5); }, {0}},
    OpCase{"pad_transposed_3d", {OpId::Pad}, [](DType dt) { return V{rand_uniform({2, 3, 2}, dt, 222)}; },
           [](const V& in) { return ops::pad(ops::transpose(in[0], {2, 0, 1}), {{0, 1}, {2, 0}, {1, 1}}); }, {0}},
    OpCase{"pad_empty", {OpId::Pad}, [](DType dt) { return V{rand_uniform({0, 2}, dt, 223)}; },
           [](const V& in) { return ops::pad(in[0], {{1, 1}}, -1.0); }, {}},
    OpCase{"concatenate_axis1", {OpId::Concatenate},
           [](DType dt) {
             return V{rand_uniform({2, 1}, dt, 231), rand_uniform({2, 3}, dt, 232), rand_uniform({2, 2}, dt, 233)};
           },
           [](const V& in) { return ops::concatenate({in[0], in[1], in[2]}, -1); }, {0, 1, 2}},
    OpCase{"concatenate_axis0_transposed", {OpId::Concatenate},
           [](DType dt) { return V{rand_uniform({3, 2}, dt, 234), rand_uniform({1, 3}, dt, 235)}; },
           [](const V& in) { return ops::concatenate({ops::transpose(in[0]), in[1]}, 0); }, {0, 1}},
    OpCase{"concatenate_with_empty", {OpId::Concatenate},
           [](DType dt) { return V{rand_uniform({2, 2}, dt, 236), rand_uniform({0, 2}, dt, 237)}; },
           [](const V& in) { return ops::concatenate({in[0], in[1], in[0]}, 0); }, {0}},
    OpCase{"stack_axis1", {OpId::Concatenate, OpId::Reshape},
           [](DType dt) { return V{rand_uniform({2, 3}, dt, 238), rand_uniform({2, 3}, dt, 239)}; },
           [](const V& in) { return ops::stack({in[0], in[1]}, 1); }, {0, 1}},
    OpCase{"tile_rank_grows", {OpId::Reshape, OpId::BroadcastTo},
           [](DType dt) { return V{rand_uniform({2, 3}, dt, 240)}; },
           [](const V& in) { return ops::tile(in[0], {2, 1, 2}); }, {0}},
    // --- take / one_hot ---
    OpCase{"take_embedding_repeated_ids", {OpId::Take, OpId::TakeBackward},
           [](DType dt) { return V{rand_uniform({5, 3}, dt, 251), ids({0, 3, 3, -1, 2, 0, 4, 3}, {2, 4})}; },
           [](const V& in) { return ops::take(in[0], in[1], 0); }, {0}},
    OpCase{"take_axis1_int32", {OpId::Take}, [](DType dt) {
             return V{rand_uniform({3, 4, 2}, dt, 252), ids({3, 0, -3, 3, 1}, {5}).astype(DType::i32)};
           },
           [](const V& in) { return ops::take(in[0], in[1], 1); }, {0}},
    OpCase{"take_last_axis_transposed", {OpId::Take}, [](DType dt) {
             return V{rand_uniform({3, 4}, dt, 253), ids({2, 1, 2, 0}, {2, 2})};
           },
           [](const V& in) { return ops::take(ops::transpose(in[0]), in[1], -1); }, {0}},
    OpCase{"take_backward_direct", {OpId::TakeBackward, OpId::Take}, [](DType dt) {
             return V{rand_uniform({2, 3, 2}, dt, 254), ids({1, 0, 1}, {3})};
           },
           [](const V& in) { return detail::take_backward(in[0], in[1], {2, 4, 2}, 1); }, {0}},
    OpCase{"one_hot_last_axis", {OpId::OneHot}, [](DType) { return V{ids({0, 2, -1, 4, 3, 1}, {2, 3})}; },
           [](const V& in) { return ops::one_hot(in[0], 4); }, {}},
    OpCase{"one_hot_axis0_int32", {OpId::OneHot}, [](DType) { return V{ids({1, 0, 2}, {3}).astype(DType::i32)}; },
           [](const V& in) { return ops::one_hot(in[0], 3, 0, DType::f32); }, {}},
});

}  // namespace
}  // namespace keel::testing
