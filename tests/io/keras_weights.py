#!/usr/bin/python3
"""Independent side of tests/io: Keras 3 `.weights.h5` files written and read with h5py and NumPy only.

Run with Debian's /usr/bin/python3 (python3-h5py, python3-numpy; scripts/install-deps installs them).

  keras_weights.py write CASE DIR   writes DIR/CASE.weights.h5 in Keras 3's layout (groups `<path>/vars`,
                                    attribute `name`, datasets "0", "1", ...) from seeded random weights,
                                    an input DIR/CASE_x.npy and what NumPy computes from them, DIR/CASE_y.npy
                                    (for `adam`, `sgd_momentum` and `rmsprop`: a training batch and
                                    the weights and slots after one optimizer step).
  keras_weights.py check CASE FILE JSON
                                    checks a file Keel wrote: exactly the groups, `name` attributes,
                                    datasets, dtypes, shapes and values that Keras 3 lays out for the CASE
                                    model; JSON holds Keel's get_weights() (and optimizer variables) in order.
  keras_weights.py bad KIND FILE    writes a malformed weights file for the error tests.

The layouts here are written from Keras 3's saving rules (keras/src/saving/saving_lib.py): objects are
walked from the model, Sequential/Functional `layers` first (items named by snake-cased class name made
unique in order; Sequential without its InputLayer), then attributes in sorted order, private ones last.
Exits non-zero with a message on the first difference.
"""
import json
import sys

import h5py
import numpy as np


def fail(msg):
    print("keras_weights.py: " + msg, file=sys.stderr)
    sys.exit(1)


# ----------------------------------------------------------------------------- the models, in NumPy

def relu(x):
    return np.maximum(x, 0.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def conv2d_valid(x, kernel, bias):
    """NHWC input, (kh, kw, cin, cout) kernel, stride 1, no padding."""
    n, h, w, _ = x.shape
    kh, kw, _, cout = kernel.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, cout))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            patch = x[:, i:i + kh, j:j + kw, :]
            out[:, i, j, :] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out + bias


def lstm_last(x, kernel, recurrent, bias):
    """Keras LSTM, return_sequences=False: gates in the order input, forget, cell, output."""
    n, steps, _ = x.shape
    units = recurrent.shape[0]
    h = np.zeros((n, units))
    c = np.zeros((n, units))
    for t in range(steps):
        z = x[:, t, :] @ kernel + h @ recurrent + bias
        i = sigmoid(z[:, :units])
        f = sigmoid(z[:, units:2 * units])
        g = np.tanh(z[:, 2 * units:3 * units])
        o = sigmoid(z[:, 3 * units:])
        c = f * c + i * g
        h = o * np.tanh(c)
    return h


def lstm_last_dir(x, kernel, recurrent, bias, go_backwards):
    """lstm_last over the time-reversed sequence when go_backwards (Keras: the last output of that pass)."""
    return lstm_last(x[:, ::-1, :] if go_backwards else x, kernel, recurrent, bias)


def gru_last(x, kernel, recurrent, bias):
    """Keras GRU, reset_after=True (keras/src/layers/rnn/gru.py), return_sequences=False: kernel (F, 3u),
    recurrent (u, 3u), bias (2, 3u) = [input bias; recurrent bias]; gates in the order z, r, h."""
    n, steps, _ = x.shape
    units = recurrent.shape[0]
    h = np.zeros((n, units))
    for t in range(steps):
        xm = x[:, t, :] @ kernel + bias[0]
        hm = h @ recurrent + bias[1]
        z = sigmoid(xm[:, :units] + hm[:, :units])
        r = sigmoid(xm[:, units:2 * units] + hm[:, units:2 * units])
        hh = np.tanh(xm[:, 2 * units:] + r * hm[:, 2 * units:])
        h = z * h + (1.0 - z) * hh
    return h


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def mha(query, value, wq, bq, wk, bk, wv, bv, wo, bo):
    """Keras MultiHeadAttention (keras/src/layers/attention/multi_head_attention.py), key = value, no
    masks, no dropout: EinsumDense projections, the query scaled by 1/sqrt(key_dim), softmax over the key
    positions, the output projection contracting (heads, value_dim)."""
    q = np.einsum("btd,dhk->bthk", query, wq) + bq
    k = np.einsum("bsd,dhk->bshk", value, wk) + bk
    v = np.einsum("bsd,dhk->bshk", value, wv) + bv
    q = q * (1.0 / np.sqrt(float(wq.shape[-1])))
    scores = softmax(np.einsum("bshk,bthk->bhts", k, q), axis=-1)
    o = np.einsum("bhts,bshk->bthk", scores, v)
    return np.einsum("bthk,hkd->btd", o, wo) + bo


