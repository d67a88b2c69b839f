#!/usr/bin/python3
"""Independent side of tests/io/keras_archive_test.cpp: Keras 3 `.keras` archives written and read with
zipfile, json, h5py and NumPy only (Debian's /usr/bin/python3).

  keras_archive.py write seq DIR     DIR/seq.keras as Keras 3 saves a compiled Sequential model
                                     (Input 4 -> Dense 8 relu -> Dense 1 sigmoid; adam, binary_crossentropy,
                                     accuracy; Adam state after 3 steps), DIR/seq_x.npy and what NumPy
                                     predicts, DIR/seq_y.npy; a batch DIR/seq_xb.npy, DIR/seq_yb.npy and the
                                     weights after one more Adam step, DIR/seq_after_<i>.npy.
  keras_archive.py write func DIR    DIR/func.keras: a Functional model with two inputs, a shared Dense
                                     called on both, Add, and two outputs; DIR/func_a.npy, func_b.npy,
                                     func_y0.npy, func_y1.npy.
  keras_archive.py check seq|func FILE
                                     checks an archive Keel saved: entry names and order, ZIP_STORED,
                                     metadata.json, config.json's structure (module/class_name/registered_name
                                     of the model, every layer, the optimizer), model.weights.h5's layout.
  keras_archive.py bad KIND FILE     writes a broken archive (no_config, bad_json, unknown_class,
                                     regularizer, custom_regularizer, lambda, truncated, nested_lambda, loss_class, loss_key).
  keras_archive.py write nested DIR  DIR/nested.keras: a Functional model 'outer' with a Sequential 'inner' used as
                                     a layer (Input 4 -> inner[Dense 8 relu, Dense 3 tanh] -> Dense 1 sigmoid);
                                     DIR/nested_x.npy and what NumPy predicts, DIR/nested_y.npy.
  keras_archive.py write lossobj DIR DIR/lossobj.keras: seq.keras's model compiled with serialized objects (a
                                     BinaryCrossentropy loss with label_smoothing 0.1, a BinaryAccuracy metric with
                                     threshold 0.7); DIR/lossobj_x.npy, lossobj_y.npy and NumPy's loss and accuracy
                                     on them, DIR/lossobj_scores.npy.
  keras_archive.py check nested|nested3|custom FILE
                                     checks an archive Keel saved with nested models (see check_nested) or a custom
                                     registered layer (see check_custom): config.json and model.weights.h5 paths.

The layouts follow Keras 3's saving code (keras/src/saving/saving_lib.py, serialization_lib.py,
models/functional.py, models/sequential.py): facts only, written independently. Exits non-zero with a
message on the first difference.
"""
import io
import json
import re
import sys
import zipfile

import h5py
import numpy as np


def fail(msg):
    print("keras_archive.py: " + msg, file=sys.stderr)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


# ------------------------------------------------------------------------- Keras 3 serialized objects

def obj(module, class_name, config, registered_name=None):
    return {"module": module, "class_name": class_name, "config": config, "registered_name": registered_name}


def policy():
    return obj("keras", "DTypePolicy", {"name": "float32"})


def dense(name, units, activation, input_shape, extra=None):
    config = {
        "name": name, "trainable": True, "dtype": policy(), "units": units, "activation": activation,
        "use_bias": True,
        "kernel_initializer": obj("keras.initializers", "GlorotUniform", {"seed": None}),
        "bias_initializer": obj("keras.initializers", "Zeros", {}),
        "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
    }
    config.update(extra or {})
    d = obj("keras.layers", "Dense", config)
    d["build_config"] = {"input_shape": input_shape}
    return d


def input_layer(name, shape, extra=None):
    config = {"batch_shape": [None] + list(shape), "dtype": "float32", "sparse": False, "ragged": False, "name": name}
    config.update(extra or {})
    return obj("keras.layers", "InputLayer", config)


