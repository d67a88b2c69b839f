#!/usr/bin/python3
"""Independent side of tests/io/legacy_h5_test.cpp: legacy Keras HDF5 files (Keras 2 and Keras 3's legacy
saver) written and read with h5py, json and NumPy only (Debian's /usr/bin/python3).

  keras_legacy.py write CASE DIR    DIR/CASE.h5 as Keras 2 saves it (model_config and training_config JSON
                                    in Keras 2's dialect, model_weights by layer name with weight_names,
                                    Keras 2's `dense/kernel:0` names), an input DIR/CASE_x*.npy and what NumPy
                                    computes from the weights, DIR/CASE_y.npy. CASE:
        tf2          tf.keras 2.15 Sequential: InputLayer + Dense relu + Dense sigmoid; Adam as "Custom>Adam",
                     MeanMetricWrapper accuracy; optimizer_weights in Keras 2's OptimizerV2 layout (iter, every
                     m, every v) and, in DIR/tf211.h5, tf.keras 2.11's (iteration, m and v per variable); a
                     batch DIR/tf2_xb.npy, tf2_yb.npy and the weights after one Adam step, tf2_after_<i>.npy
        keras20      Keras 2.0: the Sequential config a bare list, the input shape as the first layer's
                     batch_input_shape, VarianceScaling initializers (and one with no config), Dropout, Adam
                     with `lr` and `decay`
        functional   tf.keras 2.3 "Model": two inputs, a shared Dense called on both (node indices 0, 1),
                     Concatenate, two outputs; Keras 2's inbound node lists
        conv_bn      Conv2D + BatchNormalization(axis=[3]) + Flatten + Dense
        embed_lstm   Embedding(input_length) + LSTM (cell weights `lstm/lstm_cell/...`) + Dense
        weights      a Keras 2 `save_weights("x.h5")` file (layer_names at the root) for tf2's model, with a
                     third layer `extra` of no use to it
  keras_legacy.py bad KIND FILE     lambda (a Lambda layer with marshalled bytecode), no_config (weights
                                    only), bad_json, missing_group (layer_names lists a layer with no group),
                                    layer_count (one saved layer too few), partial_optimizer (Keras 2 Adam
                                    state missing a slot)
  keras_legacy.py chunks FILE      checks that FILE's model_weights splits a long layer_names list into
                                    layer_names0, layer_names1, ... of at most 64512 bytes each.
  keras_legacy.py check FILE DIR    checks a legacy file Keel saved from the model of legacy_h5_test.cpp's
                                    keel_model(): root attributes, model_config and training_config JSON,
                                    model_weights (layer_names, backend, keras_version, one group per layer
                                    with weight_names and datasets at those names holding DIR/w<i>.npy),
                                    top_level_model_weights, optimizer_weights (DIR/opt<i>.npy).

The layouts follow keras/src/legacy/saving/legacy_h5_format.py and Keras 2's configs: facts only, written
independently. Exits non-zero with a message on the first difference.
"""
import json
import sys

import h5py
import numpy as np

from keras_weights import conv2d_valid, relu, sigmoid  # the same NumPy models (this folder)


def fail(msg):
    print("keras_legacy.py: " + msg, file=sys.stderr)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


def f32(rng, *shape, scale=0.5):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def f64(a):
    return a.astype(np.float64)


# ----------------------------------------------------------------------------- Keras 2 configs

def glorot():
    return {"class_name": "GlorotUniform", "config": {"seed": None}}


def zeros():
    return {"class_name": "Zeros", "config": {}}


def dense(name, units, activation, extra=None):
    c = {"name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
         "use_bias": True, "kernel_initializer": glorot(), "bias_initializer": zeros(),
         "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
         "kernel_constraint": None, "bias_constraint": None}
    c.update(extra or {})
    return {"class_name": "Dense", "config": c}


def input_layer(name, shape):
    return {"class_name": "InputLayer", "config": {"batch_input_shape": [None] + list(shape), "dtype": "float32",
                                                   "sparse": False, "ragged": False, "name": name}}


