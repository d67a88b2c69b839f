"""PyTorch fixtures for tests/ops/table_softmax.cpp (torch.softmax, torch.log_softmax, and their backward
ops called directly: dx from torch.autograd on softmax / log_softmax)."""
import numpy as np
import torch

rng = np.random.default_rng(101)


def u(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, size=shape)


def bwd_inputs(shape, axis, log):
    """(y, g): y = softmax / log_softmax of random logits along axis, g random."""
    x = torch.tensor(u(*shape))
    y = torch.log_softmax(x, axis) if log else torch.softmax(x, axis)
    return [y.numpy(), u(*shape, lo=-1, hi=1)]


def bwd(axis, log, transpose=False):
    """dx of the backward op: the vector-Jacobian product of softmax at the x that y came from.

    Softmax is shift-invariant, so x = log(y) (softmax) or x = y (log_softmax) has the same Jacobian."""
    def fn(y, g):
        if transpose:
            y, g = y.T, g.T
        x = (y if log else torch.log(y)).detach().requires_grad_(True)
        out = torch.log_softmax(x, axis) if log else torch.softmax(x, axis)
        (dx,) = torch.autograd.grad(out, x, g)
        return dx
    return fn


CASES = [
    ("softmax_last_axis", [u(3, 5)], lambda x: torch.softmax(x, -1), [0]),
    ("softmax_axis0_transposed", [u(3, 4)], lambda x: torch.softmax(x.T, 0), [0]),
    ("softmax_middle_axis", [u(2, 3, 4)], lambda x: torch.softmax(x, 1), [0]),
    ("softmax_size1_axis", [u(4, 1)], lambda x: torch.softmax(x, -1), [0]),
    ("softmax_large_logits", [u(2, 6, lo=-1, hi=1)], lambda x: torch.softmax(x * 80.0, -1), [0]),
    ("softmax_empty_batch", [u(0, 4)], lambda x: torch.softmax(x, -1), []),
    ("log_softmax_last_axis", [u(4, 6)], lambda x: torch.log_softmax(x, -1), [0]),
    ("log_softmax_axis0_transposed", [u(5, 3)], lambda x: torch.log_softmax(x.T, 0), [0]),
    ("log_softmax_middle_axis", [u(2, 4, 3)], lambda x: torch.log_softmax(x, -2), [0]),
    ("log_softmax_large_logits", [u(3, 4, lo=-1, hi=1)], lambda x: torch.log_softmax(x * 80.0, -1), [0],
     1e-5, 1e-4),
    ("log_softmax_1d", [u(7)], lambda x: torch.log_softmax(x, 0), [0]),
    ("softmax_backward_last_axis", bwd_inputs((3, 5), -1, False), bwd(-1, False), []),
    ("softmax_backward_middle_axis", bwd_inputs((2, 4, 3), 1, False), bwd(1, False), []),
    ("softmax_backward_transposed", bwd_inputs((5, 3), 0, False), bwd(-1, False, transpose=True), []),
    ("softmax_backward_empty_batch", bwd_inputs((0, 4), -1, False), bwd(-1, False), []),
    ("log_softmax_backward_last_axis", bwd_inputs((3, 5), -1, True), bwd(-1, True), []),
    ("log_softmax_backward_middle_axis", bwd_inputs((2, 4, 3), 1, True), bwd(1, True), []),
    ("log_softmax_backward_transposed", bwd_inputs((5, 3), 0, True), bwd(-1, True, transpose=True), []),
]
