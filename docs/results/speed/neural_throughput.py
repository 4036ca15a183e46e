"""Training and inference throughput of the neural attributors, float32 against bfloat16 autocast.

    python docs/results/speed/neural_throughput.py [--methods cnn,visnet,bfrvae] [--threads 1] [--rounds 2]

One process, torch limited to ``--threads`` intra-op threads (the benchmark runs each cell with
one). For each method at its registered defaults, on 32×32 synthetic images (the size of
zoo:default) of 5 sources, the rounds alternate the two precisions: a fit of ``--epochs`` epochs
without a validation split and without the fitted-weights cache (training images/s), then
``predict_proba`` on ``--test`` images (inference images/s). FLOPs per training image are counted
once with ``torch.utils.flop_counter.FlopCounterMode`` over a one-epoch fit (forward and backward
of every network the step runs; where the counter cannot follow the step, visnet's gradient
penalty, 3 × the inference FLOPs stand in, marked as an estimate), FLOPs per inference image over
``predict_proba``; the CPU's
matmul peak is the best of a few 1024×1024 (float32) and bfloat16 products. Prints one line per
measurement and a JSON summary.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from ganprint.registry import load_registry
from ganprint.testing import synthetic_sources


def matmul_peak(dtype: torch.dtype, size: int = 1024, repeats: int = 10) -> float:
    """Best GFLOP/s of ``size``² matrix products in ``dtype``."""
    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    a @ b
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best / 1e9


def counted_flops(run) -> int:
    with FlopCounterMode(display=False) as counter:
        run()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--methods", default="cnn,visnet,bfrvae")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train", type=int, default=640, help="training images (all sources)")
    parser.add_argument("--test", type=int, default=1024)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    peaks = {"float32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)}
    print(f"matmul peak, {args.threads} thread(s): float32 {peaks['float32']:.1f} GFLOP/s, "
          f"bf16 {peaks['bf16']:.1f} GFLOP/s", flush=True)
    registry = load_registry()
    X, y = synthetic_sources(args.train // 5, 32, n_generated=4, seed=0)
    X_test, _ = synthetic_sources(args.test // 5, 32, n_generated=4, seed=1)
    summary: dict = {"threads": args.threads, "matmul_gflops": peaks, "methods": {}}
    for name in args.methods.split(","):
        def make(precision: str, epochs: int):
            return registry.detectors[name].factory().set_params(
                precision=precision, max_epochs=epochs, validation_fraction=0.0, cache=False, patience=None)

        fitted = make("float32", 1).fit(X, y)
        flops_infer = counted_flops(lambda: fitted.predict_proba(X_test)) / len(X_test)
        try:
            flops_train, counted = counted_flops(lambda: make("float32", 1).fit(X, y)) / len(X), True
        except RuntimeError:  # FlopCounterMode cannot follow autograd.grad (visnet's gradient penalty)
            flops_train, counted = 3 * flops_infer, False  # forward + backward ≈ 3 forwards: an estimate
        rates: dict = {p: {"train": [], "infer": []} for p in peaks}
        for _ in range(args.rounds):
            for precision in peaks:
                start = time.perf_counter()
                method = make(precision, args.epochs).fit(X, y)
                rates[precision]["train"].append(args.epochs * len(X) / (time.perf_counter() - start))
                start = time.perf_counter()
                method.predict_proba(X_test)
                rates[precision]["infer"].append(len(X_test) / (time.perf_counter() - start))
        entry = {"train_gflop_per_image": flops_train / 1e9, "train_flops_counted": counted,
                 "infer_gflop_per_image": flops_infer / 1e9}
        for precision in peaks:
            train, infer = max(rates[precision]["train"]), max(rates[precision]["infer"])
            entry[precision] = {"train_images_per_s": train, "infer_images_per_s": infer,
                                "train_fraction_of_peak": train * flops_train / 1e9 / peaks[precision],
                                "infer_fraction_of_peak": infer * flops_infer / 1e9 / peaks[precision],
                                "train_rounds": rates[precision]["train"], "infer_rounds": rates[precision]["infer"]}
            print(f"{name:7s} {precision:7s} train {train:8.1f} img/s ({entry[precision]['train_fraction_of_peak']:.1%}"
                  f" of peak)  infer {infer:8.1f} img/s ({entry[precision]['infer_fraction_of_peak']:.1%})", flush=True)
        entry["bf16_over_float32_train"] = entry["bf16"]["train_images_per_s"] / entry["float32"]["train_images_per_s"]
        entry["bf16_over_float32_infer"] = entry["bf16"]["infer_images_per_s"] / entry["float32"]["infer_images_per_s"]
        print(f"{name:7s} bf16/float32: train {entry['bf16_over_float32_train']:.2f}x, "
              f"infer {entry['bf16_over_float32_infer']:.2f}x, {flops_train / 1e9:.3f} GFLOP per training image", flush=True)
        summary["methods"][name] = entry
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
