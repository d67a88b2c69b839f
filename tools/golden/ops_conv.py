"""PyTorch fixtures for tests/ops/table_conv.cpp.

Keel's layouts are channels-last data and HWIO kernels; these helpers permute to PyTorch's NCHW/OIHW.
'same' padding is TensorFlow's (smaller half before), applied with F.pad. conv2d_transpose follows
Keras's JAX backend: the input dilated by the strides, padded by (left_pad, right_pad) from
keras.src.backend.common.backend_utils._convert_conv_transpose_padding_args_from_keras_to_jax, and
convolved with the spatially flipped kernel.
"""
import numpy as np
import torch
import torch.nn.functional as F

rng = np.random.default_rng(202)


def u(*shape):
    return rng.uniform(-1.0, 1.0, size=shape)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def same_pads(size, k, s, d):
    keff = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + keff - size, 0)
    return total // 2, total - total // 2


def conv2d(x, k, strides=1, padding="valid", dilation=1, groups=1, pads=None):
    """x (N, H, W, C), k (KH, KW, C/groups, O) -> (N, OH, OW, O)."""
    s, d = pair(strides), pair(dilation)
    if pads is None:
        pads = [(0, 0), (0, 0)]
        if padding == "same":
            pads = [same_pads(x.shape[1 + i], k.shape[i], s[i], d[i]) for i in range(2)]
    xc = F.pad(x.permute(0, 3, 1, 2).contiguous(), (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    y = F.conv2d(xc, k.permute(3, 2, 0, 1).contiguous(), stride=s, dilation=d, groups=groups)
    return y.permute(0, 2, 3, 1)


def depthwise(x, k, strides=1, padding="valid"):
    kh, kw, c, m = k.shape
    return conv2d(x, k.reshape(kh, kw, 1, c * m), strides, padding, groups=c)


def conv1d(x, k, strides=1, padding="valid", dilation=1, groups=1):
    y = conv2d(x.unsqueeze(1), k.unsqueeze(0), (1, strides), padding, (1, dilation), groups)
    return y.squeeze(1)


def jax_transpose_pads(k, s, d, padding, output_padding):
    keff = (k - 1) * d + 1
    if padding == "valid":
        op = max(keff, s) - keff if output_padding is None else output_padding
        return keff - 1, keff - 1 + op
    if output_padding is None:
        pad_len = s + keff - 2
    else:
        pad_len = keff + keff % 2 - 2 + output_padding
    left = min(pad_len // 2 + pad_len % 2, keff - 1)
    return left, pad_len - left


def conv2d_transpose(x, k, strides=1, padding="valid", dilation=1, output_padding=None):
    """x (N, H, W, Cin), k (KH, KW, Cout, Cin) as Keras's Conv2DTranspose."""
    s, d = pair(strides), pair(dilation)
    op = [None, None] if output_padding is None else pair(output_padding)
    n, h, w, c = x.shape
    xd = torch.zeros(n, c, (h - 1) * s[0] + 1, (w - 1) * s[1] + 1, dtype=x.dtype)
    xd[:, :, ::s[0], ::s[1]] = x.permute(0, 3, 1, 2)
    pads = [jax_transpose_pads(k.shape[i], s[i], d[i], padding, op[i]) for i in range(2)]
    xd = F.pad(xd, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    y = F.conv2d(xd, k.permute(2, 3, 0, 1).flip(2, 3), dilation=d)
    return y.permute(0, 2, 3, 1)


def conv_backward_kernel(x, gy):
    w = torch.zeros(3, 3, 2, 2, dtype=x.dtype, requires_grad=True)
    y = conv2d(x, w, strides=2, groups=2, pads=[(1, 1), (1, 1)])
    return torch.autograd.grad((y * gy).sum(), w, create_graph=True)[0]


CASES = [
    ("conv2d_valid", [u(2, 5, 5, 2), u(3, 3, 2, 3)], conv2d, [0, 1]),
    ("conv2d_same_stride2_odd_even", [u(1, 5, 6, 2), u(3, 3, 2, 3)],
     lambda x, k: conv2d(x, k, 2, "same"), [0, 1]),
    ("conv2d_same_even_kernel", [u(1, 5, 4, 2), u(2, 2, 2, 3)], lambda x, k: conv2d(x, k, 1, "same"), [0, 1]),
    ("conv2d_valid_stride2_floor", [u(1, 6, 6, 2), u(3, 3, 2, 2)], lambda x, k: conv2d(x, k, 2), [0, 1]),
    ("conv2d_dilation2", [u(1, 6, 7, 2), u(2, 3, 2, 3)], lambda x, k: conv2d(x, k, dilation=2), [0, 1]),
    ("conv2d_same_dilation2_stride_per_axis", [u(1, 6, 5, 2), u(3, 2, 2, 2)],
     lambda x, k: conv2d(x, k, (2, 1), "same", (1, 2)), [0, 1]),
    ("conv2d_groups2", [u(1, 5, 5, 4), u(3, 3, 2, 4)], lambda x, k: conv2d(x, k, 1, "same", groups=2), [0, 1]),
    ("conv2d_noncontiguous_input", [u(2, 4, 4, 2), u(3, 3, 2, 2)],
     lambda x, k: conv2d(x.permute(3, 2, 1, 0), k, 1, "same"), [0, 1]),
    ("depthwise_conv2d_multiplier2_same", [u(1, 5, 5, 3), u(3, 3, 3, 2)],
     lambda x, k: depthwise(x, k, 1, "same"), [0, 1]),
    ("depthwise_conv2d_stride2_valid", [u(1, 6, 5, 3), u(2, 2, 3, 1)], lambda x, k: depthwise(x, k, 2), [0, 1]),
    ("conv1d_valid", [u(2, 7, 2), u(3, 2, 3)], conv1d, [0, 1]),
    ("conv1d_same_stride2_dilation2", [u(2, 8, 2), u(3, 2, 2)], lambda x, k: conv1d(x, k, 2, "same", 2), [0, 1]),
    ("conv1d_groups2", [u(1, 6, 4), u(3, 2, 4)], lambda x, k: conv1d(x, k, groups=2), [0, 1]),
    ("conv2d_transpose_valid_stride2", [u(1, 3, 3, 2), u(3, 3, 3, 2)],
     lambda x, k: conv2d_transpose(x, k, 2), [0, 1]),
    ("conv2d_transpose_same_stride2", [u(2, 3, 2, 2), u(3, 3, 2, 2)],
     lambda x, k: conv2d_transpose(x, k, 2, "same"), [0, 1]),
    ("conv2d_transpose_valid_output_padding", [u(1, 3, 3, 2), u(3, 3, 2, 2)],
     lambda x, k: conv2d_transpose(x, k, 2, "valid", output_padding=1), [0, 1]),
    ("conv2d_transpose_same_output_padding_even_kernel", [u(1, 3, 3, 2), u(2, 2, 2, 2)],
     lambda x, k: conv2d_transpose(x, k, 2, "same", output_padding=(1, 0)), [0, 1]),
    ("conv2d_transpose_same_stride1", [u(1, 4, 3, 2), u(3, 2, 3, 2)],
     lambda x, k: conv2d_transpose(x, k, 1, "same"), [0, 1]),
    ("conv2d_transpose_dilation2", [u(1, 3, 3, 2), u(2, 2, 2, 2)],
     lambda x, k: conv2d_transpose(x, k, 1, "valid", dilation=2), [0, 1]),
    ("conv2d_transpose_kernel_smaller_than_stride", [u(1, 2, 3, 2), u(2, 2, 2, 2)],
     lambda x, k: conv2d_transpose(x, k, 3), [0, 1]),
    ("conv_backward_kernel_direct", [u(1, 5, 5, 4), u(1, 3, 3, 2)], conv_backward_kernel, [0, 1]),
    ("conv2d_empty_batch", [u(0, 4, 4, 2), u(3, 3, 2, 2)], lambda x, k: conv2d(x, k, 1, "same"), []),
]
