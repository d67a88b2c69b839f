#!/usr/bin/python3
"""Writes tests/ops/fixtures/<family>.json: forward values and gradients from PyTorch for every op case.

Run with Debian's Python, which has python3-torch:  /usr/bin/python3 tools/golden/generate_op_fixtures.py
Each family module (ops_<family>.py beside this file) lists CASES, tuples of
    (name, inputs, fn, grad_inputs[, rtol, atol])
where `name` matches an OpCase in tests/ops/table_<family>.cpp, `inputs` are numpy arrays (float arrays are
rounded to float32 first, so Keel sees the same values), `fn` maps torch tensors to one torch tensor, and
`grad_inputs` lists the input positions whose gradients are recorded. PyTorch computes in float64; the
gradient is that of sum(fn(inputs) * upstream) with a fixed upstream tensor.
"""
import importlib
import json
import pathlib
import sys

import numpy as np
import torch

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE.parent.parent / "tests" / "ops" / "fixtures"


def encode(a):
    a = np.asarray(a)
    dtype = {np.dtype("float32"): "float32", np.dtype("float64"): "float32", np.dtype("int64"): "int64",
             np.dtype("int32"): "int32", np.dtype("bool"): "bool", np.dtype("uint8"): "uint8"}[a.dtype]
    data = [float(v) if dtype.startswith("float") else (int(v) if dtype != "bool" else int(bool(v)))
            for v in a.reshape(-1).tolist()]
    return {"dtype": dtype, "shape": list(a.shape), "data": data}


def run_case(name, inputs, fn, grad_inputs, rtol=1e-5, atol=1e-5):
    arrays = [np.asarray(a).astype(np.float32) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in inputs]
    ts = []
    for i, a in enumerate(arrays):
        t = torch.tensor(a.astype(np.float64) if a.dtype.kind == "f" else a)
        if i in grad_inputs:
            t.requires_grad_(True)
        ts.append(t)
    y = fn(*ts)
    case = {"name": name, "rtol": rtol, "atol": atol, "inputs": [encode(a) for a in arrays]}
    y_np = y.detach().numpy()
    case["output"] = encode(y_np)
    if grad_inputs:
        rng = np.random.default_rng(4242)
        w = rng.uniform(0.5, 1.5, size=y.shape).astype(np.float32)
        (y * torch.tensor(w.astype(np.float64))).sum().backward()
        case["upstream"] = encode(w)
        case["grads"] = [encode(ts[i].grad.numpy()) for i in grad_inputs]
    return case


def main(families):
    torch.set_default_dtype(torch.float64)
    OUT.mkdir(parents=True, exist_ok=True)
    for family in families:
        module = importlib.import_module(f"ops_{family}")
        cases = [run_case(*c) for c in module.CASES]
        path = OUT / f"{family}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"generator": "tools/golden/generate_op_fixtures.py", "torch": torch.__version__,
                                   "cases": cases}, separators=(",", ":")))
        tmp.rename(path)
        print(f"{path.relative_to(HERE.parent.parent)}: {len(cases)} cases")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    names = sys.argv[1:] or sorted(p.stem[4:] for p in HERE.glob("ops_*.py"))
    main(names)
