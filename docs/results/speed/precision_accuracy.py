"""Closed-world accuracy of a neural attributor fitted in float32 and in bf16, side by side.

    python docs/results/speed/precision_accuracy.py METHOD [--dataset zoo:default] [--precisions float32,bf16]

Fits the registered METHOD (its benchmark defaults, seed 0, the fitted-weights cache on) on the
train split of the dataset with each precision, and prints the accuracy on the test split, the
fit's wall time and the agreement of the two precisions' predictions: the closed-world protocol
of ``bench run`` without the other protocols.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from ganprint.commands import open_dataset
from ganprint.protocol import fit_method
from ganprint.registry import load_registry


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("method")
    parser.add_argument("--dataset", default="zoo:default")
    parser.add_argument("--precisions", default="float32,bf16")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    registry = load_registry()
    dataset = open_dataset(args.dataset, registry)
    test = dataset.load("test")
    spec = registry.detectors[args.method]
    predictions = {}
    for precision in args.precisions.split(","):
        start = time.perf_counter()
        method = fit_method(lambda: spec.factory().set_params(precision=precision), dataset, seed=0)
        seconds = time.perf_counter() - start
        predictions[precision] = method.predict(test.images)
        accuracy = float(np.mean(predictions[precision] == test.labels))
        print(json.dumps({"method": args.method, "precision": precision, "accuracy": accuracy,
                          "fit_seconds": round(seconds, 1), "cache_hit": bool(getattr(method, "cache_hit_", False)),
                          "epochs": method.history_["epochs"], "n_test": len(test.labels)}), flush=True)
    if len(predictions) == 2:
        a, b = predictions.values()
        print(json.dumps({"agreement": float(np.mean(a == b))}), flush=True)


if __name__ == "__main__":
    main()
