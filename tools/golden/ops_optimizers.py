"""PyTorch fixtures for tests/ops/table_optimizers.cpp: the fused Adam and SGD-momentum updates, written out
with Keras's formulas (keras/src/optimizers/adam.py, sgd.py) in float64. Each output is the updated variable
and slots concatenated along axis 0; the hyperparameters are those of the table."""
import math

import numpy as np
import torch

rng = np.random.default_rng(131)


def u(*shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape)


LR, B1, B2, EPS, T = 0.01, 0.9, 0.999, 1e-7, 3
ALPHA = LR * math.sqrt(1 - B2**T) / (1 - B1**T)


def adam(w, m, v, g):
    m = m + (g - m) * (1 - B1)
    v = v + (g * g - v) * (1 - B2)
    w = w - m * ALPHA / (torch.sqrt(v) + EPS)
    return torch.cat([w, m, v])


def sgd(nesterov, lr=0.1, momentum=0.9):
    def fn(w, m, g):
        velocity = m * momentum - g * lr
        w = w + (velocity * momentum - g * lr if nesterov else velocity)
        return torch.cat([w, velocity])
    return fn


def adam_inputs(*shape):
    return [u(*shape), u(*shape, lo=-0.5, hi=0.5), u(*shape, lo=0.01, hi=1.0), u(*shape)]


def sgd_inputs(*shape):
    return [u(*shape), u(*shape, lo=-0.5, hi=0.5), u(*shape)]


CASES = [
    ("adam_update", adam_inputs(3, 4), adam, []),
    ("adam_update_in_place", adam_inputs(37), adam, []),
    ("sgd_momentum_update", sgd_inputs(4, 3), sgd(False), []),
    ("sgd_momentum_update_nesterov_in_place", sgd_inputs(29), sgd(True), []),
]