def dense_mse_gradients(xb, yb, w, b):
    """Gradients of Keras's mean squared error (mean over all elements of a batch) for y = x @ w + b."""
    pred = xb.astype(np.float64) @ w + b
    g_out = 2.0 * (pred - yb) / pred.size
    return xb.T @ g_out, g_out.sum(axis=0)


def f32(rng, *shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def make_case(case):
    """Returns (groups, x, y, extra): groups maps a group path to (name attribute, [arrays])."""
    seeds = {"seq_dense": 1, "functional": 2, "conv_bn": 3, "lstm": 4, "adam": 5, "gru": 6, "embedding": 7,
             "mha": 8, "bidirectional": 9, "sgd_momentum": 10, "rmsprop": 11}
    rng = np.random.RandomState(seeds[case] if case in seeds else fail("unknown case " + case))
    if case == "seq_dense":
        w0, b0, w1, b1 = f32(rng, 4, 5), f32(rng, 5), f32(rng, 5, 3), f32(rng, 3)
        x = f32(rng, 6, 4, scale=1.0)
        y = relu(x @ w0 + b0) @ w1 + b1
        groups = {"vars": ("sequential", []),
                  "layers/dense/vars": ("dense", [w0, b0]),
                  "layers/dense_1/vars": ("dense_1", [w1, b1])}
        return groups, x, y, {}
    if case == "functional":
        w0, b0, w1, b1 = f32(rng, 4, 6), f32(rng, 6), f32(rng, 6, 2), f32(rng, 2)
        x = f32(rng, 5, 4, scale=1.0)
        y = sigmoid(np.tanh(x @ w0 + b0) @ w1 + b1)  # Dropout is the identity when predicting
        groups = {"vars": ("functional", []),
                  "layers/input_layer/vars": ("input_layer", []),
                  "layers/dense/vars": ("dense", [w0, b0]),
                  "layers/dropout/vars": ("dropout", []),
                  "layers/dense_1/vars": ("dense_1", [w1, b1])}
        return groups, x, y, {}
    if case == "conv_bn":
        k, kb = f32(rng, 3, 3, 2, 3), f32(rng, 3)
        gamma = (1.0 + 0.2 * rng.standard_normal(3)).astype(np.float32)
        beta, mean = f32(rng, 3), f32(rng, 3)
        var = (0.5 + rng.random_sample(3)).astype(np.float32)
        w, b = f32(rng, 48, 2, scale=0.2), f32(rng, 2)
        x = f32(rng, 2, 6, 6, 2, scale=1.0)
        h = conv2d_valid(x.astype(np.float64), k, kb)
        h = gamma * (h - mean) / np.sqrt(var + 1e-3) + beta  # BatchNormalization at inference, epsilon 1e-3
        y = relu(h).reshape(2, -1) @ w + b
        groups = {"vars": ("sequential", []),
                  "layers/conv2d/vars": ("conv2d", [k, kb]),
                  "layers/batch_normalization/vars": ("batch_normalization", [gamma, beta, mean, var]),
                  "layers/activation/vars": ("activation", []),
                  "layers/flatten/vars": ("flatten", []),
                  "layers/dense/vars": ("dense", [w, b])}
        return groups, x, y, {}
    if case == "lstm":
        k, rk, b = f32(rng, 3, 16), f32(rng, 4, 16), f32(rng, 16)
        w, wb = f32(rng, 4, 1), f32(rng, 1)
        x = f32(rng, 3, 5, 3, scale=1.0)
        y = lstm_last(x.astype(np.float64), k, rk, b) @ w + wb
        groups = {"vars": ("sequential", []),
                  "layers/lstm/vars": ("lstm", []),
                  "layers/lstm/cell/vars": ("lstm_cell", [k, rk, b]),
                  "layers/dense/vars": ("dense", [w, wb])}
        return groups, x, y, {}
    if case == "adam":
        w, b = f32(rng, 3, 2), f32(rng, 2)
        m_w, m_b = f32(rng, 3, 2, scale=0.1), f32(rng, 2, scale=0.1)
        v_w = (0.01 * rng.random_sample((3, 2))).astype(np.float32)
        v_b = (0.01 * rng.random_sample(2)).astype(np.float32)
        iteration, lr = np.int64(5), np.float32(0.02)
        x = f32(rng, 4, 3, scale=1.0)
        y = x @ w + b
        # One Adam step (keras/src/optimizers/adam.py) on the mean squared error of a batch.
        xb, yb = f32(rng, 4, 3, scale=1.0), f32(rng, 4, 2, scale=1.0)
        pred = xb.astype(np.float64) @ w + b
        g_out = 2.0 * (pred - yb) / pred.size
        g_w, g_b = xb.T @ g_out, g_out.sum(axis=0)
        t = float(iteration) + 1.0
        alpha = float(lr) * np.sqrt(1.0 - 0.999 ** t) / (1.0 - 0.9 ** t)
        new = {}
        for name, var, g, m, v in (("kernel", w, g_w, m_w, v_w), ("bias", b, g_b, m_b, v_b)):
            m1 = m + (g - m) * (1.0 - 0.9)
            v1 = v + (g * g - v) * (1.0 - 0.999)
            new[name] = var - alpha * m1 / (np.sqrt(v1) + 1e-7)
            new[name + "_m"], new[name + "_v"] = m1, v1
        groups = {"vars": ("sequential", []),
                  "layers/dense/vars": ("dense", [w, b]),
                  "optimizer/vars": ("adam", [iteration, lr, m_w, v_w, m_b, v_b])}
        extra = {"xb": xb, "yb": yb}
        for name, value in new.items():
            extra["after_" + name] = value
        return groups, x, y, extra
    if case == "gru":
        k, rk, b = f32(rng, 3, 15), f32(rng, 5, 15), f32(rng, 2, 15)
        w, wb = f32(rng, 5, 2), f32(rng, 2)
        x = f32(rng, 3, 6, 3, scale=1.0)
        y = gru_last(x.astype(np.float64), k, rk, b) @ w + wb
        groups = {"vars": ("sequential", []),
                  "layers/gru/vars": ("gru", []),
                  "layers/gru/cell/vars": ("gru_cell", [k, rk, b]),
                  "layers/dense/vars": ("dense", [w, wb])}
        return groups, x, y, {}
    if case == "embedding":
        emb, w, wb = f32(rng, 10, 4), f32(rng, 4, 2), f32(rng, 2)
        x = rng.randint(0, 10, size=(5, 6)).astype(np.int32)
        y = emb.astype(np.float64)[x].mean(axis=1) @ w + wb  # take(embeddings, ids), then the mean over time
        groups = {"vars": ("sequential", []),
                  "layers/embedding/vars": ("embedding", [emb]),
                  "layers/global_average_pooling1d/vars": ("global_average_pooling1d", []),
                  "layers/dense/vars": ("dense", [w, wb])}
        return groups, x, y, {}
    if case == "mha":
        d, heads, key_dim = 5, 2, 3
        wq, bq = f32(rng, d, heads, key_dim), f32(rng, heads, key_dim)
        wk, bk = f32(rng, d, heads, key_dim), f32(rng, heads, key_dim)
        wv, bv = f32(rng, d, heads, key_dim), f32(rng, heads, key_dim)
        wo, bo = f32(rng, heads, key_dim, d), f32(rng, d)
        w, wb = f32(rng, d, 2), f32(rng, 2)
        x = f32(rng, 3, 4, d, scale=1.0)
        x64 = x.astype(np.float64)
        y = mha(x64, x64, wq, bq, wk, bk, wv, bv, wo, bo) @ w + wb
        groups = {"vars": ("functional", []),
                  "layers/input_layer/vars": ("input_layer", []),
                  "layers/multi_head_attention/vars": ("multi_head_attention", []),
                  "layers/multi_head_attention/query_dense/vars": ("query", [wq, bq]),
                  "layers/multi_head_attention/key_dense/vars": ("key", [wk, bk]),
                  "layers/multi_head_attention/value_dense/vars": ("value", [wv, bv]),
                  "layers/multi_head_attention/output_dense/vars": ("attention_output", [wo, bo]),
                  "layers/multi_head_attention/_dropout_layer/vars": ("dropout", []),
                  "layers/multi_head_attention/_softmax/vars": ("softmax", []),
                  "layers/dense/vars": ("dense", [w, wb])}
        return groups, x, y, {}
    if case == "bidirectional":
        fk, frk, fb = f32(rng, 3, 16), f32(rng, 4, 16), f32(rng, 16)
        bk, brk, bb = f32(rng, 3, 16), f32(rng, 4, 16), f32(rng, 16)
        w, wb = f32(rng, 8, 1), f32(rng, 1)
        x = f32(rng, 3, 5, 3, scale=1.0)
        x64 = x.astype(np.float64)
        # merge_mode="concat": [forward output, backward output]; the backward layer has go_backwards=True.
        h = np.concatenate([lstm_last_dir(x64, fk, frk, fb, False), lstm_last_dir(x64, bk, brk, bb, True)], axis=-1)
        y = h @ w + wb
        groups = {"vars": ("sequential", []),
                  "layers/bidirectional/vars": ("bidirectional", []),
                  "layers/bidirectional/forward_layer/vars": ("forward_lstm", []),
                  "layers/bidirectional/forward_layer/cell/vars": ("lstm_cell", [fk, frk, fb]),
                  "layers/bidirectional/backward_layer/vars": ("backward_lstm", []),
                  "layers/bidirectional/backward_layer/cell/vars": ("lstm_cell", [bk, brk, bb]),
                  "layers/dense/vars": ("dense", [w, wb])}
        return groups, x, y, {}
    if case == "sgd_momentum":
        w, b = f32(rng, 3, 2), f32(rng, 2)
        m_w, m_b = f32(rng, 3, 2, scale=0.1), f32(rng, 2, scale=0.1)
        iteration, lr = np.int64(7), np.float32(0.05)
        x = f32(rng, 4, 3, scale=1.0)
        y = x @ w + b
        # One SGD step (keras/src/optimizers/sgd.py), momentum 0.9, nesterov False: m = 0.9 m - lr g; w += m.
        xb, yb = f32(rng, 4, 3, scale=1.0), f32(rng, 4, 2, scale=1.0)
        g_w, g_b = dense_mse_gradients(xb, yb, w, b)
        extra = {"xb": xb, "yb": yb}
        for name, var, g, m in (("kernel", w, g_w, m_w), ("bias", b, g_b, m_b)):
            m1 = 0.9 * m - float(lr) * g
            extra["after_" + name], extra["after_" + name + "_m"] = var + m1, m1
        groups = {"vars": ("sequential", []),
                  "layers/dense/vars": ("dense", [w, b]),
                  "optimizer/vars": ("SGD", [iteration, lr, m_w, m_b])}
        return groups, x, y, extra
    if case == "rmsprop":
        w, b = f32(rng, 3, 2), f32(rng, 2)
        v_w = (0.01 + 0.05 * rng.random_sample((3, 2))).astype(np.float32)
        v_b = (0.01 + 0.05 * rng.random_sample(2)).astype(np.float32)
        iteration, lr = np.int64(3), np.float32(0.01)
        x = f32(rng, 4, 3, scale=1.0)
        y = x @ w + b
        # One RMSprop step (keras/src/optimizers/rmsprop.py), rho 0.9, momentum 0, centered False, epsilon
        # 1e-7 inside the square root: v = rho v + (1 - rho) g^2; w -= lr g / sqrt(v + epsilon).
        xb, yb = f32(rng, 4, 3, scale=1.0), f32(rng, 4, 2, scale=1.0)
        g_w, g_b = dense_mse_gradients(xb, yb, w, b)
        extra = {"xb": xb, "yb": yb}
        for name, var, g, v in (("kernel", w, g_w, v_w), ("bias", b, g_b, v_b)):
            v1 = 0.9 * v + (1.0 - 0.9) * g * g
            extra["after_" + name] = var - float(lr) * g / np.sqrt(v1 + 1e-7)
            extra["after_" + name + "_v"] = v1
        groups = {"vars": ("sequential", []),
                  "layers/dense/vars": ("dense", [w, b]),
                  "optimizer/vars": ("rmsprop", [iteration, lr, v_w, v_b])}
        return groups, x, y, extra
    fail("unknown case " + case)


def write(case, directory):
    groups, x, y, extra = make_case(case)
    with h5py.File("%s/%s.weights.h5" % (directory, case), "w") as f:
        for path, (name, arrays) in groups.items():
            g = f.create_group(path)
            g.attrs["name"] = name
            for i, a in enumerate(arrays):
                g[str(i)] = a
    np.save("%s/%s_x.npy" % (directory, case), x if x.dtype.kind == "i" else x.astype(np.float32))
    np.save("%s/%s_y.npy" % (directory, case), y.astype(np.float64))
    for key, value in extra.items():
        np.save("%s/%s_%s.npy" % (directory, case, key), np.asarray(value))


# ----------------------------------------------------------------------------- checking Keel's files

# Expected layout of Keel-written files: group path -> (name attribute, [index into the model's
# get_weights() list, or ("opt", i) for optimizer variable i]). Keel's names are reset before each model.
LAYOUTS = {
    "seq_dense": {"vars": ("sequential", []),
                  "layers/dense/vars": ("dense", [0, 1]),
                  "layers/dense_1/vars": ("dense_1", [2, 3])},
    "functional": {"vars": ("functional", []),
                   "layers/input_layer/vars": ("input_layer", []),
                   "layers/dense/vars": ("dense", [0, 1]),
                   "layers/dropout/vars": ("dropout", []),
                   "layers/dense_1/vars": ("dense_1", [2, 3])},
    # get_weights order: kernel, bias, gamma, beta, moving_mean, moving_variance, dense kernel, bias.
    "conv_bn": {"vars": ("sequential", []),
                "layers/conv2d/vars": ("conv2d", [0, 1]),
                "layers/batch_normalization/vars": ("batch_normalization", [2, 3, 4, 5]),
                "layers/activation/vars": ("activation", []),
                "layers/flatten/vars": ("flatten", []),
                "layers/dense/vars": ("dense", [6, 7])},
    "lstm": {"vars": ("sequential", []),
             "layers/lstm/vars": ("lstm", []),
             "layers/lstm/cell/vars": ("lstm_cell", [0, 1, 2]),
             "layers/dense/vars": ("dense", [3, 4])},
    # Adam: iteration, learning_rate, then (momentum, velocity) per model variable.
    "adam": {"vars": ("sequential", []),
             "layers/dense/vars": ("dense", [0, 1]),
             "optimizer/vars": ("adam", [("opt", i) for i in range(6)])},
    # Sub-layers under Keras's attribute names; MultiHeadAttention's dropout and softmax hold no variables.
    # get_weights order: query kernel, bias, key kernel, bias, value kernel, bias, output kernel, bias, then
    # the Bidirectional's forward cell (3) and backward cell (3), then the dense layer.
    "sublayers": {"vars": ("functional", []),
                  "layers/input_layer/vars": ("input_layer", []),
                  "layers/multi_head_attention/vars": ("multi_head_attention", []),
                  "layers/multi_head_attention/query_dense/vars": ("query", [0, 1]),
                  "layers/multi_head_attention/key_dense/vars": ("key", [2, 3]),
                  "layers/multi_head_attention/value_dense/vars": ("value", [4, 5]),
                  "layers/multi_head_attention/output_dense/vars": ("attention_output", [6, 7]),
                  "layers/multi_head_attention/_dropout_layer/vars": ("dropout", []),
                  "layers/multi_head_attention/_softmax/vars": ("softmax", []),
                  "layers/bidirectional/vars": ("bidirectional", []),
                  "layers/bidirectional/forward_layer/vars": ("forward_gru", []),
                  "layers/bidirectional/forward_layer/cell/vars": ("gru_cell", [8, 9, 10]),
                  "layers/bidirectional/backward_layer/vars": ("backward_gru", []),
                  "layers/bidirectional/backward_layer/cell/vars": ("gru_cell", [11, 12, 13]),
                  "layers/dense/vars": ("dense", [14, 15])},
    "gru": {"vars": ("sequential", []),
            "layers/gru/vars": ("gru", []),
            "layers/gru/cell/vars": ("gru_cell", [0, 1, 2]),
            "layers/dense/vars": ("dense", [3, 4])},
    "embedding": {"vars": ("sequential", []),
                  "layers/embedding/vars": ("embedding", [0]),
                  "layers/global_average_pooling1d/vars": ("global_average_pooling1d", []),
                  "layers/dense/vars": ("dense", [1, 2])},
    # MultiHeadAttention alone (Keras's public properties query_dense, ... win over _query_dense, ...).
    "mha": {"vars": ("functional", []),
            "layers/input_layer/vars": ("input_layer", []),
            "layers/multi_head_attention/vars": ("multi_head_attention", []),
            "layers/multi_head_attention/query_dense/vars": ("query", [0, 1]),
            "layers/multi_head_attention/key_dense/vars": ("key", [2, 3]),
            "layers/multi_head_attention/value_dense/vars": ("value", [4, 5]),
            "layers/multi_head_attention/output_dense/vars": ("attention_output", [6, 7]),
            "layers/multi_head_attention/_dropout_layer/vars": ("dropout", []),
            "layers/multi_head_attention/_softmax/vars": ("softmax", []),
            "layers/dense/vars": ("dense", [8, 9])},
    # Bidirectional(LSTM): the forward and backward copies named "forward_lstm" / "backward_lstm", each
    # with its own cell; no group for the wrapped layer itself (Keras keeps no `layer` attribute).
    "bidirectional": {"vars": ("sequential", []),
                      "layers/bidirectional/vars": ("bidirectional", []),
                      "layers/bidirectional/forward_layer/vars": ("forward_lstm", []),
                      "layers/bidirectional/forward_layer/cell/vars": ("lstm_cell", [0, 1, 2]),
                      "layers/bidirectional/backward_layer/vars": ("backward_lstm", []),
                      "layers/bidirectional/backward_layer/cell/vars": ("lstm_cell", [3, 4, 5]),
                      "layers/dense/vars": ("dense", [6, 7])},
    # SGD with momentum: iteration, learning_rate, one momentum per model variable; Keras 3 names it "SGD".
    "sgd_momentum": {"vars": ("sequential", []),
                     "layers/dense/vars": ("dense", [0, 1]),
                     "optimizer/vars": ("SGD", [("opt", i) for i in range(4)])},
    # RMSprop (momentum 0, not centered): iteration, learning_rate, one velocity per model variable.
    "rmsprop": {"vars": ("sequential", []),
                "layers/dense/vars": ("dense", [0, 1]),
                "optimizer/vars": ("rmsprop", [("opt", i) for i in range(4)])},
    # One variable per Keel dtype (a custom layer); h5py's types for NumPy's dtypes, bfloat16 as Keras
    # stores it: 2-byte opaque values with attribute dtype="bfloat16".
    "dtypes": {"vars": ("sequential", []),
               "layers/mixed_dtypes/vars": ("mixed_dtypes", list(range(8)))},
}


def check(case, path, json_path):
    layout = LAYOUTS.get(case) or fail("unknown case " + case)
    with open(json_path) as jf:
        keel = json.load(jf)
    weights, opt = keel["weights"], keel.get("optimizer", [])
    used = set()
    with h5py.File(path, "r") as f:
        if len(f.attrs) != 0:
            fail("the file root has attributes %s; Keras writes none" % list(f.attrs))
        found_groups, found_datasets = set(), set()

        def visit(name, obj):
            if isinstance(obj, h5py.Group):
                found_groups.add(name)
            elif isinstance(obj, h5py.Dataset):
                found_datasets.add(name)
            else:
                fail("unexpected object %s" % name)
        f.visititems(visit)
        expected_groups, expected_datasets = set(), set()
        for gpath, (_, entries) in layout.items():
            parts = gpath.split("/")
            for i in range(1, len(parts) + 1):
                expected_groups.add("/".join(parts[:i]))
            for i in range(len(entries)):
                expected_datasets.add("%s/%d" % (gpath, i))
        if found_groups != expected_groups:
            fail("groups differ: missing %s, unexpected %s" % (sorted(expected_groups - found_groups),
                                                               sorted(found_groups - expected_groups)))
        if found_datasets != expected_datasets:
            fail("datasets differ: missing %s, unexpected %s" % (sorted(expected_datasets - found_datasets),
                                                                 sorted(found_datasets - expected_datasets)))
        for gpath, (name, entries) in layout.items():
            g = f[gpath]
            if set(g.attrs.keys()) != {"name"}:
                fail("%s has attributes %s; expected exactly 'name'" % (gpath, list(g.attrs.keys())))
            attr_id = g.attrs.get_id("name")
            tid = attr_id.get_type()
            if not (isinstance(tid, h5py.h5t.TypeStringID) and tid.is_variable_str()
                    and tid.get_cset() == h5py.h5t.CSET_UTF8 and attr_id.shape == ()):
                fail("%s: attribute 'name' is not a scalar variable-length UTF-8 string, as h5py writes a str" % gpath)
            if g.attrs["name"] != name:
                fail("%s: name attribute %r, expected %r" % (gpath, g.attrs["name"], name))
            for i, entry in enumerate(entries):
                d = g[str(i)]
                if isinstance(entry, tuple):
                    ref = opt[entry[1]]
                    used.add(("opt", entry[1]))
                else:
                    ref = weights[entry]
                    used.add(entry)
                if ref["dtype"] == "bfloat16":
                    if d.attrs.get("dtype") != "bfloat16" or d.id.get_type().get_class() != h5py.h5t.OPAQUE:
                        fail("%s/%d: a bfloat16 variable must be 2-byte opaque values with attribute "
                             "dtype='bfloat16'" % (gpath, i))
                    got = np.frombuffer(d[()].tobytes(), dtype="<u2").reshape(d.shape)
                    if d.shape != tuple(ref["shape"]) or not np.array_equal(got, np.array(ref["values"], "<u2").reshape(d.shape)):
                        fail("%s/%d: bfloat16 values differ" % (gpath, i))
                    continue
                if len(d.attrs) != 0:
                    fail("%s/%d has attributes %s; Keras writes none" % (gpath, i, list(d.attrs)))
                want = np.array(ref["values"], dtype=ref["dtype"]).reshape(ref["shape"])
                if d.dtype != want.dtype or d.shape != want.shape:
                    fail("%s/%d: %s %s, expected %s %s" % (gpath, i, d.dtype, d.shape, want.dtype, want.shape))
                if d.dtype.byteorder not in ("<", "=", "|"):
                    fail("%s/%d is not little-endian" % (gpath, i))
                if d.chunks is not None or d.compression is not None:
                    fail("%s/%d is chunked or compressed; Keras writes contiguous datasets" % (gpath, i))
                got = d[()]
                if not np.array_equal(np.asarray(got), want):
                    fail("%s/%d: values differ from Keel's variable (max abs diff %g)"
                         % (gpath, i, np.max(np.abs(np.asarray(got, np.float64) - want))))
    if len(used) != len(weights) + len(opt):
        fail("the layout covers %d of Keel's %d variables" % (len(used), len(weights) + len(opt)))
    if case == "adam":
        # Independent of Keel's own list: Keras's optimizer variable order and types.
        with h5py.File(path, "r") as f:
            ov = f["optimizer/vars"]
            if ov["0"].dtype != np.int64 or ov["0"].shape != () or ov["1"].dtype != np.float32 or ov["1"].shape != ():
                fail("optimizer/vars/0 must be the int64 iteration and /1 the float32 learning_rate scalars")
            kshape, bshape = f["layers/dense/vars/0"].shape, f["layers/dense/vars/1"].shape
            if [ov[str(i)].shape for i in range(2, 6)] != [kshape, kshape, bshape, bshape]:
                fail("Adam slots are not interleaved per variable (momentum, velocity)")
            if int(ov["0"][()]) != keel["iterations"]:
                fail("iteration %d, expected %d" % (int(ov["0"][()]), keel["iterations"]))
    if case in ("sgd_momentum", "rmsprop"):
        # Independent of Keel's own list: the int64 iteration, the float32 learning_rate, then exactly one
        # slot per model variable in the model's variable order.
        with h5py.File(path, "r") as f:
            ov = f["optimizer/vars"]
            if ov["0"].dtype != np.int64 or ov["0"].shape != () or ov["1"].dtype != np.float32 or ov["1"].shape != ():
                fail("optimizer/vars/0 must be the int64 iteration and /1 the float32 learning_rate scalars")
            kshape, bshape = f["layers/dense/vars/0"].shape, f["layers/dense/vars/1"].shape
            if [ov[str(i)].shape for i in range(2, 4)] != [kshape, bshape] or any(
                    ov[str(i)].dtype != np.float32 for i in range(2, 4)):
                fail("%s slots are not one float32 slot per variable, in the variables' order" % case)
            if int(ov["0"][()]) != keel["iterations"]:
                fail("iteration %d, expected %d" % (int(ov["0"][()]), keel["iterations"]))
    print("keras_weights.py: %s matches Keras 3's layout for %s" % (path, case))


# ----------------------------------------------------------------------------- malformed files

def bad(kind, path):
    rng = np.random.RandomState(9)
    with h5py.File(path, "w") as f:
        f.create_group("vars").attrs["name"] = "sequential"
        g = f.create_group("layers/dense/vars")
        g.attrs["name"] = "dense"
        if kind == "string_kernel":      # wrong dtype: text where a float kernel belongs
            g["0"] = np.array([[b"a", b"b"]] * 4)
            g["1"] = f32(rng, 2)
        elif kind == "int_kernel":       # wrong dtype: integers for a float variable
            g["0"] = np.ones((4, 2), np.int32)
            g["1"] = f32(rng, 2)
        elif kind == "renamed_keys":     # two datasets, but not named "0" and "1"
            g["kernel"] = f32(rng, 4, 2)
            g["bias"] = f32(rng, 2)
        elif kind == "vars_is_dataset":  # `vars` must be a group
            del f["layers/dense/vars"]
            f["layers/dense/vars"] = f32(rng, 4, 2)
        else:
            fail("unknown kind " + kind)


def main(argv):
    if len(argv) == 4 and argv[1] == "write":
        write(argv[2], argv[3])
    elif len(argv) == 5 and argv[1] == "check":
        check(argv[2], argv[3], argv[4])
    elif len(argv) == 4 and argv[1] == "bad":
        bad(argv[2], argv[3])
    else:
        fail("usage: keras_weights.py write CASE DIR | check CASE FILE JSON | bad KIND FILE")


if __name__ == "__main__":
    main(sys.argv)
