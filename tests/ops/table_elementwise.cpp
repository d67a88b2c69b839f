// Op cases of the unary elementwise ops and activations (binary ops, comparisons, logic, where, clip and
// cast are in table_elementwise_binary.cpp). Fixtures: tools/golden/ops_elementwise.py.
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using Inputs = std::vector<Tensor>;

// Explicit values (in dtype dt) for inputs that must avoid kinks such as relu6's 0 and 6.
Tensor values(const std::vector<double>& v, const Shape& shape, DType dt) { return from_vector(v, shape).astype(dt); }

using UnaryFn = std::function<Tensor(const Tensor&)>;

// A differentiable one-input case on uniform inputs in [lo, hi).
OpCase unary(std::string name, OpId op, double lo, double hi, uint64_t seed, Shape shape, UnaryFn f) {
  return OpCase{.name = std::move(name),
                .covers = {op},
                .make_inputs = [=](DType dt) { return Inputs{rand_uniform(shape, dt, seed, lo, hi)}; },
                .fn = [f](const Inputs& in) { return f(in[0]); },
                .grad_inputs = {0}};
}
OpCase unary(std::string name, OpId op, double lo, double hi, uint64_t seed, UnaryFn f) {
  return unary(std::move(name), op, lo, hi, seed, {3, 4}, std::move(f));
}

// Same on (3, 4) inputs with every |x| in [0.1, hi) (ops with a kink at 0).
OpCase unary_away(std::string name, std::vector<OpId> covers, uint64_t seed, double hi, UnaryFn f) {
  return OpCase{.name = std::move(name),
                .covers = std::move(covers),
                .make_inputs =
                    [=](DType dt) {
                      return Inputs{rand_away_from_zero({3, 4}, dt, seed, 0.1, hi)};
                    },
                .fn = [f](const Inputs& in) { return f(in[0]); },
                .grad_inputs = {0}};
}
OpCase unary_away(std::string name, std::vector<OpId> covers, uint64_t seed, UnaryFn f) {
  return unary_away(std::move(name), std::move(covers), seed, 1.0, std::move(f));
}

