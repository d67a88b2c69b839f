"""PyTorch fixtures for tests/ops/table_pooling.cpp.

Channels-last data is permuted to NCHW. 'same' padding is TensorFlow's (smaller half before): max pooling
pads with -inf, average pooling divides each window's sum by its count of real elements.
"""
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(203)


def u(*shape):
    return rng.uniform(-1.0, 1.0, size=shape)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def same_pads(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def resolve(x, pool, strides, padding, pads):
    k = pair(pool)
    s = k if strides is None else pair(strides)
    if pads is None:
        pads = [(0, 0), (0, 0)]
        if padding == "same":
            pads = [same_pads(x.shape[1 + i], k[i], s[i]) for i in range(2)]
    return k, s, (pads[1][0], pads[1][1], pads[0][0], pads[0][1])


def max_pool2d(x, pool, strides=None, padding="valid"):
    k, s, p = resolve(x, pool, strides, padding, None)
    y = F.max_pool2d(F.pad(x.permute(0, 3, 1, 2), p, value=-float("inf")), k, s)
    return y.permute(0, 2, 3, 1)


def avg_pool2d(x, pool, strides=None, padding="valid", pads=None):
    k, s, p = resolve(x, pool, strides, padding, pads)
    xc = x.permute(0, 3, 1, 2)
    total = F.avg_pool2d(F.pad(xc, p), k, s, divisor_override=1)
    count = F.avg_pool2d(F.pad(torch.ones_like(xc), p), k, s, divisor_override=1)
    return (total / count).permute(0, 2, 3, 1)


def pool1d(f, x, pool, strides=None, padding="valid"):
    return f(x.unsqueeze(1), (1, pool), None if strides is None else (1, strides), padding).squeeze(1)


def avg_pool_backward(gy):
    x = torch.zeros(1, 5, 6, 2, dtype=gy.dtype, requires_grad=True)
    y = avg_pool2d(x, 3, 2, pads=[(1, 1), (0, 1)])
    return torch.autograd.grad((y * gy).sum(), x, create_graph=True)[0]


CASES = [
    ("max_pool2d_valid", [u(2, 4, 5, 2)], lambda x: max_pool2d(x, 2), [0]),
    ("max_pool2d_same_stride2", [u(1, 5, 6, 2)], lambda x: max_pool2d(x, 3, 2, "same"), [0]),
    ("max_pool2d_overlapping_windows", [u(1, 5, 5, 2)], lambda x: max_pool2d(x, (3, 2), 1), [0]),
    ("max_pool2d_same_even_window", [u(1, 5, 4, 2)], lambda x: max_pool2d(x, 2, (1, 2), "same"), [0]),
    ("max_pool2d_noncontiguous_input", [u(3, 4, 4, 1)],
     lambda x: max_pool2d(x.permute(3, 2, 1, 0), 2, 1, "same"), [0]),
    ("max_pool1d_valid", [u(2, 7, 2)], lambda x: pool1d(max_pool2d, x, 2), [0]),
    ("max_pool1d_same_stride2", [u(2, 7, 2)], lambda x: pool1d(max_pool2d, x, 3, 2, "same"), [0]),
    ("avg_pool2d_valid", [u(2, 4, 5, 2)], lambda x: avg_pool2d(x, 2), [0]),
    ("avg_pool2d_same_excludes_padding", [u(1, 5, 6, 2)], lambda x: avg_pool2d(x, 3, 2, "same"), [0]),
    ("avg_pool2d_overlapping_per_axis", [u(1, 5, 5, 2)], lambda x: avg_pool2d(x, (2, 3), (1, 2)), [0]),
    ("avg_pool2d_same_even_window", [u(1, 4, 5, 2)], lambda x: avg_pool2d(x, 2, 1, "same"), [0]),
    ("avg_pool2d_noncontiguous_input", [u(3, 4, 4, 1)],
     lambda x: avg_pool2d(x.permute(3, 2, 1, 0), 2, 2, "same"), [0]),
    ("avg_pool1d_same", [u(2, 7, 2)], lambda x: pool1d(avg_pool2d, x, 3, 2, "same"), [0]),
    ("avg_pool_backward_direct", [u(1, 3, 3, 2)], avg_pool_backward, [0]),
    ("max_pool2d_empty_batch", [u(0, 4, 4, 2)], lambda x: max_pool2d(x, 2), []),
    ("avg_pool2d_empty_batch", [u(0, 4, 4, 2)], lambda x: avg_pool2d(x, 2, None, "same"), []),
]