def adam_config(lr):
    return obj("keras.optimizers", "Adam", {
        "name": "adam", "learning_rate": lr, "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
        "clipvalue": None, "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
        "loss_scale_factor": None, "gradient_accumulation_steps": None, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": False})


def seq_config(layer_entries):
    return {
        "module": "keras", "class_name": "Sequential",
        "config": {"name": "sequential", "trainable": True, "dtype": policy(),
                   "layers": [input_layer("input_layer", [4])] + layer_entries, "build_input_shape": [None, 4]},
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
        "compile_config": {
            "optimizer": adam_config(0.0010000000474974513), "loss": "binary_crossentropy", "loss_weights": None,
            "metrics": ["accuracy"], "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False},
    }


def keras_tensor(shape, history):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": shape, "dtype": "float32", "keras_history": history}}


def func_config():
    def node(*args):
        return {"args": list(args), "kwargs": {}}

    def entry(e, name, nodes):
        e = dict(e)
        e["name"] = name
        e["inbound_nodes"] = nodes
        return e

    layers = [
        entry(input_layer("in_a", [3], {"optional": False}), "in_a", []),
        entry(input_layer("in_b", [3]), "in_b", []),
        entry(dense("shared", 4, "relu", [None, 3]), "shared",
              [node(keras_tensor([None, 3], ["in_a", 0, 0])), node(keras_tensor([None, 3], ["in_b", 0, 0]))]),
        entry(dict(obj("keras.layers", "Add", {"name": "add", "trainable": True, "dtype": policy()}),
                   build_config={"input_shape": [[None, 4], [None, 4]]}), "add",
              [node([keras_tensor([None, 4], ["shared", 0, 0]), keras_tensor([None, 4], ["shared", 1, 0])])]),
        entry(dense("out1", 2, "linear", [None, 4], {"quantization_config": None}), "out1",
              [node(keras_tensor([None, 4], ["add", 0, 0]))]),
        entry(dense("out2", 1, "sigmoid", [None, 4]), "out2", [node(keras_tensor([None, 4], ["shared", 1, 0]))]),
    ]
    return {
        "module": "keras.src.models.functional", "class_name": "Functional",
        "config": {"name": "two_tower", "trainable": True, "layers": layers,
                   "input_layers": [["in_a", 0, 0], ["in_b", 0, 0]],
                   "output_layers": [["out1", 0, 0], ["out2", 0, 0]]},
        "registered_name": "Functional",
    }


def write_archive(path, config, weights_bytes, metadata=None, order=("metadata.json", "config.json", "model.weights.h5")):
    metadata = metadata or {"keras_version": "3.10.0", "date_saved": "2026-01-02@03:04:05"}
    items = {"metadata.json": json.dumps(metadata), "config.json": json.dumps(config) if not isinstance(config, str)
             else config, "model.weights.h5": weights_bytes}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name in order:
            z.writestr(name, items[name])


def h5_bytes(groups):
    """groups: {path: (name attribute, [arrays])} -> an HDF5 file's bytes in Keras's `vars` layout."""
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for path, (name, arrays) in groups.items():
            g = f.create_group(path + "/vars" if path else "vars")
            g.attrs["name"] = name
            for i, a in enumerate(arrays):
                g.create_dataset(str(i), data=a)
    return buf.getvalue()


def relu(x):
    return np.maximum(x, 0.0)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ------------------------------------------------------------------------------------------ write

def write_seq(d):
    rng = np.random.default_rng(7)
    w1 = rng.normal(0, 0.5, (4, 8)).astype(np.float32)
    b1 = rng.normal(0, 0.1, (8,)).astype(np.float32)
    w2 = rng.normal(0, 0.5, (8, 1)).astype(np.float32)
    b2 = rng.normal(0, 0.1, (1,)).astype(np.float32)
    params = [w1, b1, w2, b2]
    # Adam's state after some steps: iteration, learning rate, then (momentum, velocity) per variable.
    iterations = np.int64(3)
    lr = np.float32(0.001)
    m = [rng.normal(0, 0.01, p.shape).astype(np.float32) for p in params]
    v = [np.abs(rng.normal(0, 0.001, p.shape)).astype(np.float32) for p in params]
    opt_vars = [iterations, lr]
    for mi, vi in zip(m, v):
        opt_vars += [mi, vi]
    weights = h5_bytes({
        "": ("sequential", []),
        "layers/dense": ("dense", [w1, b1]),
        "layers/dense_1": ("dense_1", [w2, b2]),
        "optimizer": ("adam", opt_vars),
    })
    write_archive(d + "/seq.keras", seq_config([dense("dense", 8, "relu", [None, 4]),
                                               dense("dense_1", 1, "sigmoid", [None, 8])]), weights)

    x = rng.normal(0, 1, (5, 4)).astype(np.float32)
    xd = x.astype(np.float64)
    p64 = [p.astype(np.float64) for p in params]
    y = sigmoid(relu(xd @ p64[0] + p64[1]) @ p64[2] + p64[3])
    np.save(d + "/seq_x.npy", x)
    np.save(d + "/seq_y.npy", y.astype(np.float32))

    # One more training step: mean binary cross-entropy, gradients by hand, Keras's Adam update.
    xb = rng.normal(0, 1, (6, 4)).astype(np.float32)
    yb = (rng.random((6, 1)) > 0.5).astype(np.float32)
    xbd = xb.astype(np.float64)
    h_pre = xbd @ p64[0] + p64[1]
    h = relu(h_pre)
    p = sigmoid(h @ p64[2] + p64[3])
    dz = (p - yb) / xb.shape[0]
    g_w2 = h.T @ dz
    g_b2 = dz.sum(axis=0)
    dh = (dz @ p64[2].T) * (h_pre > 0)
    g_w1 = xbd.T @ dh
    g_b1 = dh.sum(axis=0)
    grads = [g_w1, g_b1, g_w2, g_b2]
    t = float(iterations) + 1
    b1_, b2_, eps = 0.9, 0.999, 1e-7
    alpha = float(lr) * np.sqrt(1 - b2_ ** t) / (1 - b1_ ** t)
    for i, (pi, g) in enumerate(zip(p64, grads)):
        mi = m[i].astype(np.float64) + (g - m[i]) * (1 - b1_)
        vi = v[i].astype(np.float64) + (g * g - v[i]) * (1 - b2_)
        np.save(d + "/seq_after_%d.npy" % i, (pi - alpha * mi / (np.sqrt(vi) + eps)).astype(np.float32))
    np.save(d + "/seq_xb.npy", xb)
    np.save(d + "/seq_yb.npy", yb)


def write_func(d):
    rng = np.random.default_rng(11)
    ws = rng.normal(0, 0.5, (3, 4)).astype(np.float32)
    bs = rng.normal(0, 0.1, (4,)).astype(np.float32)
    w1 = rng.normal(0, 0.5, (4, 2)).astype(np.float32)
    b1 = rng.normal(0, 0.1, (2,)).astype(np.float32)
    w2 = rng.normal(0, 0.5, (4, 1)).astype(np.float32)
    b2 = rng.normal(0, 0.1, (1,)).astype(np.float32)
    # Keras's functional order: the InputLayers, then the layers by depth (the shared Dense, Add, heads).
    weights = h5_bytes({
        "": ("two_tower", []),
        "layers/input_layer": ("in_a", []),
        "layers/input_layer_1": ("in_b", []),
        "layers/dense": ("shared", [ws, bs]),
        "layers/add": ("add", []),
        "layers/dense_1": ("out1", [w1, b1]),
        "layers/dense_2": ("out2", [w2, b2]),
    })
    write_archive(d + "/func.keras", func_config(), weights)
    a = rng.normal(0, 1, (5, 3)).astype(np.float32)
    b = rng.normal(0, 1, (5, 3)).astype(np.float32)
    f64 = lambda t: t.astype(np.float64)
    ha = relu(f64(a) @ f64(ws) + f64(bs))
    hb = relu(f64(b) @ f64(ws) + f64(bs))
    np.save(d + "/func_a.npy", a)
    np.save(d + "/func_b.npy", b)
    np.save(d + "/func_y0.npy", ((ha + hb) @ f64(w1) + f64(b1)).astype(np.float32))
    np.save(d + "/func_y1.npy", sigmoid(hb @ f64(w2) + f64(b2)).astype(np.float32))


# ------------------------------------------------------------------------------------------ check

def check_serialized(o, module, class_name, registered, where):
    expect(isinstance(o, dict), where + ": not an object")
    expect(o.get("module") == module, "%s: module %r, expected %r" % (where, o.get("module"), module))
    expect(o.get("class_name") == class_name, "%s: class_name %r, expected %r" % (where, o.get("class_name"), class_name))
    expect("registered_name" in o and o["registered_name"] == registered,
           "%s: registered_name %r, expected %r" % (where, o.get("registered_name"), registered))
    expect(isinstance(o.get("config"), dict), where + ": config is not an object")


def check_layer(e, class_name, where):
    check_serialized(e, "keras.layers", class_name, None, where)
    c = e["config"]
    expect(isinstance(c.get("name"), str), where + ": no name")
    if class_name == "InputLayer":
        expect(set(c) >= {"batch_shape", "dtype", "sparse", "name"}, where + ": InputLayer keys " + str(sorted(c)))
        return
    expect(c.get("trainable") is True, where + ": trainable")
    check_serialized(c.get("dtype"), "keras", "DTypePolicy", None, where + " dtype")
    expect(c["dtype"]["config"] == {"name": "float32"}, where + ": dtype policy " + json.dumps(c["dtype"]))
    if class_name == "Dense":
        for key in ("units", "activation", "use_bias", "kernel_regularizer", "bias_regularizer", "kernel_constraint",
                    "bias_constraint"):
            expect(key in c, where + ": Dense config lacks " + key)
        check_serialized(c["kernel_initializer"], "keras.initializers", "GlorotUniform", None, where + " kernel_initializer")
        check_serialized(c["bias_initializer"], "keras.initializers", "Zeros", None, where + " bias_initializer")
        expect(e.get("build_config", {}).get("input_shape") is not None, where + ": no build_config")


def check_h5(data, expected):
    """expected: {group path: number of datasets}; the file must hold exactly these `vars` groups."""
    found = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        def visit(name, o):
            if isinstance(o, h5py.Group) and (name == "vars" or name.endswith("/vars")):
                found[name] = len(o.keys())
                expect("name" in o.attrs, "model.weights.h5: %s has no name attribute" % name)
        f.visititems(visit)
    expect(found == expected, "model.weights.h5 groups %s, expected %s" % (sorted(found.items()), sorted(expected.items())))


def check(case, path):
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        expect(names == ["metadata.json", "config.json", "model.weights.h5"], "entries " + str(names))
        for i in infos:
            expect(i.compress_type == zipfile.ZIP_STORED, i.filename + " is compressed")
        expect(z.testzip() is None, "CRC error")
        meta = json.loads(z.read("metadata.json"))
        config = json.loads(z.read("config.json"))
        weights = z.read("model.weights.h5")
    expect(sorted(meta) == ["date_saved", "keras_version"], "metadata keys " + str(sorted(meta)))
    expect(re.fullmatch(r"3\.\d+\.\d+", meta["keras_version"]) is not None, "keras_version " + meta["keras_version"])
    expect(re.fullmatch(r"\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d", meta["date_saved"]) is not None, "date " + meta["date_saved"])
    if case == "seq":
        check_serialized(config, "keras", "Sequential", None, "model")
        c = config["config"]
        check_serialized(c["dtype"], "keras", "DTypePolicy", None, "model dtype")
        expect(c["build_input_shape"] == [None, 4], "build_input_shape " + str(c.get("build_input_shape")))
        expect(config["build_config"] == {"input_shape": [None, 4]}, "build_config " + str(config.get("build_config")))
        layers = c["layers"]
        expect([l["class_name"] for l in layers] == ["InputLayer", "Dense", "Dense"], "layers")
        check_layer(layers[0], "InputLayer", "layers[0]")
        expect(layers[0]["config"]["batch_shape"] == [None, 4], "batch_shape")
        check_layer(layers[1], "Dense", "layers[1]")
        check_layer(layers[2], "Dense", "layers[2]")
        expect(layers[1]["config"]["units"] == 8 and layers[1]["config"]["activation"] == "relu", "dense config")
        expect(layers[2]["config"]["activation"] == "sigmoid", "dense_1 activation")
        cc = config["compile_config"]
        expect(sorted(cc) == sorted(["optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
                                     "steps_per_execution", "jit_compile"]), "compile_config keys " + str(sorted(cc)))
        check_serialized(cc["optimizer"], "keras.optimizers", "Adam", None, "optimizer")
        oc = cc["optimizer"]["config"]
        for key in ("name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue", "use_ema",
                    "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps",
                    "beta_1", "beta_2", "epsilon", "amsgrad"):
            expect(key in oc, "optimizer config lacks " + key)
        expect(abs(oc["learning_rate"] - 0.001) < 1e-9, "learning_rate")
        expect(cc["loss"] == "binary_crossentropy" and cc["metrics"] == ["accuracy"], "loss/metrics")
        check_h5(weights, {"vars": 0, "layers/dense/vars": 2, "layers/dense_1/vars": 2, "optimizer/vars": 10})
    else:
        check_serialized(config, "keras.src.models.functional", "Functional", "Functional", "model")
        c = config["config"]
        expect(sorted(c) == ["input_layers", "layers", "name", "output_layers", "trainable"], "config keys " + str(sorted(c)))
        by_name = {l["name"]: l for l in c["layers"]}
        expect([l["class_name"] for l in c["layers"]] == ["InputLayer", "InputLayer", "Dense", "Add", "Dense", "Dense"],
               "layer classes " + str([l["class_name"] for l in c["layers"]]))
        for l in c["layers"]:
            check_layer(l, l["class_name"], "layer " + l["name"])
            expect(l["config"]["name"] == l["name"], "name")
        expect(c["input_layers"] == [["in_a", 0, 0], ["in_b", 0, 0]], "input_layers " + str(c["input_layers"]))
        expect(c["output_layers"] == [["out1", 0, 0], ["out2", 0, 0]], "output_layers " + str(c["output_layers"]))
        shared = by_name["shared"]["inbound_nodes"]
        expect(len(shared) == 2, "shared layer nodes")
        hist = [n["args"][0]["config"]["keras_history"] for n in shared]
        expect(sorted(map(tuple, hist)) == [("in_a", 0, 0), ("in_b", 0, 0)], "shared inputs " + str(hist))
        for n in shared:
            expect(n["kwargs"] == {}, "kwargs")
            t = n["args"][0]
            expect(t["class_name"] == "__keras_tensor__" and t["config"]["shape"] == [None, 3] and
                   t["config"]["dtype"] == "float32", "keras tensor " + json.dumps(t))
        add_args = by_name["add"]["inbound_nodes"][0]["args"]
        expect(len(add_args) == 1 and isinstance(add_args[0], list) and
               sorted(a["config"]["keras_history"][1] for a in add_args[0]) == [0, 1],
               "Add reads both calls of the shared layer: " + json.dumps(add_args))
        # out2 reads the shared layer's call on in_b, whichever node index that is.
        b_index = [i for i, h in enumerate(hist) if h[0] == "in_b"][0]
        expect(by_name["out2"]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] == ["shared", b_index, 0],
               "out2's input")
        expect(by_name["in_a"]["inbound_nodes"] == [], "input nodes")
        check_h5(weights, {"vars": 0, "layers/input_layer/vars": 0, "layers/input_layer_1/vars": 0,
                           "layers/dense/vars": 2, "layers/add/vars": 0, "layers/dense_1/vars": 2,
                           "layers/dense_2/vars": 2, "optimizer/vars": 14})


# -------------------------------------------------------------------------------------------- bad

def bad(kind, path):
    weights = h5_bytes({"": ("sequential", []), "layers/dense": ("dense", [np.zeros((4, 8), np.float32),
                                                                            np.zeros((8,), np.float32)]),
                        "layers/dense_1": ("dense_1", [np.zeros((8, 1), np.float32), np.zeros((1,), np.float32)])})
    layers = [dense("dense", 8, "relu", [None, 4]), dense("dense_1", 1, "sigmoid", [None, 8])]
    if kind == "no_config":
        write_archive(path, {}, weights, order=("metadata.json", "model.weights.h5"))
    elif kind == "bad_json":
        write_archive(path, '{"module": "keras", "class_name": "Sequential", "config": {"name": ]}', weights)
    elif kind == "unknown_class":
        layers[1] = dict(obj("my_package", "FancyDense", {"name": "fancy", "units": 1}, "my_package>FancyDense"))
        write_archive(path, seq_config(layers), weights)
    elif kind == "regularizer":  # supported: it must load and penalise the kernel 0.01·(0, 1, ..., 31)
        layers[0]["config"]["kernel_regularizer"] = obj("keras.regularizers", "L2", {"l2": 0.01})
        kernel = (np.arange(32, dtype=np.float32) * np.float32(0.01)).reshape(4, 8)
        weights = h5_bytes({"": ("sequential", []), "layers/dense": ("dense", [kernel, np.zeros((8,), np.float32)]),
                            "layers/dense_1": ("dense_1", [np.zeros((8, 1), np.float32),
                                                           np.zeros((1,), np.float32)])})
        write_archive(path, seq_config(layers), weights)
    elif kind == "custom_regularizer":
        layers[0]["config"]["kernel_regularizer"] = obj("my_package", "MyRegularizer", {}, "my_package>MyRegularizer")
        write_archive(path, seq_config(layers), weights)
    elif kind == "activation":
        layers[0]["config"]["activation"] = "my_swishy"
        write_archive(path, seq_config(layers), weights)
    elif kind == "dtype":
        layers[0]["config"]["dtype"] = obj("keras", "DTypePolicy", {"name": "mixed_float16"})
        write_archive(path, seq_config(layers), weights)
    elif kind == "unknown_key":
        layers[0]["config"]["lora_rank"] = 4
        write_archive(path, seq_config(layers), weights)
    elif kind == "lambda":
        lam = obj("keras.layers", "Lambda", {
            "name": "lambda", "trainable": True, "dtype": policy(),
            "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None,
                                                               "closure": None}},
            "arguments": {}})
        write_archive(path, seq_config([layers[0], lam, layers[1]]), weights)
    elif kind == "nested_lambda":
        lam = obj("keras.layers", "Lambda", {
            "name": "deep_lambda", "trainable": True, "dtype": policy(),
            "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None,
                                                               "closure": None}},
            "arguments": {}})
        inner = sequential_obj("inner", [input_layer("input_layer_1", [8]), lam], [None, 8])
        write_archive(path, seq_config([layers[0], inner, layers[1]]), weights)
    elif kind in ("loss_class", "loss_key"):
        config = seq_config(layers)
        config["compile_config"]["loss"] = (obj("keras.losses", "Tversky", {"name": "tversky", "alpha": 0.5})
                                            if kind == "loss_class" else bce_object({"from_logits": True, "extra": 3}))
        write_archive(path, config, weights)
    elif kind == "truncated":
        write_archive(path, seq_config(layers), weights)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
    else:
        fail("unknown kind " + kind)


