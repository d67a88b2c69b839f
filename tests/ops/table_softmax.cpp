// Op cases for softmax and log_softmax: last, first and middle axes, non-contiguous views, size-1 and
// empty axes, large logits (stability). SoftmaxBackward and LogSoftmaxBackward are also called directly
// (forward-only: y is a real softmax / log_softmax output, g random); the gradient cases above reach them
// through autograd.
#include "ops/op_cases.h"
#include "ops/softmax_attrs.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;

// (y, g) for the backward ops: y = softmax or log_softmax of random logits along `axis`.
V backward_inputs(const Shape& shape, int64_t axis, bool log, DType dt, uint64_t seed) {
  Tensor x = rand_uniform(shape, dt, seed, -2, 2);
  return V{log ? ops::log_softmax(x, axis) : ops::softmax(x, axis), rand_uniform(shape, dt, seed + 1)};
}

KEEL_OP_CASES({
    OpCase{"softmax_last_axis", {OpId::Softmax},
           [](DType dt) { return V{rand_uniform({3, 5}, dt, 1, -2, 2)}; },
           [](const V& in) { return ops::softmax(in[0]); }, {0}},
    OpCase{"softmax_axis0_transposed", {OpId::Softmax},
           [](DType dt) { return V{rand_uniform({3, 4}, dt, 2, -2, 2)}; },
           [](const V& in) { return ops::softmax(ops::transpose(in[0]), 0); }, {0}},
    OpCase{"softmax_middle_axis", {OpId::Softmax},
           [](DType dt) { return V{rand_uniform({2, 3, 4}, dt, 3, -2, 2)}; },
           [](const V& in) { return ops::softmax(in[0], 1); }, {0}},
    OpCase{"softmax_size1_axis", {OpId::Softmax},
           [](DType dt) { return V{rand_uniform({4, 1}, dt, 4)}; },
           [](const V& in) { return ops::softmax(in[0], -1); }, {0}},
    OpCase{"softmax_large_logits", {OpId::Softmax},
           [](DType dt) { return V{rand_uniform({2, 6}, dt, 5, -1, 1)}; },
           [](const V& in) { return ops::softmax(in[0] * 80.0); }, {0}},
    OpCase{"softmax_empty_batch", {OpId::Softmax},
           [](DType dt) { return V{rand_uniform({0, 4}, dt, 6)}; },
           [](const V& in) { return ops::softmax(in[0]); }, {}},
    OpCase{"log_softmax_last_axis", {OpId::LogSoftmax},
           [](DType dt) { return V{rand_uniform({4, 6}, dt, 11, -2, 2)}; },
           [](const V& in) { return ops::log_softmax(in[0]); }, {0}},
    OpCase{"log_softmax_axis0_transposed", {OpId::LogSoftmax},
           [](DType dt) { return V{rand_uniform({5, 3}, dt, 12, -2, 2)}; },
           [](const V& in) { return ops::log_softmax(ops::transpose(in[0]), 0); }, {0}},
    OpCase{"log_softmax_middle_axis", {OpId::LogSoftmax},
           [](DType dt) { return V{rand_uniform({2, 4, 3}, dt, 13, -2, 2)}; },
           [](const V& in) { return ops::log_softmax(in[0], -2); }, {0}},
    OpCase{"log_softmax_large_logits", {OpId::LogSoftmax},
           [](DType dt) { return V{rand_uniform({3, 4}, dt, 14, -1, 1)}; },
           [](const V& in) { return ops::log_softmax(in[0] * 80.0); }, {0}, 1e-5, 1e-4},
    OpCase{"log_softmax_1d", {OpId::LogSoftmax},
           [](DType dt) { return V{rand_uniform({7}, dt, 15, -2, 2)}; },
           [](const V& in) { return ops::log_softmax(in[0], 0); }, {0}},
    OpCase{"softmax_backward_last_axis", {OpId::SoftmaxBackward},
           [](DType dt) { return backward_inputs({3, 5}, -1, false, dt, 21); },
           [](const V& in) { return detail::softmax_backward(in[0], in[1], -1); }, {}},
    OpCase{"softmax_backward_middle_axis", {OpId::SoftmaxBackward},
           [](DType dt) { return backward_inputs({2, 4, 3}, 1, false, dt, 23); },
           [](const V& in) { return detail::softmax_backward(in[0], in[1], 1); }, {}},
    OpCase{"softmax_backward_transposed", {OpId::SoftmaxBackward},
           [](DType dt) { return backward_inputs({5, 3}, 0, false, dt, 25); },
           [](const V& in) { return detail::softmax_backward(ops::transpose(in[0]), ops::transpose(in[1]), -1); },
           {}},
    OpCase{"softmax_backward_empty_batch", {OpId::SoftmaxBackward},
           [](DType dt) { return backward_inputs({0, 4}, -1, false, dt, 27); },
           [](const V& in) { return detail::softmax_backward(in[0], in[1], -1); }, {}},
    OpCase{"log_softmax_backward_last_axis", {OpId::LogSoftmaxBackward},
           [](DType dt) { return backward_inputs({3, 5}, -1, true, dt, 31); },
           [](const V& in) { return detail::log_softmax_backward(in[0], in[1], -1); }, {}},
    OpCase{"log_softmax_backward_middle_axis", {OpId::LogSoftmaxBackward},
           [](DType dt) { return backward_inputs({2, 4, 3}, 1, true, dt, 33); },
           [](const V& in) { return detail::log_softmax_backward(in[0], in[1], 1); }, {}},
    OpCase{"log_softmax_backward_transposed", {OpId::LogSoftmaxBackward},
           [](DType dt) { return backward_inputs({5, 3}, 0, true, dt, 35); },
           [](const V& in) {
             return detail::log_softmax_backward(ops::transpose(in[0]), ops::transpose(in[1]), -1);
           },
           {}},
});

}  // namespace
}  // namespace keel::testing