def adam_tf2():
    return {"class_name": "Custom>Adam", "config": {
        "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": False,
        "is_legacy_optimizer": False, "learning_rate": 0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": False}}


def accuracy_tf2():
    return [[{"class_name": "MeanMetricWrapper",
              "config": {"name": "accuracy", "dtype": "float32", "fn": "binary_accuracy"}}]]


def write_group(parent, name, named_arrays):
    """One layer group: weight_names (byte strings) and a dataset at each name."""
    g = parent.create_group(name)
    g.attrs["weight_names"] = [n.encode("utf8") for n, _ in named_arrays]
    for n, a in named_arrays:
        g.create_dataset(n, data=a)
    return g


def write_weights(group, layers, version):
    """layers: [(layer name, [(weight name, array)])] in model.layers order."""
    group.attrs["layer_names"] = [name.encode("utf8") for name, _ in layers]
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = version.encode("utf8")
    for name, arrays in layers:
        write_group(group, name, arrays)


def write_model_file(path, model_config, training_config, layers, version, optimizer=None):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = version
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config).encode("utf8")
        write_weights(f.create_group("model_weights"), layers, version)
        if optimizer:
            write_group(f, "optimizer_weights", optimizer)


# ----------------------------------------------------------------------------- the cases

def adam_step_bce(params, m, v, iteration, lr, xb, yb, eps=1e-7):
    """One Keras Adam step on the mean binary cross-entropy of Dense relu -> Dense sigmoid."""
    w1, b1, w2, b2 = [f64(p) for p in params]
    h_pre = f64(xb) @ w1 + b1
    h = relu(h_pre)
    p = sigmoid(h @ w2 + b2)
    dz = (p - yb) / xb.shape[0]
    dh = (dz @ w2.T) * (h_pre > 0)
    grads = [f64(xb).T @ dh, dh.sum(axis=0), h.T @ dz, dz.sum(axis=0)]
    t = float(iteration) + 1
    alpha = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
    out = []
    for pi, g, mi, vi in zip([w1, b1, w2, b2], grads, m, v):
        mi = f64(mi) + (g - mi) * (1 - 0.9)
        vi = f64(vi) + (g * g - vi) * (1 - 0.999)
        out.append((pi - alpha * mi / (np.sqrt(vi) + eps)).astype(np.float32))
    return out


def case_tf2(d, rng):
    w1, b1, w2, b2 = f32(rng, 4, 8), f32(rng, 8, scale=0.1), f32(rng, 8, 1), f32(rng, 1, scale=0.1)
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        input_layer("dense_input", [4]),
        dense("dense", 8, "relu", {"batch_input_shape": [None, 4]}),
        dense("dense_1", 1, "sigmoid")]}}
    training = {"loss": "binary_crossentropy", "metrics": accuracy_tf2(), "weighted_metrics": None,
                "loss_weights": None, "optimizer_config": adam_tf2()}
    layers = [("dense", [("dense/kernel:0", w1), ("dense/bias:0", b1)]),
              ("dense_1", [("dense_1/kernel:0", w2), ("dense_1/bias:0", b2)])]
    # Keras 2's OptimizerV2 state: the iteration count, then every `m`, then every `v` (no learning rate).
    params = [w1, b1, w2, b2]
    m = [f32(rng, *p.shape, scale=0.01) for p in params]
    v = [(0.001 * rng.random_sample(p.shape)).astype(np.float32) for p in params]
    names = [n for _, ws in layers for n, _ in ws]
    optimizer = [("Adam/iter:0", np.int64(7))]
    optimizer += [("Adam/%s/m:0" % n[:-2], a) for n, a in zip(names, m)]
    optimizer += [("Adam/%s/v:0" % n[:-2], a) for n, a in zip(names, v)]
    write_model_file(d + "/tf2.h5", config, training, layers, "2.15.0", optimizer)
    # The same state as tf.keras 2.11+ writes it: "Adam/iteration:0", then m and v interleaved per variable.
    interleaved = [("Adam/iteration:0", np.int64(7))]
    for n, mi, vi in zip(names, m, v):
        interleaved += [("Adam/m/%s" % n, mi), ("Adam/v/%s" % n, vi)]
    write_model_file(d + "/tf211.h5", config, training, layers, "2.15.0", interleaved)
    x = f32(rng, 5, 4, scale=1.0)
    np.save(d + "/tf2_x.npy", x)
    np.save(d + "/tf2_y.npy", sigmoid(relu(f64(x) @ w1 + b1) @ w2 + b2).astype(np.float32))
    xb = f32(rng, 6, 4, scale=1.0)
    yb = (rng.random_sample((6, 1)) > 0.5).astype(np.float32)
    np.save(d + "/tf2_xb.npy", xb)
    np.save(d + "/tf2_yb.npy", yb)
    for i, a in enumerate(adam_step_bce(params, m, v, 7, 0.0010000000474974513, xb, yb)):
        np.save(d + "/tf2_after_%d.npy" % i, a)