# ------------------------------------------------------------------------- nested models, custom objects

def sequential_obj(name, layer_entries, input_shape):
    """A Sequential model as Keras 3 serializes it, also when it is a layer of another model."""
    o = obj("keras", "Sequential", {"name": name, "trainable": True, "dtype": policy(), "layers": layer_entries,
                                    "build_input_shape": input_shape})
    o["build_config"] = {"input_shape": input_shape}
    return o


def write_nested(d):
    rng = np.random.default_rng(23)
    w1 = rng.normal(0, 0.5, (4, 8)).astype(np.float32)
    b1 = rng.normal(0, 0.1, (8,)).astype(np.float32)
    w2 = rng.normal(0, 0.5, (8, 3)).astype(np.float32)
    b2 = rng.normal(0, 0.1, (3,)).astype(np.float32)
    w3 = rng.normal(0, 0.5, (3, 1)).astype(np.float32)
    b3 = rng.normal(0, 0.1, (1,)).astype(np.float32)
    inner = sequential_obj("inner", [input_layer("input_layer_1", [4]), dense("dense", 8, "relu", [None, 4]),
                                     dense("dense_1", 3, "tanh", [None, 8])], [None, 4])
    # Keras records `mask: None` for a call whose signature takes a mask (Layer.__call__ fills it in).
    inner["name"] = "inner"
    inner["inbound_nodes"] = [{"args": [keras_tensor([None, 4], ["input_layer", 0, 0])], "kwargs": {"mask": None}}]
    x_in = input_layer("input_layer", [4])
    x_in["name"] = "input_layer"
    x_in["inbound_nodes"] = []
    head = dense("head", 1, "sigmoid", [None, 3])
    head["name"] = "head"
    head["inbound_nodes"] = [{"args": [keras_tensor([None, 3], ["inner", 0, 0])], "kwargs": {}}]
    config = {
        "module": "keras.src.models.functional", "class_name": "Functional",
        "config": {"name": "outer", "trainable": True, "layers": [x_in, inner, head],
                   "input_layers": [["input_layer", 0, 0]], "output_layers": [["head", 0, 0]]},
        "registered_name": "Functional",
    }
    # The walk of keras/src/saving/saving_lib.py: the outer `layers` container (the InputLayer, the Sequential
    # named by its snake-cased class, the head), and inside the Sequential its own `layers` (no InputLayer).
    weights = h5_bytes({
        "": ("outer", []),
        "layers/input_layer": ("input_layer", []),
        "layers/sequential": ("inner", []),
        "layers/sequential/layers/dense": ("dense", [w1, b1]),
        "layers/sequential/layers/dense_1": ("dense_1", [w2, b2]),
        "layers/dense": ("head", [w3, b3]),
    })
    write_archive(d + "/nested.keras", config, weights)
    x = rng.normal(0, 1, (6, 4)).astype(np.float32)
    f64 = lambda t: t.astype(np.float64)
    h = np.tanh(relu(f64(x) @ f64(w1) + f64(b1)) @ f64(w2) + f64(b2))
    np.save(d + "/nested_x.npy", x)
    np.save(d + "/nested_y.npy", sigmoid(h @ f64(w3) + f64(b3)).astype(np.float32))


