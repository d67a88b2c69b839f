"""PyTorch fixtures of the reduction op cases (tests/ops/table_reduction.cpp). Names match the OpCases;
inputs are drawn here with the same shapes and ranges (explicit values where the case has ties or zeros).
torch.amax/amin share the gradient among ties equally, as Keel does; torch.prod handles zeros exactly.
"""
import numpy as np
import torch

rng = np.random.default_rng(20240612)


def u(shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape)


def away(shape, min_abs=0.1, hi=1.0):
    return rng.uniform(min_abs, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def ints(shape, lo, hi, dtype=np.int64):
    return rng.integers(lo, hi, size=shape).astype(dtype)


def vals(v, shape):
    return np.array(v, dtype=np.float64).reshape(shape)


def from_np(f):
    """A forward-only fn computed with NumPy (first-occurrence argmin on ties)."""
    return lambda x: torch.from_numpy(np.ascontiguousarray(f(x.detach().numpy())))


CASES = [
    # sum
    ("sum_all", [u((3, 4))], lambda x: x.sum(), [0]),
    ("sum_axis0_columns", [u((5, 4))], lambda x: x.sum(0), [0]),
    ("sum_last_axis_keepdims", [u((3, 5))], lambda x: x.sum(-1, keepdim=True), [0]),
    ("sum_middle_axis", [u((2, 3, 4))], lambda x: x.sum(1), [0]),
    ("sum_outer_and_inner_axes_transposed", [u((4, 3, 2))], lambda x: x.permute(2, 1, 0).sum((0, 2)), [0]),
    ("sum_size1_axes", [u((1, 4, 1))], lambda x: x.sum((0, 2), keepdim=True), [0]),
    ("sum_empty_axis", [u((0, 3))], lambda x: x.sum(0), []),
    ("sum_int32_keeps_dtype", [ints((3, 4), -5, 5, np.int32)], lambda x: x.sum(1, dtype=torch.int32), []),
    ("sum_threaded_rows", [u((2, 41), 0.5, 1.5)], lambda x: x.repeat(4, 100).sum(1), [0], 1e-5, 1e-4),
    ("sum_threaded_full", [u((4, 5), 0.5, 1.5)], lambda x: x.repeat(40, 50).sum(), [0], 1e-5, 1e-4),
    ("sum_threaded_columns", [u((3, 16), 0.5, 1.5)], lambda x: x.repeat(1000, 1).sum(0), [0], 1e-5, 1e-4),
    # max / min
    ("max_axis1", [u((3, 5))], lambda x: torch.amax(x, 1), [0]),
    ("max_all_transposed", [u((3, 4))], lambda x: torch.amax(x.t()), [0]),
    ("max_ties_keepdims", [vals([1, 3, 2, 3, 0.5, -1, 0.5, -2, 2.5, 0, 1, 2.5], (3, 4))],
     lambda x: torch.amax(x, 1, keepdim=True), [0]),
    ("max_middle_axis", [u((2, 3, 4))], lambda x: torch.amax(x, 1), [0]),
    ("min_axis0_keepdims", [u((4, 3))], lambda x: torch.amin(x, 0, keepdim=True), [0]),
    ("min_ties", [vals([2, -1, 3, -1, 0, 4], (2, 3))], lambda x: torch.amin(x, (0, 1)), [0]),
    ("max_int64", [ints((4, 5), -50, 50)], lambda x: torch.amax(x, 0), []),
    # prod
    ("prod_axis1", [away((3, 4), 0.5, 1.5)], lambda x: x.prod(1), [0]),
    ("prod_all", [away((2, 3), 0.5, 1.5)], lambda x: x.prod(), [0]),
    ("prod_with_zeros", [vals([0.5, -2, 1.5, 3, 0, 2, -1.5, 0.5, 0, 1.25, 0, 2], (3, 4))], lambda x: x.prod(1), [0]),
    ("prod_axis0_transposed", [u((3, 2), 0.5, 1.5)], lambda x: x.t().prod(0, keepdim=True), [0]),
    # argmax / argmin
    ("argmax_axis1", [u((3, 5))], lambda x: x.argmax(1), []),
    ("argmax_flattened", [u((3, 4))], lambda x: x.t().argmax(), []),
    ("argmax_columns", [u((5, 300))], lambda x: x.argmax(0), []),
    ("argmin_axis0_keepdims", [u((4, 3))], lambda x: x.argmin(0, keepdim=True), []),
    ("argmin_first_tie", [vals([3, 1, 2, 1, 5, 5, 4, 5], (2, 4))], from_np(lambda a: np.argmin(a, -1)), []),
    # composites
    ("mean_axis0", [u((3, 4))], lambda x: x.mean(0), [0]),
    ("mean_all_keepdims", [u((2, 3, 2))], lambda x: x.mean((0, 1, 2), keepdim=True), [0]),
    ("mean_int32_gives_float32", [ints((3, 4), 0, 10, np.int32)], lambda x: x.double().mean(1), []),
    ("var_axis1", [u((3, 5))], lambda x: x.var(1, unbiased=False), [0]),
    ("std_all", [u((2, 5))], lambda x: x.std(unbiased=False), [0]),
    ("logsumexp_axis1_large", [u((3, 4))], lambda x: torch.logsumexp(x * 60.0, 1), [0], 1e-5, 1e-4),
    ("logsumexp_all_keepdims", [u((2, 3))], lambda x: torch.logsumexp(x, (0, 1), keepdim=True), [0]),
]
