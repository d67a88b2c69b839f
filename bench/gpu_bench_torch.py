#!/usr/bin/env python3
"""PyTorch side of scripts/gpu-check: the work bench/gpu_bench.cpp times in Keel, timed the same way.

Train steps at batch 128 (MLP 784-512-512-10; the Keras mnist_convnet, NCHW as PyTorch lays it out) with
Adam at Keras's defaults (lr 1e-3, eps 1e-7) and cross-entropy, each step ending in loss.item() as Keel's
train_on_batch returns the loss; and 4096^3 GEMMs in float32 (exact), float32 with TF32, and bfloat16.
TF32 is off for matmul and cuDNN except where named, matching Keel's default of exact float32.
Prints "RESULT <name> <median> <unit>" lines (nan and a "# " line when a step failed).
"""
import statistics
import sys
import time

import torch
from torch import nn


def median_ms(step, warmup, samples, iters):
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    ms = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(iters):
            step()
        torch.cuda.synchronize()
        ms.append((time.perf_counter() - t0) * 1e3 / iters)
    return statistics.median(ms)


def report(name, unit, fn):
    try:
        print(f"RESULT {name} {fn():.4f} {unit}")
    except Exception as e:  # one failing line must not lose the others
        print(f"RESULT {name} nan {unit}\n# {name}: {e}")
    sys.stdout.flush()


def train_step_ms(model, x, y):
    model = model.cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()

    return median_ms(step, 10, 30, 5)


def labels(n, classes):
    return torch.randint(0, classes, (n,), device="cuda")


def mlp_step():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    return train_step_ms(model, torch.rand(128, 784, device="cuda"), labels(128, 10))


def convnet_step():
    torch.manual_seed(1)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(64 * 5 * 5, 10))
    return train_step_ms(model, torch.rand(128, 1, 28, 28, device="cuda"), labels(128, 10))


def gemm_tflops(dtype, n=4096):
    # Two input pairs, alternated, so repeated products do not just re-read one pair from L2.
    a = [torch.rand(n, n, device="cuda").to(dtype) for _ in range(2)]
    b = [torch.rand(n, n, device="cuda").to(dtype) for _ in range(2)]
    k = [0]

    def step():
        torch.matmul(a[k[0]], b[k[0]])
        k[0] ^= 1

    with torch.no_grad():
        ms = median_ms(step, 3, 15, 10)
    return 2.0 * n**3 / (ms * 1e-3) / 1e12


def gemm_tf32():
    torch.backends.cuda.matmul.allow_tf32 = True
    try:
        return gemm_tflops(torch.float32)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = False


def main():
    if not torch.cuda.is_available():
        print("gpu_bench_torch.py: torch sees no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    print(f"# torch {torch.__version__} on {torch.cuda.get_device_name(0)}")
    report("mlp_784_512_512_10_train_step_b128", "ms", mlp_step)
    report("mnist_convnet_train_step_b128", "ms", convnet_step)
    report("gemm4096_f32", "TFLOP/s", lambda: gemm_tflops(torch.float32))
    report("gemm4096_f32_tf32", "TFLOP/s", gemm_tf32)
    report("gemm4096_bf16", "TFLOP/s", lambda: gemm_tflops(torch.bfloat16))
    return 0


if __name__ == "__main__":
    sys.exit(main())