def bce_object(extra=None):
    config = {"name": "binary_crossentropy", "reduction": "sum_over_batch_size", "from_logits": False,
              "label_smoothing": 0.1, "axis": -1, "dtype": None}
    config.update(extra or {})
    return obj("keras.losses", "BinaryCrossentropy", config)


def write_lossobj(d):
    write_seq(d)  # the same model and weights, another compile_config
    with zipfile.ZipFile(d + "/seq.keras") as z:
        weights = z.read("model.weights.h5")
    config = seq_config([dense("dense", 8, "relu", [None, 4]), dense("dense_1", 1, "sigmoid", [None, 8])])
    config["compile_config"]["loss"] = bce_object()
    config["compile_config"]["metrics"] = [
        obj("keras.metrics", "BinaryAccuracy", {"name": "binary_accuracy", "dtype": "float32", "threshold": 0.7})]
    write_archive(d + "/lossobj.keras", config, weights)
    # NumPy's loss and accuracy with the weights of write_seq.
    with h5py.File(io.BytesIO(weights), "r") as f:
        w1, b1 = (f["layers/dense/vars/%d" % i][()].astype(np.float64) for i in range(2))
        w2, b2 = (f["layers/dense_1/vars/%d" % i][()].astype(np.float64) for i in range(2))
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (8, 4)).astype(np.float32)
    y = (rng.random((8, 1)) > 0.5).astype(np.float32)
    p = sigmoid(relu(x.astype(np.float64) @ w1 + b1) @ w2 + b2)
    ys = y.astype(np.float64) * (1 - 0.1) + 0.5 * 0.1
    loss = np.mean(-(ys * np.log(p) + (1 - ys) * np.log(1 - p)))
    accuracy = np.mean((p > 0.7).astype(np.float64) == y)
    np.save(d + "/lossobj_x.npy", x)
    np.save(d + "/lossobj_y.npy", y)
    np.save(d + "/lossobj_scores.npy", np.array([loss, accuracy], np.float64))


