"""PyTorch fixtures of the shape and indexing op cases (tests/ops/table_manipulation.cpp). Names match
the OpCases; inputs are drawn here with the same shapes (index tensors with the same values). NumPy
slicing rules (negative steps) and one_hot's zero rows are spelled out with index lists and NumPy.
"""
import numpy as np
import torch

rng = np.random.default_rng(20240613)


def u(shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape)


def ids(v, shape, dtype=np.int64):
    return np.array(v, dtype=dtype).reshape(shape)


def take(x, idx, axis):
    """keras.ops.take: negative indices wrap; output x.shape[:axis] + idx.shape + x.shape[axis+1:]."""
    axis = axis % x.dim()
    n = x.shape[axis]
    flat = idx.reshape(-1).long()
    flat = torch.where(flat < 0, flat + n, flat)
    out = x.index_select(axis, flat)
    return out.reshape(x.shape[:axis] + idx.shape + x.shape[axis + 1:])


def slice_backward(g):
    z = torch.zeros(5, 4)
    z[1:4:2, 0:3] = g
    return z


def split_reordered(x):
    s = torch.split(x, 2, dim=1)
    return torch.cat([s[2], s[0], s[1]], 1)


def split_indices(x):
    s = torch.tensor_split(x, [1, 3], dim=0)  # numpy.split(x, [1, -2]) on 5 rows
    return torch.cat([s[1], s[2], s[0]], 0)


def one_hot(idx, classes, axis):
    a = idx.numpy()
    out = (a[..., None] == np.arange(classes)).astype(np.float32)  # out-of-range rows stay zero
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(out, -1, axis)))


CASES = [
    # views
    ("reshape_infer", [u((3, 4))], lambda x: x.reshape(2, -1, 3), [0]),
    ("reshape_transposed_copies", [u((3, 4))], lambda x: x.t().reshape(-1), [0]),
    ("reshape_strided_view", [u((6, 4))], lambda x: x[0:6:2].reshape(3, 2, 2), [0]),
    ("reshape_empty", [u((0, 3))], lambda x: x.reshape(3, 0), []),
    ("squeeze_expand_dims", [u((1, 3, 1, 2))], lambda x: x.squeeze().unsqueeze(-1), [0]),
    ("transpose_3d", [u((2, 3, 4))], lambda x: x.permute(1, 2, 0), [0]),
    ("broadcast_to_rank3", [u((3, 1))], lambda x: x.expand(2, 3, 4), [0]),
    # slicing
    ("slice_block", [u((4, 5))], lambda x: x[1:3, 2:5], [0]),
    ("slice_axis_numpy_bounds", [u((3, 7))], lambda x: x[:, -5:100:2], [0]),
    ("slice_axis_reversed", [u((5, 2))], lambda x: x.index_select(0, torch.tensor(list(range(5))[-2:-100:-2])), [0]),
    ("slice_axis_empty", [u((3, 4))], lambda x: x[:, 3:1], []),
    ("split_sections_reordered", [u((2, 6))], split_reordered, [0]),
    ("split_indices", [u((5, 2))], split_indices, [0]),
    ("slice_backward_direct", [u((2, 3))], slice_backward, [0]),
    # pad / concatenate / stack / tile
    ("pad_constant", [u((2, 3))], lambda x: torch.nn.functional.pad(x, (0, 1, 1, 2), value=0.5), [0]),
    ("pad_transposed_3d", [u((2, 3, 2))],
     lambda x: torch.nn.functional.pad(x.permute(2, 0, 1), (1, 1, 2, 0, 0, 1)), [0]),
    ("pad_empty", [u((0, 2))], lambda x: torch.nn.functional.pad(x, (1, 1, 1, 1), value=-1.0), []),
    ("concatenate_axis1", [u((2, 1)), u((2, 3)), u((2, 2))], lambda a, b, c: torch.cat([a, b, c], -1), [0, 1, 2]),
    ("concatenate_axis0_transposed", [u((3, 2)), u((1, 3))], lambda a, b: torch.cat([a.t(), b], 0), [0, 1]),
    ("concatenate_with_empty", [u((2, 2)), u((0, 2))], lambda a, b: torch.cat([a, b, a], 0), [0]),
    ("stack_axis1", [u((2, 3)), u((2, 3))], lambda a, b: torch.stack([a, b], 1), [0, 1]),
    ("tile_rank_grows", [u((2, 3))], lambda x: x.repeat(2, 1, 2), [0]),
    # take / one_hot
    ("take_embedding_repeated_ids", [u((5, 3)), ids([0, 3, 3, -1, 2, 0, 4, 3], (2, 4))],
     lambda x, i: take(x, i, 0), [0]),
    ("take_axis1_int32", [u((3, 4, 2)), ids([3, 0, -3, 3, 1], (5,), np.int32)], lambda x, i: take(x, i, 1), [0]),
    ("take_last_axis_transposed", [u((3, 4)), ids([2, 1, 2, 0], (2, 2))], lambda x, i: take(x.t(), i, -1), [0]),
    ("take_backward_direct", [u((2, 3, 2)), ids([1, 0, 1], (3,))],
     lambda g, i: torch.zeros(2, 4, 2).index_add(1, i, g), [0]),
    ("one_hot_last_axis", [ids([0, 2, -1, 4, 3, 1], (2, 3))], lambda i: one_hot(i, 4, -1), []),
    ("one_hot_axis0_int32", [ids([1, 0, 2], (3,), np.int32)], lambda i: one_hot(i, 3, 0), []),
]
