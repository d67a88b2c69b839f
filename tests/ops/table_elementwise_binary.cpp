// Op cases of the broadcasting binary ops, comparisons, logical ops, where, clip, cast and copy.
// Fixtures: tools/golden/ops_elementwise.py.
#include "ops/op_cases.h"

namespace keel::testing {
namespace {

using Inputs = std::vector<Tensor>;
using BinaryFn = std::function<Tensor(const Tensor&, const Tensor&)>;

Tensor values(const std::vector<double>& v, const Shape& shape, DType dt) { return from_vector(v, shape).astype(dt); }

// A differentiable two-input case on uniform inputs in [-1, 1).
OpCase binary(std::string name, std::vector<OpId> covers, Shape sa, Shape sb, uint64_t seed, BinaryFn f) {
  return OpCase{.name = std::move(name),
                .covers = std::move(covers),
                .make_inputs =
                    [=](DType dt) {
                      return Inputs{rand_uniform(sa, dt, seed), rand_uniform(sb, dt, seed + 1)};
                    },
                .fn = [f](const Inputs& in) { return f(in[0], in[1]); },
                .grad_inputs = {0, 1}};
}

// A forward-only case on small integer values stored as dtype dt (ties are likely: comparisons).
OpCase forward_ints(std::string name, OpId op, int64_t lo, int64_t hi, uint64_t seed, BinaryFn f) {
  return OpCase{.name = std::move(name),
                .covers = {op},
                .make_inputs =
                    [=](DType dt) {
                      return Inputs{rand_int({3, 4}, lo, hi, seed, dt), rand_int({4}, lo, hi, seed + 1, dt)};
                    },
                .fn = [f](const Inputs& in) { return f(in[0], in[1]); },
                .grad_inputs = {}};
}

KEEL_OP_CASES({
    binary("add", {OpId::Add}, {3, 4}, {3, 4}, 201, [](auto& a, auto& b) { return ops::add(a, b); }),
    binary("add_row_broadcast", {OpId::Add}, {3, 4}, {4}, 203, [](auto& a, auto& b) { return a + b; }),
    binary("add_col_row", {OpId::Add}, {3, 1}, {1, 4}, 205, [](auto& a, auto& b) { return a + b; }),
    binary("add_size1_3d", {OpId::Add}, {3, 1, 4}, {5, 1}, 207, [](auto& a, auto& b) { return a + b; }),
    binary("add_transposed", {OpId::Add}, {4, 3}, {3, 4}, 209, [](auto& a, auto& b) { return ops::transpose(a) + b; }),
    binary("add_transposed_broadcast", {OpId::Add}, {4, 3}, {4}, 211,
           [](auto& a, auto& b) { return ops::transpose(a) + b; }),
    OpCase{.name = "scalar_operators",
           .covers = {OpId::Add, OpId::Subtract, OpId::Multiply, OpId::Divide, OpId::Neg},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({3, 4}, dt, 213)};
               },
           .fn = [](const Inputs& in) { return (2.0 - in[0]) * 3.0 + in[0] / 4.0 + 1.5 - (-in[0]) * 0.5; },
           .grad_inputs = {0}},
    OpCase{.name = "add_int64_integer_operands",
           .covers = {OpId::Add},
           .make_inputs =
               [](DType) {
                 return Inputs{rand_int({3, 4}, -9, 9, 217), rand_int({4}, -9, 9, 218)};
               },
           .fn = [](const Inputs& in) { return ops::add(in[0], in[1]); },
           .grad_inputs = {}},
    OpCase{.name = "add_empty",
           .covers = {OpId::Add},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({0, 3}, dt, 219), rand_uniform({3}, dt, 220)};
               },
           .fn = [](const Inputs& in) { return ops::add(in[0], in[1]); },
           .grad_inputs = {}},
    // Above the threading threshold: the flat path, a broadcast row, and a transposed operand.
    OpCase{.name = "add_large",
           .covers = {OpId::Add},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({300, 301}, dt, 221), rand_uniform({300, 301}, dt, 222)};
               },
           .fn = [](const Inputs& in) { return ops::add(in[0], in[1]); },
           .grad_inputs = {}},
    OpCase{.name = "add_large_broadcast",
           .covers = {OpId::Add},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({300, 301}, dt, 223), rand_uniform({301}, dt, 224)};
               },
           .fn = [](const Inputs& in) { return ops::add(in[0], in[1]); },
           .grad_inputs = {}},
    OpCase{.name = "multiply_large_transposed",
           .covers = {OpId::Multiply},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({301, 300}, dt, 225), rand_uniform({300, 301}, dt, 226)};
               },
           .fn = [](const Inputs& in) { return ops::multiply(ops::transpose(in[0]), in[1]); },
           .grad_inputs = {}},
    OpCase{.name = "add_float16",
           .covers = {OpId::Add, OpId::Cast},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({3, 4}, dt, 227), rand_uniform({4}, dt, 228)};
               },
           .fn = [](const Inputs& in) { return ops::add(in[0].astype(DType::f16), in[1].astype(DType::f16)); },
           .grad_inputs = {},
           .fwd_rtol = 2e-3,
           .fwd_atol = 2e-3},
    binary("subtract", {OpId::Subtract}, {2, 3, 4}, {3, 1}, 229, [](auto& a, auto& b) { return ops::subtract(a, b); }),
    binary("multiply", {OpId::Multiply}, {3, 4}, {3, 1}, 231, [](auto& a, auto& b) { return ops::multiply(a, b); }),
    OpCase{.name = "divide",
           .covers = {OpId::Divide},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({3, 4}, dt, 233), rand_away_from_zero({4}, dt, 234, 0.5, 2.0)};
               },
           .fn = [](const Inputs& in) { return ops::divide(in[0], in[1]); },
           .grad_inputs = {0, 1}},
    OpCase{.name = "divide_int_gives_float",
           .covers = {OpId::Divide, OpId::Cast},
           .make_inputs =
               [](DType) {
                 return Inputs{rand_int({3, 4}, -9, 9, 235, DType::i32), rand_int({4}, 1, 5, 236, DType::i32)};
               },
           .fn = [](const Inputs& in) { return ops::divide(in[0], in[1]); },
           .grad_inputs = {}},
    binary("maximum", {OpId::Maximum}, {3, 4}, {3, 4}, 237, [](auto& a, auto& b) { return ops::maximum(a, b); }),
    binary("minimum_broadcast", {OpId::Minimum}, {3, 4}, {4}, 239, [](auto& a, auto& b) { return ops::minimum(a, b); }),
    // Ties split the gradient 0.5/0.5, which is also what central differences measure at a tie.
    OpCase{.name = "maximum_minimum_ties",
           .covers = {OpId::Maximum, OpId::Minimum},
           .make_inputs =
               [](DType dt) {
                 return Inputs{values({0.5, -0.25, 1.0, 0.75, -1.0, 0.125}, {2, 3}, dt),
                               values({0.5, 0.25, 1.0, -0.5, -1.0, 0.375}, {2, 3}, dt)};
               },
           .fn = [](const Inputs& in) { return ops::maximum(in[0], in[1]) + ops::minimum(in[0], in[1]) * 2.0; },
           .grad_inputs = {0, 1}},
    forward_ints("maximum_int", OpId::Maximum, -5, 5, 241, [](auto& a, auto& b) { return ops::maximum(a, b); }),
    OpCase{.name = "power",
           .covers = {OpId::Power},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({3, 4}, dt, 243, 0.5, 2.0), rand_uniform({4}, dt, 244, -1.5, 1.5)};
               },
           .fn = [](const Inputs& in) { return ops::power(in[0], in[1]); },
           .grad_inputs = {0, 1}},
    OpCase{.name = "pow_scalar_exponent",
           .covers = {OpId::Power},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({3, 4}, dt, 245)};
               },
           .fn = [](const Inputs& in) { return ops::pow(in[0], 3.0); },
           .grad_inputs = {0}},
    OpCase{.name = "power_int",
           .covers = {OpId::Power},
           .make_inputs =
               [](DType) {
                 return Inputs{rand_int({3, 4}, -4, 5, 247, DType::i32), rand_int({4}, 0, 4, 248, DType::i32)};
               },
           .fn = [](const Inputs& in) { return ops::pow(in[0], in[1]); },
           .grad_inputs = {}},
    // --- comparisons and logic (integer-valued floats, so ties occur) ---
    forward_ints("equal", OpId::Equal, -2, 3, 251, [](auto& a, auto& b) { return ops::equal(a, b); }),
    forward_ints("not_equal", OpId::NotEqual, -2, 3, 253, [](auto& a, auto& b) { return ops::not_equal(a, b); }),
    forward_ints("less", OpId::Less, -2, 3, 255, [](auto& a, auto& b) { return ops::less(a, b); }),
    forward_ints("less_equal", OpId::LessEqual, -2, 3, 257, [](auto& a, auto& b) { return ops::less_equal(a, b); }),
    forward_ints("greater", OpId::Greater, -2, 3, 259, [](auto& a, auto& b) { return ops::greater(a, b); }),
    forward_ints("greater_equal", OpId::GreaterEqual, -2, 3, 261,
                 [](auto& a, auto& b) { return ops::greater_equal(a, b); }),
    OpCase{.name = "compare_int_with_float",
           .covers = {OpId::Less, OpId::Cast},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_int({3, 4}, -2, 3, 263, DType::i32), rand_uniform({4}, dt, 264, -2, 2)};
               },
           .fn = [](const Inputs& in) { return ops::less(in[0], in[1]); },
           .grad_inputs = {}},
    OpCase{.name = "compare_scalar_operators",
           .covers = {OpId::Less, OpId::LessEqual, OpId::Greater, OpId::GreaterEqual, OpId::LogicalOr},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_int({3, 4}, -3, 4, 265, dt)};
               },
           .fn =
               [](const Inputs& in) {
                 const Tensor& x = in[0];
                 return ops::logical_or(ops::logical_or(x < -1.0, x >= 2.0), ops::logical_or(x > 0.5, x <= -2.5));
               },
           .grad_inputs = {}},
    forward_ints("logical_and", OpId::LogicalAnd, -1, 2, 271, [](auto& a, auto& b) { return ops::logical_and(a, b); }),
    forward_ints("logical_or", OpId::LogicalOr, -1, 2, 273, [](auto& a, auto& b) { return ops::logical_or(a, b); }),
    forward_ints("logical_xor", OpId::LogicalXor, -1, 2, 275, [](auto& a, auto& b) { return ops::logical_xor(a, b); }),
    forward_ints("logical_not", OpId::LogicalNot, -1, 2, 277, [](auto& a, auto&) { return ops::logical_not(a); }),
    OpCase{.name = "logical_mixed_dtypes",
           .covers = {OpId::LogicalAnd, OpId::Cast},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_int({3, 4}, -1, 2, 279), rand_int({4}, -1, 2, 280, dt)};
               },
           .fn = [](const Inputs& in) { return ops::logical_and(in[0], in[1]); },
           .grad_inputs = {}},
    // --- where, clip, cast, copy ---
    OpCase{.name = "where",
           .covers = {OpId::Where},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_int({3, 1}, 0, 2, 281).astype(DType::b8), rand_uniform({3, 4}, dt, 282),
                               rand_uniform({4}, dt, 283)};
               },
           .fn = [](const Inputs& in) { return ops::where(in[0], in[1], in[2]); },
           .grad_inputs = {1, 2}},
    OpCase{.name = "where_leaky",
           .covers = {OpId::Where, OpId::Greater},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_away_from_zero({3, 4}, dt, 285)};
               },
           .fn = [](const Inputs& in) { return ops::where(in[0] > 0.0, in[0], in[0] * 0.1); },
           .grad_inputs = {0}},
    OpCase{.name = "where_mixed_dtypes",
           .covers = {OpId::Where, OpId::Cast},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_int({3, 4}, -1, 2, 287), rand_int({3, 4}, -9, 9, 288), rand_uniform({4}, dt, 289)};
               },
           .fn = [](const Inputs& in) { return ops::where(in[0], in[1], in[2]); },
           .grad_inputs = {}},
    OpCase{
        .name = "clip",
        .covers = {OpId::Clip},
        .make_inputs =
            [](DType dt) {
              return Inputs{values({-1.5, -0.8, -0.45, -0.2, 0.0, 0.3, 0.65, 0.75, 1.2, 1.9, -0.6, 0.5}, {3, 4}, dt)};
            },
        .fn = [](const Inputs& in) { return ops::clip(in[0], -0.5, 0.7); },
        .grad_inputs = {0}},
    OpCase{.name = "clip_int",
           .covers = {OpId::Clip},
           .make_inputs =
               [](DType) {
                 return Inputs{rand_int({3, 4}, -6, 7, 291, DType::i32)};
               },
           .fn = [](const Inputs& in) { return ops::clip(in[0], -2, 3); },
           .grad_inputs = {}},
    OpCase{.name = "cast_to_float64",
           .covers = {OpId::Cast},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({3, 4}, dt, 293)};
               },
           .fn = [](const Inputs& in) { return ops::square(ops::cast(in[0], DType::f64)); },
           .grad_inputs = {0}},
    OpCase{.name = "cast_float_to_int",
           .covers = {OpId::Cast},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({3, 4}, dt, 295, -3.9, 3.9)};
               },
           .fn = [](const Inputs& in) { return ops::cast(in[0], DType::i32); },
           .grad_inputs = {}},
    OpCase{.name = "copy_transposed",
           .covers = {OpId::Copy},
           .make_inputs =
               [](DType dt) {
                 return Inputs{rand_uniform({4, 3}, dt, 297)};
               },
           .fn = [](const Inputs& in) { return ops::transpose(in[0]).contiguous(); },
           .grad_inputs = {0}},
});

}  // namespace
}  // namespace keel::testing
