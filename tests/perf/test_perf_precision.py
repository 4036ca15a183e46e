"""Training speed of the neural attributors in float32 and under bfloat16 autocast (the shared
``precision`` hyperparameter, ganprint.neural): one epoch of ``fit`` on 64 images of 32×32 (the
size of zoo:default) per method and precision, torch on one thread as in a benchmark cell.

    python -m pytest tests/perf/test_perf_precision.py --benchmark-only --benchmark-group-by=group

Each group's relative column is the float32 / bf16 time ratio of that method. Whether bf16 pays
depends on the CPU (bfloat16 matrix units: AVX512-BF16 or AMX); measured figures, with the CPU's
matmul peak and FLOPs per image (docs/results/speed/neural_throughput.py), are in
docs/results/speed/README.md.
"""
from __future__ import annotations

import pytest

from ganprint.registry import load_registry
from ganprint.testing import synthetic_sources
from ganprint.training import torch_threads

N_TRAIN = 64


@pytest.mark.parametrize("precision", ["float32", "bf16"])
@pytest.mark.parametrize("name", ["cnn", "visnet", "bfrvae"])
def test_training_epoch(benchmark, name: str, precision: str) -> None:
    benchmark.group = f"{name} training epoch, {N_TRAIN} images 32x32"
    benchmark.extra_info["images_per_round"] = N_TRAIN
    X, y = synthetic_sources(N_TRAIN // 4, 32, n_generated=3)
    method = load_registry().detectors[name].factory().set_params(
        precision=precision, max_epochs=1, validation_fraction=0.0, cache=False, progress=False)
    with torch_threads(1):
        fitted = benchmark.pedantic(lambda: method.fit(X, y), rounds=1, iterations=1)
    assert fitted.history_["epochs"] == 1 and fitted.predict_proba(X[:4]).shape == (4, 4)
