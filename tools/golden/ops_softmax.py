"""PyTorch fixtures for tests/ops/table_softmax.cpp (torch.softmax, torch.log_softmax)."""
import numpy as np
import torch

rng = np.random.default_rng(101)


def u(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, size=shape)


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
]
