"""PyTorch fixtures of the elementwise op cases (tests/ops/table_elementwise.cpp and
table_elementwise_binary.cpp). Names match the OpCases; inputs are drawn here (the C++ fn is applied to
these values), with the same ranges and kink-avoidance as the C++ cases. The large cases (add_large...,
gelu_large_transposed) use small inputs here: they exist in C++ to exercise the threaded loops, and the
fixture checks the same fn on fewer elements.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(20240611)


def u(shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape)


def away(shape, min_abs=0.1, hi=1.0):
    return rng.uniform(min_abs, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def ints(shape, lo, hi, dtype=np.int64):
    return rng.integers(lo, hi, size=shape).astype(dtype)


def intvals(shape, lo, hi):
    """Integer values stored as floats (comparisons with ties)."""
    return rng.integers(lo, hi, size=shape).astype(np.float64)


def gelu_tanh(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def unary(name, f, x):
    return (name, [x], f, [0])


F16 = dict(rtol=2e-3, atol=2e-3)

UNARY = [
    unary("neg", torch.neg, u((3, 4))),
    unary("abs", torch.abs, away((3, 4))),
    unary("sign", torch.sign, away((3, 4))),
    unary("exp_noncontiguous", torch.exp, u((3, 4))),
    unary("log", torch.log, u((3, 4), 0.5, 2)),
    unary("log1p", torch.log1p, u((3, 4), -0.5, 1)),
    unary("sqrt", torch.sqrt, u((3, 4), 0.5, 2)),
    unary("rsqrt", torch.rsqrt, u((3, 4), 0.5, 2)),
    unary("square_0d", torch.square, u(())),
    unary("sin", torch.sin, u((3, 4), -3, 3)),
    unary("cos", torch.cos, u((3, 4), -3, 3)),
    unary("tanh", torch.tanh, u((2, 3, 4), -2, 2)),
    unary("erf", torch.erf, u((3, 4), -2, 2)),
    unary("sigmoid", torch.sigmoid, u((3, 4), -4, 4)),
    unary("relu", torch.relu, away((3, 4))),
    unary("leaky_relu_default", lambda x: F.leaky_relu(x, 0.2), away((3, 4))),
    unary("leaky_relu_slope", lambda x: F.leaky_relu(x, 0.05), away((3, 4))),
    unary("elu", F.elu, away((3, 4), hi=2.0)),
    unary("elu_alpha", lambda x: F.elu(x, alpha=0.5), away((3, 4), hi=2.0)),
    unary("softplus", lambda x: torch.logaddexp(x, torch.zeros_like(x)), u((3, 4), -4, 4)),
    ("softplus_extreme", [np.array([-100, -30, -1, 0, 1, 30, 100], dtype=np.float64)],
     lambda x: torch.logaddexp(x, torch.zeros_like(x)), []),
    unary("gelu_tanh", gelu_tanh, u((3, 4), -3, 3)),
    unary("gelu_erf", F.gelu, u((3, 4), -3, 3)),
    unary("relu6", F.relu6, np.array([-7.5, -3.2, -0.4, 0.3, 1.7, 2.9, 4.4, 5.5, 6.6, 7.8, -1.1, 0.9]).reshape(3, 4)),
    unary("selu", torch.selu, away((3, 4), hi=2.0)),
    unary("softsign", F.softsign, u((3, 4), -3, 3)),
    unary("silu", F.silu, u((3, 4), -3, 3)),
    unary("hard_sigmoid", lambda x: torch.clamp(x / 6 + 0.5, 0, 1),
          np.array([-5, -4, -2.9, -1.5, -0.2, 0.4, 1.1, 2.6, 3.5, 4.8, -3.3, 2.2]).reshape(3, 4)),
    ("unary_int_keeps_dtype", [ints((3, 4), -5, 6, np.int32)],
     lambda x: torch.sign(x) * torch.square(x) + torch.abs(torch.neg(x)), []),
    ("exp_int_gives_float32", [ints((2, 3), -3, 4)], lambda x: torch.exp(x.double()), []),
    ("unary_empty", [u((0, 3))], lambda x: torch.relu(torch.tanh(x)), []),
    ("sigmoid_float16", [u((3, 4), -4, 4)], lambda x: torch.sigmoid(x.half().float()).half().double(), [], *F16.values()),
    ("gelu_large_transposed", [u((5, 4), -3, 3)], lambda x: gelu_tanh(x.T), []),
]


def binary(name, f, sa, sb):
    return (name, [u(sa), u(sb)], f, [0, 1])


def fwd_ints(name, f, lo, hi):
    return (name, [intvals((3, 4), lo, hi), intvals((4,), lo, hi)], f, [])


def maximum_minimum(a, b):
    return torch.maximum(a, b) + torch.minimum(a, b) * 2.0


BINARY = [
    binary("add", torch.add, (3, 4), (3, 4)),
    binary("add_row_broadcast", torch.add, (3, 4), (4,)),
    binary("add_col_row", torch.add, (3, 1), (1, 4)),
    binary("add_size1_3d", torch.add, (3, 1, 4), (5, 1)),
    binary("add_transposed", lambda a, b: a.T + b, (4, 3), (3, 4)),
    binary("add_transposed_broadcast", lambda a, b: a.T + b, (4, 3), (4,)),
    ("scalar_operators", [u((3, 4))], lambda x: (2.0 - x) * 3.0 + x / 4.0 + 1.5 - (-x) * 0.5, [0]),
    ("add_int64_integer_operands", [ints((3, 4), -9, 9), ints((4,), -9, 9)], torch.add, []),
    ("add_empty", [u((0, 3)), u((3,))], torch.add, []),
    ("add_large", [u((3, 5)), u((3, 5))], torch.add, []),
    ("add_large_broadcast", [u((3, 5)), u((5,))], torch.add, []),
    ("multiply_large_transposed", [u((5, 3)), u((3, 5))], lambda a, b: a.T * b, []),
    ("add_float16", [u((3, 4)), u((4,))], lambda a, b: (a.half().float() + b.half().float()).half().double(), [],
     *F16.values()),
    binary("subtract", torch.subtract, (2, 3, 4), (3, 1)),
    binary("multiply", torch.multiply, (3, 4), (3, 1)),
    ("divide", [u((3, 4)), away((4,), 0.5, 2.0)], torch.divide, [0, 1]),
    ("divide_int_gives_float", [ints((3, 4), -9, 9, np.int32), ints((4,), 1, 5, np.int32)], torch.true_divide, []),
    binary("maximum", torch.maximum, (3, 4), (3, 4)),
    binary("minimum_broadcast", torch.minimum, (3, 4), (4,)),
    ("maximum_minimum_ties", [np.array([0.5, -0.25, 1.0, 0.75, -1.0, 0.125]).reshape(2, 3),
                              np.array([0.5, 0.25, 1.0, -0.5, -1.0, 0.375]).reshape(2, 3)], maximum_minimum, [0, 1]),
    fwd_ints("maximum_int", torch.maximum, -5, 5),
    ("power", [u((3, 4), 0.5, 2.0), u((4,), -1.5, 1.5)], torch.pow, [0, 1]),
    ("pow_scalar_exponent", [u((3, 4))], lambda x: torch.pow(x, 3.0), [0]),
    ("power_int", [ints((3, 4), -4, 5, np.int32), ints((4,), 0, 4, np.int32)], torch.pow, []),
    fwd_ints("equal", torch.eq, -2, 3),
    fwd_ints("not_equal", torch.ne, -2, 3),
    fwd_ints("less", torch.lt, -2, 3),
    fwd_ints("less_equal", torch.le, -2, 3),
    fwd_ints("greater", torch.gt, -2, 3),
    fwd_ints("greater_equal", torch.ge, -2, 3),
    ("compare_int_with_float", [ints((3, 4), -2, 3, np.int32), u((4,), -2, 2)], lambda a, b: a.double() < b, []),
    ("compare_scalar_operators", [intvals((3, 4), -3, 4)],
     lambda x: ((x < -1.0) | (x >= 2.0)) | ((x > 0.5) | (x <= -2.5)), []),
    fwd_ints("logical_and", torch.logical_and, -1, 2),
    fwd_ints("logical_or", torch.logical_or, -1, 2),
    fwd_ints("logical_xor", torch.logical_xor, -1, 2),
    fwd_ints("logical_not", lambda a, b: torch.logical_not(a), -1, 2),
    ("logical_mixed_dtypes", [ints((3, 4), -1, 2), intvals((4,), -1, 2)], torch.logical_and, []),
    ("where", [ints((3, 1), 0, 2).astype(bool), u((3, 4)), u((4,))], torch.where, [1, 2]),
    ("where_leaky", [away((3, 4))], lambda x: torch.where(x > 0, x, x * 0.1), [0]),
    ("where_mixed_dtypes", [ints((3, 4), -1, 2), ints((3, 4), -9, 9), u((4,))],
     lambda c, a, b: torch.where(c != 0, a.double(), b), []),
    ("clip", [np.array([-1.5, -0.8, -0.45, -0.2, 0.0, 0.3, 0.65, 0.75, 1.2, 1.9, -0.6, 0.5]).reshape(3, 4)],
     lambda x: torch.clamp(x, -0.5, 0.7), [0]),
    ("clip_int", [ints((3, 4), -6, 7, np.int32)], lambda x: torch.clamp(x, -2, 3), []),
    ("cast_to_float64", [u((3, 4))], torch.square, [0]),
    ("cast_float_to_int", [u((3, 4), -3.9, 3.9)], lambda x: x.float().to(torch.int32), []),
    ("copy_transposed", [u((4, 3))], lambda x: x.T.contiguous(), [0]),
]

# Cases added later draw their inputs after all of the above, so that the earlier cases keep theirs
# (the fixtures' inputs come from one generator, in list order).
LATER = [
    unary("expm1", torch.expm1, u((3, 4), -2, 2)),
    unary("reciprocal", torch.reciprocal, u((3, 4), 0.5, 2)),
]

CASES = UNARY + BINARY + LATER