def read_archive(path):
    with zipfile.ZipFile(path) as z:
        names = [i.filename for i in z.infolist()]
        expect(names == ["metadata.json", "config.json", "model.weights.h5"], "entries " + str(names))
        return json.loads(z.read("config.json")), z.read("model.weights.h5")


def check_sequential_entry(e, name, class_names, where):
    check_serialized(e, "keras", "Sequential", None, where)
    c = e["config"]
    expect(c.get("name") == name, "%s: name %r" % (where, c.get("name")))
    check_serialized(c["dtype"], "keras", "DTypePolicy", None, where + " dtype")
    expect([l["class_name"] for l in c["layers"]] == class_names,
           "%s: layers %s, expected %s" % (where, [l["class_name"] for l in c["layers"]], class_names))
    for i, l in enumerate(c["layers"]):
        if l["class_name"] in ("InputLayer", "Dense"):
            check_layer(l, l["class_name"], "%s layers[%d]" % (where, i))


def check_functional_entry(e, name, where):
    check_serialized(e, "keras.src.models.functional", "Functional", "Functional", where)
    c = e["config"]
    expect(c.get("name") == name, "%s: name %r" % (where, c.get("name")))
    for key in ("layers", "input_layers", "output_layers"):
        expect(key in c, "%s: no %s" % (where, key))
    for l in c["layers"]:
        expect("inbound_nodes" in l and l.get("name") == l["config"]["name"], where + ": layer entry " + l["config"]["name"])