def case_keras20(d, rng):
    w1, b1, w2, b2 = f32(rng, 3, 6), f32(rng, 6, scale=0.1), f32(rng, 6, 2), f32(rng, 2, scale=0.1)
    vs = {"class_name": "VarianceScaling",
          "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}
    first = dense("dense_1", 6, "tanh", {"batch_input_shape": [None, 3], "kernel_initializer": vs})
    drop = {"class_name": "Dropout", "config": {"name": "dropout_1", "trainable": True, "rate": 0.25,
                                                "noise_shape": None, "seed": None}}
    second = dense("dense_2", 2, "softmax", {"kernel_initializer": vs, "bias_initializer": {"class_name": "Zeros"}})
    del second["config"]["dtype"]  # Keras 2.0 wrote dtype for the first layer only
    config = {"class_name": "Sequential", "config": [first, drop, second]}
    training = {"optimizer_config": {"class_name": "Adam", "config": {
                    "lr": 0.0020000000949949026, "beta_1": 0.8999999761581421, "beta_2": 0.9990000128746033,
                    "epsilon": 1e-08, "decay": 0.0}},
                "loss": "categorical_crossentropy", "metrics": ["accuracy"], "sample_weight_mode": None,
                "loss_weights": None}
    layers = [("dense_1", [("dense_1/kernel:0", w1), ("dense_1/bias:0", b1)]),
              ("dropout_1", []),
              ("dense_2", [("dense_2/kernel:0", w2), ("dense_2/bias:0", b2)])]
    write_model_file(d + "/keras20.h5", config, training, layers, "2.0.8")
    x = f32(rng, 4, 3, scale=1.0)
    z = np.tanh(f64(x) @ w1 + b1) @ w2 + b2
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.save(d + "/keras20_x.npy", x)
    np.save(d + "/keras20_y.npy", (e / e.sum(axis=1, keepdims=True)).astype(np.float32))


def node(*inputs):
    return [[name, index, 0, {}] for name, index in inputs]


def case_functional(d, rng):
    ws, bs = f32(rng, 3, 4), f32(rng, 4, scale=0.1)
    w1, b1 = f32(rng, 8, 2), f32(rng, 2, scale=0.1)
    w2, b2 = f32(rng, 4, 1), f32(rng, 1, scale=0.1)
    layers = [
        dict(input_layer("in_a", [3]), name="in_a", inbound_nodes=[]),
        dict(input_layer("in_b", [3]), name="in_b", inbound_nodes=[]),
        dict(dense("shared", 4, "relu"), name="shared", inbound_nodes=[node(("in_a", 0)), node(("in_b", 0))]),
        dict({"class_name": "Concatenate", "config": {"name": "concatenate", "trainable": True, "dtype": "float32",
                                                      "axis": -1}},
             name="concatenate", inbound_nodes=[node(("shared", 0), ("shared", 1))]),
        dict(dense("out1", 2, "linear"), name="out1", inbound_nodes=[node(("concatenate", 0))]),
        dict(dense("out2", 1, "sigmoid"), name="out2", inbound_nodes=[node(("shared", 1))]),
    ]
    config = {"class_name": "Model", "config": {"name": "two_tower", "layers": layers,
                                                "input_layers": [["in_a", 0, 0], ["in_b", 0, 0]],
                                                "output_layers": [["out1", 0, 0], ["out2", 0, 0]]}}
    training = {"loss": ["mse", "binary_crossentropy"], "metrics": [], "weighted_metrics": None,
                "loss_weights": [1.0, 0.5], "sample_weight_mode": None,
                "optimizer_config": {"class_name": "SGD", "config": {"name": "SGD", "learning_rate": 0.05,
                                                                     "decay": 0.0, "momentum": 0.0,
                                                                     "nesterov": False}}}
    saved = [("in_a", []), ("in_b", []),
             ("shared", [("shared/kernel:0", ws), ("shared/bias:0", bs)]), ("concatenate", []),
             ("out1", [("out1/kernel:0", w1), ("out1/bias:0", b1)]),
             ("out2", [("out2/kernel:0", w2), ("out2/bias:0", b2)])]
    write_model_file(d + "/functional.h5", config, training, saved, "2.3.1")
    a, b = f32(rng, 5, 3, scale=1.0), f32(rng, 5, 3, scale=1.0)
    ha, hb = relu(f64(a) @ ws + bs), relu(f64(b) @ ws + bs)
    np.save(d + "/functional_xa.npy", a)
    np.save(d + "/functional_xb.npy", b)
    np.save(d + "/functional_y0.npy", (np.concatenate([ha, hb], axis=1) @ w1 + b1).astype(np.float32))
    np.save(d + "/functional_y1.npy", sigmoid(hb @ w2 + b2).astype(np.float32))


def case_conv_bn(d, rng):
    k, kb = f32(rng, 3, 3, 2, 3), f32(rng, 3, scale=0.1)
    gamma = (1.0 + 0.2 * rng.standard_normal(3)).astype(np.float32)
    beta, mean = f32(rng, 3), f32(rng, 3)
    var = (0.5 + rng.random_sample(3)).astype(np.float32)
    w, b = f32(rng, 48, 2, scale=0.2), f32(rng, 2, scale=0.1)
    conv = {"class_name": "Conv2D", "config": {
        "name": "conv2d", "trainable": True, "batch_input_shape": [None, 6, 6, 2], "dtype": "float32",
        "filters": 3, "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last",
        "dilation_rate": [1, 1], "groups": 1, "activation": "linear", "use_bias": True,
        "kernel_initializer": glorot(), "bias_initializer": zeros(), "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}}
    bn = {"class_name": "BatchNormalization", "config": {
        "name": "batch_normalization", "trainable": True, "dtype": "float32", "axis": [3], "momentum": 0.99,
        "epsilon": 0.001, "center": True, "scale": True, "beta_initializer": zeros(),
        "gamma_initializer": {"class_name": "Ones", "config": {}},
        "moving_mean_initializer": zeros(), "moving_variance_initializer": {"class_name": "Ones", "config": {}},
        "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None}}
    act = {"class_name": "Activation", "config": {"name": "activation", "trainable": True, "dtype": "float32",
                                                  "activation": "relu"}}
    flat = {"class_name": "Flatten", "config": {"name": "flatten", "trainable": True, "dtype": "float32",
                                               "data_format": "channels_last"}}
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        input_layer("conv2d_input", [6, 6, 2]), conv, bn, act, flat, dense("dense", 2, "linear")]}}
    layers = [("conv2d", [("conv2d/kernel:0", k), ("conv2d/bias:0", kb)]),
              ("batch_normalization", [("batch_normalization/gamma:0", gamma), ("batch_normalization/beta:0", beta),
                                       ("batch_normalization/moving_mean:0", mean),
                                       ("batch_normalization/moving_variance:0", var)]),
              ("activation", []), ("flatten", []),
              ("dense", [("dense/kernel:0", w), ("dense/bias:0", b)])]
    write_model_file(d + "/conv_bn.h5", config, None, layers, "2.12.0")
    x = f32(rng, 2, 6, 6, 2, scale=1.0)
    h = conv2d_valid(f64(x), k, kb)
    h = gamma * (h - mean) / np.sqrt(var + 1e-3) + beta
    np.save(d + "/conv_bn_x.npy", x)
    np.save(d + "/conv_bn_y.npy", (relu(h).reshape(2, -1) @ w + b).astype(np.float32))


def case_embed_lstm(d, rng):
    emb = f32(rng, 20, 4)
    k, rk, bias = f32(rng, 4, 12), f32(rng, 3, 12), f32(rng, 12, scale=0.1)
    w, b = f32(rng, 3, 1), f32(rng, 1, scale=0.1)
    embedding = {"class_name": "Embedding", "config": {
        "name": "embedding", "trainable": True, "batch_input_shape": [None, 5], "dtype": "float32",
        "input_dim": 20, "output_dim": 4,
        "embeddings_initializer": {"class_name": "RandomUniform",
                                   "config": {"minval": -0.05, "maxval": 0.05, "seed": None}},
        "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None,
        "mask_zero": False, "input_length": 5}}
    lstm = {"class_name": "LSTM", "config": {
        "name": "lstm", "trainable": True, "dtype": "float32", "return_sequences": False, "return_state": False,
        "go_backwards": False, "stateful": False, "unroll": False, "time_major": False, "units": 3,
        "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True, "kernel_initializer": glorot(),
        "recurrent_initializer": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
        "bias_initializer": zeros(), "unit_forget_bias": True, "kernel_regularizer": None,
        "recurrent_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0,
        "recurrent_dropout": 0.0, "implementation": 2}}
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        embedding, lstm, dense("dense", 1, "sigmoid")]}}
    layers = [("embedding", [("embedding/embeddings:0", emb)]),
              ("lstm", [("lstm/lstm_cell/kernel:0", k), ("lstm/lstm_cell/recurrent_kernel:0", rk),
                        ("lstm/lstm_cell/bias:0", bias)]),
              ("dense", [("dense/kernel:0", w), ("dense/bias:0", b)])]
    write_model_file(d + "/embed_lstm.h5", config, None, layers, "2.9.0")
    x = rng.randint(0, 20, size=(3, 5)).astype(np.float32)
    seq = f64(emb)[x.astype(np.int64)]
    h = np.zeros((3, 3))
    c = np.zeros((3, 3))
    for t in range(5):
        z = seq[:, t, :] @ k + h @ rk + bias
        i, f, g, o = sigmoid(z[:, :3]), sigmoid(z[:, 3:6]), np.tanh(z[:, 6:9]), sigmoid(z[:, 9:])
        c = f * c + i * g
        h = o * np.tanh(c)
    np.save(d + "/embed_lstm_x.npy", x)
    np.save(d + "/embed_lstm_y.npy", sigmoid(h @ w + b).astype(np.float32))


