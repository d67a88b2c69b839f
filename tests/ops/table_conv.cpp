// Op cases for the convolution family: conv2d (valid/same with odd and even sizes, strides, dilation,
// groups, non-contiguous input), depthwise, conv1d, conv2d_transpose (valid/same, with and without
// output_padding, dilation) and ConvBackwardKernel called directly so its own gradient is checked.
#include "ops/conv_attrs.h"
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using V = std::vector<Tensor>;

ops::ConvOptions opts(std::vector<int64_t> strides, std::string padding, std::vector<int64_t> dilation = {1},
                      int64_t groups = 1) {
  return ops::ConvOptions{std::move(strides), std::move(padding), std::move(dilation), groups};
}

// A conv case: x and kernel of the given shapes, conv computed by `f`.
OpCase conv_case(std::string name, std::vector<OpId> covers, Shape xs, Shape ks,
                 std::function<Tensor(const V&)> f, uint64_t seed) {
  return OpCase{std::move(name), std::move(covers),
                [xs, ks, seed](DType dt) { return V{rand_uniform(xs, dt, seed), rand_uniform(ks, dt, seed + 1)}; },
                std::move(f), {0, 1}};
}

const std::vector<OpId> kConv = {OpId::Conv, OpId::ConvBackwardInput, OpId::ConvBackwardKernel};
const std::vector<OpId> kTranspose = {OpId::ConvBackwardInput, OpId::Conv, OpId::ConvBackwardKernel};

KEEL_OP_CASES({
    conv_case("conv2d_valid", kConv, {2, 5, 5, 2}, {3, 3, 2, 3},
              [](const V& in) { return ops::conv2d(in[0], in[1]); }, 1),
    conv_case("conv2d_same_stride2_odd_even", kConv, {1, 5, 6, 2}, {3, 3, 2, 3},
              [](const V& in) { return ops::conv2d(in[0], in[1], opts({2}, "same")); }, 3),
    conv_case("conv2d_same_even_kernel", kConv, {1, 5, 4, 2}, {2, 2, 2, 3},
              [](const V& in) { return ops::conv2d(in[0], in[1], opts({1}, "same")); }, 5),
    conv_case("conv2d_valid_stride2_floor", kConv, {1, 6, 6, 2}, {3, 3, 2, 2},
              [](const V& in) { return ops::conv2d(in[0], in[1], opts({2}, "valid")); }, 7),
    conv_case("conv2d_dilation2", kConv, {1, 6, 7, 2}, {2, 3, 2, 3},
              [](const V& in) { return ops::conv2d(in[0], in[1], opts({1}, "valid", {2})); }, 9),
    conv_case("conv2d_same_dilation2_stride_per_axis", kConv, {1, 6, 5, 2}, {3, 2, 2, 2},
              [](const V& in) { return ops::conv2d(in[0], in[1], opts({2, 1}, "same", {1, 2})); }, 11),
    conv_case("conv2d_groups2", kConv, {1, 5, 5, 4}, {3, 3, 2, 4},
              [](const V& in) { return ops::conv2d(in[0], in[1], opts({1}, "same", {1}, 2)); }, 13),
    // x arrives as (C, W, H, N): the transposed view is a non-contiguous NHWC tensor.
    conv_case("conv2d_noncontiguous_input", kConv, {2, 4, 4, 2}, {3, 3, 2, 2},
              [](const V& in) { return ops::conv2d(ops::transpose(in[0]), in[1], opts({1}, "same")); }, 15),
    conv_case("depthwise_conv2d_multiplier2_same", kConv, {1, 5, 5, 3}, {3, 3, 3, 2},
              [](const V& in) { return ops::depthwise_conv2d(in[0], in[1], opts({1}, "same")); }, 17),
    conv_case("depthwise_conv2d_stride2_valid", kConv, {1, 6, 5, 3}, {2, 2, 3, 1},
              [](const V& in) { return ops::depthwise_conv2d(in[0], in[1], opts({2}, "valid")); }, 19),
    conv_case("conv1d_valid", kConv, {2, 7, 2}, {3, 2, 3}, [](const V& in) { return ops::conv1d(in[0], in[1]); }, 21),
    conv_case("conv1d_same_stride2_dilation2", kConv, {2, 8, 2}, {3, 2, 2},
              [](const V& in) { return ops::conv1d(in[0], in[1], opts({2}, "same", {2})); }, 23),
    conv_case("conv1d_groups2", kConv, {1, 6, 4}, {3, 2, 4},
              [](const V& in) { return ops::conv1d(in[0], in[1], opts({1}, "valid", {1}, 2)); }, 25),
    conv_case("conv2d_transpose_valid_stride2", kTranspose, {1, 3, 3, 2}, {3, 3, 3, 2},
              [](const V& in) { return ops::conv2d_transpose(in[0], in[1], opts({2}, "valid")); }, 27),
    conv_case("conv2d_transpose_same_stride2", kTranspose, {2, 3, 2, 2}, {3, 3, 2, 2},
              [](const V& in) { return ops::conv2d_transpose(in[0], in[1], opts({2}, "same")); }, 29),
    conv_case("conv2d_transpose_valid_output_padding", kTranspose, {1, 3, 3, 2}, {3, 3, 2, 2},
              [](const V& in) { return ops::conv2d_transpose(in[0], in[1], opts({2}, "valid"), {{1}}); }, 31),
    conv_case("conv2d_transpose_same_output_padding_even_kernel", kTranspose, {1, 3, 3, 2}, {2, 2, 2, 2},
              [](const V& in) { return ops::conv2d_transpose(in[0], in[1], opts({2}, "same"), {{1, 0}}); }, 33),
    conv_case("conv2d_transpose_same_stride1", kTranspose, {1, 4, 3, 2}, {3, 2, 3, 2},
              [](const V& in) { return ops::conv2d_transpose(in[0], in[1], opts({1}, "same")); }, 35),
    conv_case("conv2d_transpose_dilation2", kTranspose, {1, 3, 3, 2}, {2, 2, 2, 2},
              [](const V& in) { return ops::conv2d_transpose(in[0], in[1], opts({1}, "valid", {2})); }, 37),
    conv_case("conv2d_transpose_kernel_smaller_than_stride", kTranspose, {1, 2, 3, 2}, {2, 2, 2, 2},
              [](const V& in) { return ops::conv2d_transpose(in[0], in[1], opts({3}, "valid")); }, 39),
    // ConvBackwardKernel as a function of (x, grad_y): stride 2, 'same' padding (1 before, 1 after), groups 2.
    OpCase{"conv_backward_kernel_direct", {OpId::ConvBackwardKernel, OpId::ConvBackwardInput, OpId::Conv},
           [](DType dt) { return V{rand_uniform({1, 5, 5, 4}, dt, 41), rand_uniform({1, 3, 3, 2}, dt, 42)}; },
           [](const V& in) {
             ConvAttrs a;
             a.strides = {2, 2};
             a.pad_before = {1, 1};
             a.pad_after = {1, 1};
             a.groups = 2;
             a.kernel_shape = {3, 3, 2, 2};
             return detail::conv_backward_kernel(in[0], in[1], a);
           },
           {0, 1}},
    OpCase{"conv2d_empty_batch", kConv,
           [](DType dt) { return V{rand_uniform({0, 4, 4, 2}, dt, 43), rand_uniform({3, 3, 2, 2}, dt, 44)}; },
           [](const V& in) { return ops::conv2d(in[0], in[1], opts({1}, "same")); }, {}},
});

}  // namespace
}  // namespace keel::testing