def check_nested(case, path):
    """nested: Functional 'outer': Input(4) 'x' -> Sequential 'inner' [Input 4, Dense 8 relu, Dense 3] -> Dense 1 'head'.
    nested3: Sequential 'top' [Input 4, Functional 'mid' (Input 4 -> Sequential 'bottom' [Dense 5 tanh] -> Dense 3),
    Dense 2]."""
    config, weights = read_archive(path)
    if case == "nested":
        check_functional_entry(config, "outer", "model")
        layers = config["config"]["layers"]
        expect([l["class_name"] for l in layers] == ["InputLayer", "Sequential", "Dense"], "outer layers")
        inner = layers[1]
        check_sequential_entry(inner, "inner", ["InputLayer", "Dense", "Dense"], "layers[1]")
        expect(inner.get("build_config") == {"input_shape": [None, 4]}, "inner build_config " + str(inner.get("build_config")))
        expect(inner["config"].get("build_input_shape") == [None, 4], "inner build_input_shape")
        args = inner["inbound_nodes"][0]["args"]
        expect(len(inner["inbound_nodes"]) == 1 and args[0]["config"]["keras_history"] == ["x", 0, 0], "inner's input")
        head = layers[2]["inbound_nodes"][0]["args"][0]["config"]
        expect(head["keras_history"] == ["inner", 0, 0] and head["shape"] == [None, 3], "head's input " + str(head))
        expect(config["config"]["output_layers"] == [["head", 0, 0]], "output_layers")
        check_h5(weights, {"vars": 0, "layers/input_layer/vars": 0, "layers/sequential/vars": 0,
                           "layers/sequential/layers/dense/vars": 2, "layers/sequential/layers/dense_1/vars": 2,
                           "layers/dense/vars": 2})
        with h5py.File(io.BytesIO(weights), "r") as f:
            expect(f["layers/sequential/vars"].attrs["name"] == "inner", "name of layers/sequential/vars")
            expect(f["layers/sequential/layers/dense/vars/0"].shape == (4, 8), "inner kernel shape")
            expect(f["layers/dense/vars/0"].shape == (3, 1), "head kernel shape")
    elif case == "nested3":
        check_serialized(config, "keras", "Sequential", None, "model")
        layers = config["config"]["layers"]
        expect([l["class_name"] for l in layers] == ["InputLayer", "Functional", "Dense"], "top layers")
        mid = layers[1]
        check_functional_entry(mid, "mid", "layers[1]")
        expect("build_config" not in mid, "a Functional entry has no build_config in Keras")
        mid_layers = mid["config"]["layers"]
        expect([l["class_name"] for l in mid_layers] == ["InputLayer", "Sequential", "Dense"], "mid layers")
        check_sequential_entry(mid_layers[1], "bottom", ["InputLayer", "Dense"], "mid layers[1]")
        check_h5(weights, {"vars": 0, "layers/functional/vars": 0, "layers/functional/layers/input_layer/vars": 0,
                           "layers/functional/layers/sequential/vars": 0,
                           "layers/functional/layers/sequential/layers/dense/vars": 2,
                           "layers/functional/layers/dense/vars": 2, "layers/dense/vars": 2,
                           "optimizer/vars": 2 + 2 * 6})
    else:
        fail("unknown case " + case)


def check_custom(path):
    """Sequential [Input 3, Scale (registered as my_package>Scale, one weight of shape (3,)), Dense 2]."""
    config, weights = read_archive(path)
    layers = config["config"]["layers"]
    expect([l["class_name"] for l in layers] == ["InputLayer", "Scale", "Dense"], "layers")
    check_serialized(layers[1], "my_package", "Scale", "my_package>Scale", "layers[1]")
    expect(layers[1]["config"].get("factor") == 2.5, "Scale's factor " + str(layers[1]["config"].get("factor")))
    check_serialized(layers[2], "keras.layers", "Dense", None, "layers[2]")
    check_h5(weights, {"vars": 0, "layers/scale/vars": 1, "layers/dense/vars": 2})


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        {"seq": write_seq, "func": write_func, "nested": write_nested, "lossobj": write_lossobj}[sys.argv[2]](sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "check" and sys.argv[2] in ("nested", "nested3"):
        check_nested(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "check" and sys.argv[2] == "custom":
        check_custom(sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "bad":
        bad(sys.argv[2], sys.argv[3])
    else:
        fail("usage: see the docstring")


if __name__ == "__main__":
    main()
