// Op cases for softmax and log_softmax: last, first and middle axes, non-contiguous views, size-1 and
// empty axes, large logits (stability).
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;

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
});

}  // namespace
}  // namespace keel::testing
