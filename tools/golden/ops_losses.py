"""PyTorch fixtures for tests/ops/table_dropout_losses.cpp: dropout (the mask recomputed here from the same
Philox-4x32-10 stream Keel uses, src/core/random.cpp) and the fused cross-entropies
(binary_cross_entropy_with_logits, cross_entropy with soft labels and with class indices)."""
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(303)
M32 = 0xFFFFFFFF


def philox(key, counter_hi, counter_lo):
    c = [counter_lo & M32, counter_lo >> 32, counter_hi & M32, counter_hi >> 32]
    k0, k1 = key & M32, key >> 32
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k0, p1 & M32, (p0 >> 32) ^ c[3] ^ k1, p0 & M32]
        k0, k1 = (k0 + 0x9E3779B9) & M32, (k1 + 0xBB67AE85) & M32
    return c


def dropout_mask(shape, rate, seed):
    """Element i keeps iff uint_to_unit_float(lane i%4 of block i/4) >= rate (counter starts at 0 for a seed)."""
    n = int(np.prod(shape))
    keep = np.zeros(n)
    for i in range(n):
        draw = philox(seed, 0, i // 4)[i % 4]
        keep[i] = 1.0 if (draw >> 8) / 16777216.0 >= rate else 0.0
    return torch.tensor(keep.reshape(shape))


def dropout(x, rate, seed):
    return x * dropout_mask(tuple(x.shape), rate, seed) / (1.0 - rate)  # Keel folds 1/(1-rate) into its mask


def u(*shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, size=shape)


def away(*shape, lo=0.1, hi=3.0):
    return rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def labels01(*shape):
    return rng.uniform(0.0, 1.0, size=shape)


def ints(*shape, n, dtype=np.int64):
    return rng.integers(0, n, size=shape).astype(dtype)


def bce(z, x):
    return F.binary_cross_entropy_with_logits(x, z, reduction="none")


def ce(z, x):
    return F.cross_entropy(x, z, reduction="none")


CASES = [
    ("dropout_seeded", [u(6, 8, lo=-1, hi=1)], lambda x: dropout(x, 0.4, 1234), [0]),
    ("dropout_seeded_transposed", [u(5, 3, lo=-1, hi=1)], lambda x: dropout(x.T, 0.25, 99), [0]),
    ("sigmoid_cross_entropy", [labels01(3, 4), away(3, 4)], bce, [0, 1]),
    ("sigmoid_cross_entropy_transposed", [labels01(4, 2), away(4, 2)], lambda z, x: bce(z.T, x.T), [0, 1]),
    ("sigmoid_cross_entropy_large_logits", [labels01(2, 3), away(2, 3, lo=0.5, hi=1.0)],
     lambda z, x: bce(z, x * 60.0), [0, 1], 1e-5, 1e-4),
    ("softmax_cross_entropy_last_axis", [labels01(4, 5), u(4, 5)], ce, [0, 1]),
    ("softmax_cross_entropy_axis0", [labels01(5, 3), u(5, 3)], lambda z, x: ce(z.T, x.T), [0, 1]),
    ("softmax_cross_entropy_3d_transposed", [labels01(4, 3, 2), u(4, 3, 2)],
     lambda z, x: ce(z.permute(2, 1, 0), x.permute(2, 1, 0)), [0, 1]),
    ("softmax_cross_entropy_large_logits", [labels01(2, 4), u(2, 4, lo=-1, hi=1)],
     lambda z, x: ce(z, x * 80.0), [0, 1], 1e-5, 1e-4),
    ("softmax_cross_entropy_empty_batch", [labels01(0, 4), u(0, 4)], ce, []),
    ("sparse_softmax_cross_entropy", [ints(4, n=5), u(4, 5)], lambda t, x: F.cross_entropy(x, t, reduction="none"),
     [1]),
    ("sparse_softmax_cross_entropy_3d_int32", [ints(2, 3, n=4, dtype=np.int32), u(2, 3, 4)],
     lambda t, x: F.cross_entropy(x.permute(0, 2, 1), t.long(), reduction="none"), [1]),
    ("sparse_softmax_cross_entropy_transposed", [ints(3, n=4), u(4, 3)],
     lambda t, x: F.cross_entropy(x.T, t, reduction="none"), [1]),
    ("sparse_softmax_cross_entropy_large_logits", [ints(3, n=3), u(3, 3, lo=-1, hi=1)],
     lambda t, x: F.cross_entropy(x * 80.0, t, reduction="none"), [1], 1e-5, 1e-4),
]