def case_weights(d, rng):
    w1, b1, w2, b2 = f32(rng, 4, 8), f32(rng, 8, scale=0.1), f32(rng, 8, 1), f32(rng, 1, scale=0.1)
    we, be = f32(rng, 2, 2), f32(rng, 2)
    with h5py.File(d + "/weights.h5", "w") as f:
        write_weights(f, [("dense", [("dense/kernel:0", w1), ("dense/bias:0", b1)]),
                          ("dense_1", [("dense_1/kernel:0", w2), ("dense_1/bias:0", b2)]),
                          ("extra", [("extra/kernel:0", we), ("extra/bias:0", be)])], "2.15.0")
    for i, a in enumerate([w1, b1, w2, b2]):
        np.save(d + "/weights_w%d.npy" % i, a)


CASES = {"tf2": case_tf2, "keras20": case_keras20, "functional": case_functional, "conv_bn": case_conv_bn,
         "embed_lstm": case_embed_lstm, "weights": case_weights}


# ----------------------------------------------------------------------------- bad files

LAMBDA_CODE = ("4wEAAAAAAAAAAQAAAAIAAABDAAAAcwgAAAB8AGQBFABTACkCTukCAAAAqQApAdoBeHIBAAAAcgEAAAD6"
               "HjxpcHl0aG9uLWlucHV0LTEtZjE4NjA5ZGQ5NTU4PtoIPGxhbWJkYT4BAAAA8wAAAAA=")