KEEL_OP_CASES({
    unary("neg", OpId::Neg, -1, 1, 101, [](const Tensor& x) { return ops::neg(x); }),
    unary_away("abs", {OpId::Abs}, 102, [](const Tensor& x) { return ops::abs(x); }),
    unary_away("sign", {OpId::Sign}, 103, [](const Tensor& x) { return ops::sign(x); }),
    OpCase{.name = "exp_noncontiguous",
           .covers = {OpId::Exp},
           .make_inputs =
               [](DType dt) {
                 return Inputs{non_contiguous({3, 4}, dt, 104)};
               },
           .fn = [](const Inputs& in) { return ops::exp(in[0]); },
           .grad_inputs = {0}},
    unary("log", OpId::Log, 0.5, 2, 105, [](const Tensor& x) { return ops::log(x); }),
    unary("log1p", OpId::Log1p, -0.5, 1, 106, [](const Tensor& x) { return ops::log1p(x); }),
    unary("expm1", OpId::Expm1, -2, 2, 190, [](const Tensor& x) { return ops::expm1(x); }),
    unary("sqrt", OpId::Sqrt, 0.5, 2, 107, [](const Tensor& x) { return ops::sqrt(x); }),
    unary("rsqrt", OpId::Rsqrt, 0.5, 2, 108, [](const Tensor& x) { return ops::rsqrt(x); }),
    unary("reciprocal", OpId::Reciprocal, 0.5, 2, 191, [](const Tensor& x) { return ops::reciprocal(x); }),
    unary("square_0d", OpId::Square, -1, 1, 109, {}, [](const Tensor& x) { return ops::square(x); }),
    unary("sin", OpId::Sin, -3, 3, 110, [](const Tensor& x) { return ops::sin(x); }),
    unary("cos", OpId::Cos, -3, 3, 111, [](const Tensor& x) { return ops::cos(x); }),
    unary("tanh", OpId::Tanh, -2, 2, 112, {2, 3, 4}, [](const Tensor& x) { return ops::tanh(x); }),
    unary("erf", OpId::Erf, -2, 2, 113, [](const Tensor& x) { return ops::erf(x); }),
    unary("sigmoid", OpId::Sigmoid, -4, 4, 114, [](const Tensor& x) { return ops::sigmoid(x); }),
    unary_away("relu", {OpId::Relu}, 115, [](const Tensor& x) { return ops::relu(x); }),
    unary_away("leaky_relu_default", {OpId::LeakyRelu}, 116, [](const Tensor& x) { return ops::leaky_relu(x); }),
    unary_away("leaky_relu_slope", {OpId::LeakyRelu}, 117, [](const Tensor& x) { return ops::leaky_relu(x, 0.05); }),
    unary_away("elu", {OpId::Elu}, 118, 2.0, [](const Tensor& x) { return ops::elu(x); }),
    unary_away("elu_alpha", {OpId::Elu}, 119, 2.0, [](const Tensor& x) { return ops::elu(x, 0.5); }),
    unary("softplus", OpId::Softplus, -4, 4, 120, [](const Tensor& x) { return ops::softplus(x); }),
    OpCase{.name = "softplus_extreme",
           .covers = {OpId::Softplus},
           .make_inputs =
               [](DType dt) {
                 return Inputs{values({-100, -30, -1, 0, 1, 30, 100}, {7}, dt)};
               },
           .fn = [](const Inputs& in) { return ops::softplus(in[0]); },
           .grad_inputs = {}},
    unary("gelu_tanh", OpId::Gelu, -3, 3, 121, [](const Tensor& x) { return ops::gelu(x); }),
    unary("gelu_erf", OpId::Gelu, -3, 3, 122, [](const Tensor& x) { return ops::gelu(x, /*approximate=*/false); }),
    // --- composites ---
    OpCase{.name = "relu6",
           .covers = {OpId::Clip},
           .make_inputs =
               [](DType dt) {
                 return Inputs{values({-7.5, -3.2, -0.4, 0.3, 1.7, 2.9, 4.4, 5.5, 6.6, 7.8, -1.1, 0.9}, {3, 4}, dt)};
               },
           .fn = [](const Inputs& in) { return ops::relu6(in[0]); },
           .grad_inputs = {0}},
    unary_away("selu", {OpId::Elu, OpId::Multiply}, 123, 2.0, [](const Tensor& x) { return ops::selu(x); }),
    unary("softsign", OpId::Divide, -3, 3, 124, [](const Tensor& x) { return ops::softsign(x); }),
    unary("silu", OpId::Sigmoid, -3, 3, 125, [](const Tensor& x) { return ops::silu(x); }),
    OpCase{.name = "hard_sigmoid",
           .covers = {OpId::Clip, OpId::Divide, OpId::Add},
           .make_inputs =
               [](DType dt) {
                 return Inputs{values({-5, -4, -2.9, -1.5, -0.2, 0.4, 1.1, 2.6, 3.5, 4.8, -3.3, 2.2}, {3, 4}, dt)};
               },
           .fn = [](const Inputs& in) { return ops::hard_sigmoid(in[0]); },
           .grad_inputs = {0}},
    // --- dtypes, shapes ---
    OpCase{.name = "unary_int_keeps_dtype",
           .covers = {OpId::Neg, OpId::Abs, OpId::Sign, OpId::Square},
           .make_inputs =
               [](DType) {
                 return Inputs{rand_int({3, 4}, -5, 6, 126, DType::i32)};
               },
           .fn = [](const Inputs& in) { return ops::sign(in[0]) * ops::square(in[0]) + ops::abs(ops::neg(in[0])); },
           .grad_inputs = {}},
    OpCase{.name = "exp_int_gives_float32",
           .covers = {OpId::Exp, OpId::Cast},
           .make_inputs =
               [](DType) {
                 return Inputs{rand_int({2, 3}, -3, 4, 127, DType::i64)};
               },
           .fn = [](const Inputs& in) { return ops::exp(in[0]); },
           .grad_inputs = {}},
    OpCase{.name = "unary_empty",
           .covers = {OpId::Tanh, OpId::Relu},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({0, 3}, dt, 128)};
               },
           .fn = [](const Inputs& in) { return ops::relu(ops::tanh(in[0])); },
           .grad_inputs = {}},
    // float16 computes in float32; results are rounded to float16 (about 3 significant digits).
    OpCase{.name = "sigmoid_float16",
           .covers = {OpId::Sigmoid, OpId::Cast},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({3, 4}, dt, 129, -4, 4)};
               },
           .fn = [](const Inputs& in) { return ops::sigmoid(in[0].astype(DType::f16)); },
           .grad_inputs = {},
           .fwd_rtol = 2e-3,
           .fwd_atol = 2e-3},
    // Enough elements for the threaded loop, on a transposed (strided) input.
    OpCase{.name = "gelu_large_transposed",
           .covers = {OpId::Gelu},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({301, 300}, dt, 130, -3, 3)};
               },
           .fn = [](const Inputs& in) { return ops::gelu(ops::transpose(in[0])); },
           .grad_inputs = {}},
});

}  // namespace
}  // namespace keel::testing
