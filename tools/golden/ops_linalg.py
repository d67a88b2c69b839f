"""PyTorch fixtures for tests/ops/table_linalg.cpp (torch.matmul; dense as x @ W + b)."""
import numpy as np
import torch

rng = np.random.default_rng(201)


def u(*shape):
    return rng.uniform(-1.0, 1.0, size=shape)


CASES = [
    ("matmul_2d", [u(3, 4), u(4, 5)], torch.matmul, [0, 1]),
    ("matmul_batched", [u(2, 3, 4), u(2, 4, 2)], torch.matmul, [0, 1]),
    ("matmul_broadcast_batch", [u(2, 1, 3, 4), u(3, 4, 2)], torch.matmul, [0, 1]),
    ("matmul_batched_times_2d", [u(2, 3, 4), u(4, 5)], torch.matmul, [0, 1]),
    ("matmul_2d_times_batched", [u(3, 4), u(2, 4, 2)], torch.matmul, [0, 1]),
    ("matmul_1d_1d", [u(4), u(4)], torch.matmul, [0, 1]),
    ("matmul_1d_2d", [u(4), u(4, 3)], torch.matmul, [0, 1]),
    ("matmul_2d_1d", [u(3, 4), u(4)], torch.matmul, [0, 1]),
    ("matmul_1d_batched", [u(4), u(2, 4, 3)], torch.matmul, [0, 1]),
    ("matmul_transposed_views", [u(4, 3), u(5, 4)], lambda a, b: a.T @ b.T, [0, 1]),
    ("matmul_batched_transposed_views", [u(2, 4, 3), u(2, 3, 4)],
     lambda a, b: a.transpose(1, 2) @ b.transpose(1, 2), [0, 1]),
    ("matmul_strided_slice", [u(3, 8), u(4, 2)], lambda a, b: a[:, ::2] @ b, [0, 1]),
    ("matmul_broadcast_view", [u(3, 2, 4), u(4, 2)], lambda a, b: a @ b.expand(3, 4, 2), [0, 1]),
    ("matmul_size1_dims", [u(1, 4), u(4, 1)], torch.matmul, [0, 1]),
    ("matmul_inner_size1", [u(3, 1), u(1, 2)], torch.matmul, [0, 1]),
    ("matmul_empty_rows", [u(0, 3), u(3, 2)], torch.matmul, []),
    ("matmul_empty_contraction", [u(2, 0), u(0, 3)], torch.matmul, []),
    ("dense_2d", [u(3, 4), u(4, 5), u(5)], lambda x, w, b: x @ w + b, [0, 1, 2]),
    ("dense_3d_input", [u(2, 3, 4), u(4, 2), u(2)], lambda x, w, b: x @ w + b, [0, 1, 2]),
    ("dense_no_bias", [u(3, 4), u(4, 3)], lambda x, w: x @ w, [0, 1]),
    ("dense_1d_input", [u(4), u(4, 3), u(3)], lambda x, w, b: x @ w + b, [0, 1, 2]),
    ("dense_transposed_views", [u(4, 3), u(5, 4), u(5)], lambda x, w, b: x.T @ w.T + b, [0, 1, 2]),
    ("dense_strided_bias", [u(3, 4), u(4, 3), u(6)], lambda x, w, b: x @ w + b[::2], [0, 1, 2]),
    ("dense_empty_rows", [u(0, 4), u(4, 3), u(3)], lambda x, w, b: x @ w + b, []),
    ("dense_empty_contraction", [u(2, 0), u(0, 3), u(3)], lambda x, w, b: x @ w + b, []),
]