def bad(kind, path):
    rng = np.random.RandomState(9)
    w, b = f32(rng, 4, 2), f32(rng, 2)
    layers = [("dense", [("dense/kernel:0", w), ("dense/bias:0", b)])]
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        input_layer("dense_input", [4]), dense("dense", 2, "linear")]}}
    if kind == "lambda":
        lam = {"class_name": "Lambda", "config": {
            "name": "lambda", "trainable": True, "dtype": "float32",
            "function": [LAMBDA_CODE, None, None], "function_type": "lambda", "module": "__main__",
            "output_shape": None, "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}}
        config["config"]["layers"].append(lam)
        write_model_file(path, config, None, layers + [("lambda", [])], "2.15.0")
    elif kind == "no_config":
        with h5py.File(path, "w") as f:
            write_weights(f, layers, "2.15.0")
    elif kind == "bad_json":
        write_model_file(path, config, None, layers, "2.15.0")
        with h5py.File(path, "a") as f:
            f.attrs["model_config"] = b'{"class_name": "Sequential", "config": {"layers": [}'
    elif kind == "missing_group":
        write_model_file(path, config, None, layers, "2.15.0")
        with h5py.File(path, "a") as f:
            del f["model_weights/dense"]
    elif kind == "partial_optimizer":  # Keras 2 Adam state lacking the last `v`: it cannot be mapped
        training = {"loss": "mse", "metrics": [], "optimizer_config": adam_tf2()}
        optimizer = [("Adam/iter:0", np.int64(3)), ("Adam/dense/kernel/m:0", np.zeros_like(w)),
                     ("Adam/dense/bias/m:0", np.zeros_like(b)), ("Adam/dense/kernel/v:0", np.zeros_like(w))]
        write_model_file(path, config, training, layers, "2.15.0", optimizer)
    elif kind == "layer_count":
        config["config"]["layers"].append(dense("dense_1", 1, "linear"))
        write_model_file(path, config, None, layers, "2.15.0")
    else:
        fail("unknown bad kind " + kind)


# ----------------------------------------------------------------------------- check

def text(value, where):
    if isinstance(value, bytes):
        return value.decode("utf8")
    expect(isinstance(value, str), "%s: expected a string attribute, got %r" % (where, value))
    return value


def names(attr, where):
    expect(isinstance(attr, np.ndarray) and attr.dtype.kind == "S",
           "%s: expected an array of byte strings, got %r" % (where, attr))
    return [n.decode("utf8") for n in attr]


def check(path, d):
    with h5py.File(path, "r") as f:
        expect(text(f.attrs["keras_version"], "keras_version").startswith("3."), "keras_version")
        expect(text(f.attrs["backend"], "backend") == "tensorflow", "backend")
        expect(isinstance(f.attrs["model_config"], bytes), "model_config must be bytes, as Keras writes it")
        mc = json.loads(f.attrs["model_config"].decode("utf8"))
        expect(mc["class_name"] == "Sequential", "model_config class_name %r" % mc["class_name"])
        layer_cfgs = mc["config"]["layers"]
        expect([l["class_name"] for l in layer_cfgs] == ["InputLayer", "Dense", "Dense"],
               "model_config layers %r" % [l["class_name"] for l in layer_cfgs])
        expect(layer_cfgs[1]["config"]["units"] == 8 and layer_cfgs[1]["config"]["activation"] == "relu", "dense")
        tc = json.loads(f.attrs["training_config"].decode("utf8"))
        expect("optimizer" not in tc, "training_config must not hold `optimizer`")
        expect(tc["loss"] == "binary_crossentropy", "training_config loss %r" % tc["loss"])
        expect(tc["metrics"] == ["accuracy"], "training_config metrics %r" % tc["metrics"])
        oc = tc["optimizer_config"]
        expect(oc["class_name"] == "Adam" and abs(oc["config"]["learning_rate"] - 0.01) < 1e-9,
               "optimizer_config %r" % oc)

        mw = f["model_weights"]
        expect(names(mw.attrs["layer_names"], "layer_names") == ["dense", "dense_1"], "layer_names")
        expect(mw.attrs["backend"] == b"tensorflow", "model_weights backend")
        expect(mw.attrs["keras_version"].decode("utf8").startswith("3."), "model_weights keras_version")
        expected = {"dense": ["sequential/dense/kernel", "sequential/dense/bias"],
                    "dense_1": ["sequential/dense_1/kernel", "sequential/dense_1/bias"]}
        i = 0
        for layer in ["dense", "dense_1"]:
            wn = names(mw[layer].attrs["weight_names"], layer + " weight_names")
            expect(wn == expected[layer], "%s weight_names %r" % (layer, wn))
            for n in wn:
                a = mw[layer][n][()]
                want = np.load("%s/w%d.npy" % (d, i))
                expect(a.dtype == np.float32 and a.shape == want.shape and np.array_equal(a, want),
                       "dataset %s/%s differs from Keel's weight %d" % (layer, n, i))
                i += 1
        top = mw["top_level_model_weights"].attrs["weight_names"]
        expect(top.size == 0, "top_level_model_weights must list no weights")

        ow = f["optimizer_weights"]
        on = names(ow.attrs["weight_names"], "optimizer weight_names")
        expect(len(on) == 10, "optimizer_weights: %d names, expected 10 (iteration, learning rate, 8 slots)" % len(on))
        expect(on[0].endswith("iteration") and on[1].endswith("learning_rate"), "optimizer names %r" % on[:2])
        for j, n in enumerate(on):
            a = ow[n][()]
            want = np.load("%s/opt%d.npy" % (d, j))
            expect(np.asarray(a).shape == want.shape and np.array_equal(np.asarray(a), want),
                   "optimizer dataset %s differs from Keel's variable %d" % (n, j))
        expect(ow[on[0]][()].dtype == np.int64, "the iteration count must be int64")


def chunks(path):
    """A file whose layer_names Keel had to split: layer_names0, layer_names1, ..., each within h5py's limit."""
    with h5py.File(path, "r") as f:
        mw = f["model_weights"]
        expect("layer_names" not in mw.attrs, "layer_names should be split into chunks")
        parts = []
        while "layer_names%d" % len(parts) in mw.attrs:
            parts.append(mw.attrs["layer_names%d" % len(parts)])
        expect(len(parts) >= 2, "expected at least two chunks, got %d" % len(parts))
        for p in parts:
            expect(p.dtype.kind == "S" and p.nbytes <= 64512, "chunk of %d bytes" % p.nbytes)
        all_names = [n.decode("utf8") for p in parts for n in p]
        expect(len(all_names) == 71, "expected the InputLayer and 70 Dense layers, got %d names" % len(all_names))
        expect(all(n in mw for n in all_names), "chunked layer_names do not list the groups")


def main(argv):
    if len(argv) == 4 and argv[1] == "write" and argv[2] in CASES:
        CASES[argv[2]](argv[3], np.random.RandomState(sorted(CASES).index(argv[2]) + 1))
    elif len(argv) == 4 and argv[1] == "bad":
        bad(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "check":
        check(argv[2], argv[3])
    elif len(argv) == 3 and argv[1] == "chunks":
        chunks(argv[2])
    else:
        fail("usage: keras_legacy.py write CASE DIR | bad KIND FILE | check FILE DIR")


if __name__ == "__main__":
    main(sys.argv)
