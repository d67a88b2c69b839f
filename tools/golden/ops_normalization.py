"""PyTorch fixtures for tests/ops/table_normalization.cpp (torch.nn.functional.batch_norm, layer_norm).

torch's batch_norm wants channels on axis 1, so channels-last inputs are moved there and back. In training
mode torch normalises with the biased variance (its running variance is unbiased, so the statistics Keel
returns are compared against x.mean / x.var(unbiased=False) computed directly). The inference form is the
formula itself, since F.batch_norm cannot differentiate with respect to its running statistics.
"""
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(202)


def u(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, size=shape)


def bn(x_shape, c):
    return [u(*x_shape), u(c, lo=0.5, hi=1.5), u(c, lo=-0.5, hi=0.5)]


def bn_inf(x_shape, c):
    return [u(*x_shape), u(c, lo=-0.5, hi=0.5), u(c, lo=0.5, hi=1.5), u(c, lo=0.5, hi=1.5), u(c, lo=-0.5, hi=0.5)]


def bn_train(x, g, b, axis=-1, eps=1e-3):
    xc = torch.movedim(x, axis, 1)
    y = F.batch_norm(xc, None, None, g, b, training=True, eps=eps)
    return torch.movedim(y, 1, axis)


def moments(x, axis):
    dims = [d for d in range(x.dim()) if d != axis % x.dim()]
    return x.mean(dims), x.var(dims, unbiased=False)


def bn_y_and_stats(x, g, b):
    mean, var = moments(x, -1)
    return bn_train(x, g, b) + mean * var


def bn_moments(x, g, b):
    mean, var = moments(x, 1)
    return mean + var * var


def bn_inference(x, m, v, g, b, axis=-1, eps=1e-3):
    # F.batch_norm does not differentiate through running statistics: the formula, channels moved last.
    xc = torch.movedim(x, axis, -1)
    return torch.movedim((xc - m) / torch.sqrt(v + eps) * g + b, -1, axis)


CASES = [
    ("batch_norm_train_last_axis", bn((6, 3), 3), bn_train, [0, 1, 2]),
    ("batch_norm_train_nhwc", bn((2, 2, 3, 2), 2), lambda x, g, b: bn_train(x, g, b, -1, 1e-2), [0, 1, 2]),
    ("batch_norm_train_axis1", bn((3, 4, 2), 4), lambda x, g, b: bn_train(x, g, b, 1), [0, 1, 2]),
    ("batch_norm_train_transposed", bn((3, 5), 3), lambda x, g, b: bn_train(x.T, g, b), [0, 1, 2]),
    ("batch_norm_train_y_and_stats", bn((5, 3), 3), bn_y_and_stats, [0, 1, 2]),
    ("batch_norm_train_moments_only", bn((4, 2, 3), 2), bn_moments, [0]),
    ("batch_norm_train_empty_batch", bn((0, 3), 3), lambda x, g, b: x * g + b, []),
    ("batch_norm_inference_last_axis", bn_inf((4, 3), 3), bn_inference, [0, 1, 2, 3, 4]),
    ("batch_norm_inference_axis1_transposed", bn_inf((4, 3, 2), 3),
     lambda x, m, v, g, b: bn_inference(x.permute(2, 1, 0), m, v, g, b, 1, 1e-2), [0, 1, 2, 3, 4]),
    ("layer_norm_last_axis", bn((4, 5), 5), lambda x, g, b: F.layer_norm(x, (5,), g, b, 1e-3), [0, 1, 2]),
    ("layer_norm_two_axes", [u(2, 3, 4), u(3, 4, lo=0.5, hi=1.5), u(3, 4, lo=-0.5, hi=0.5)],
     lambda x, g, b: F.layer_norm(x, (3, 4), g, b, 1e-2), [0, 1, 2]),
    ("layer_norm_transposed", [u(4, 3), u(4, lo=0.5, hi=1.5), u(4, lo=-0.5, hi=0.5)],
     lambda x, g, b: F.layer_norm(x.T, (4,), g, b, 1e-3), [0, 1, 2]),
    ("layer_norm_1d", bn((6,), 6), lambda x, g, b: F.layer_norm(x, (6,), g, b, 1e-3), [0, 1, 2]),
    ("layer_norm_empty_batch", bn((0, 4), 4), lambda x, g, b: F.layer_norm(x, (4,), g, b, 1e-3), []),
]
