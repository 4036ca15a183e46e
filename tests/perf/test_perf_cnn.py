"""Speed of the attribution network (plugin ``cnn``, default width 16) at 32×32 and 64×64:
inference on 256 images in PyTorch and in onnxruntime (the ``bench export`` graph), and one
training epoch of ``fit`` on 128 images (no validation split, one epoch).

    python -m pytest tests/perf/test_perf_cnn.py --benchmark-only --benchmark-group-by=group

Images per second is 256 (128 for training) / mean time. An epoch on a dataset takes its training-image count
divided by the training rate (zoo:default/seeds: 5 sources × 1000 images).
"""
from __future__ import annotations

import numpy as np
import pytest

from ganprint.onnx_export import export_method, onnx_session, run_onnx
from ganprint.plugins.cnn.attributor import CNNAttributor
from ganprint.testing import synthetic_sources

N_IMAGES = 256
N_TRAIN = 128
SIZES = [32, 64]


@pytest.fixture(scope="module", params=SIZES, ids=lambda s: f"{s}x{s}")
def fitted(request, tmp_path_factory):
    size = request.param
    X, y = synthetic_sources(N_IMAGES // 4, size, n_generated=3)
    method = CNNAttributor(max_epochs=1, validation_fraction=0.0, cache=False, progress=False).fit(X[::8], y[::8])
    path = export_method(method, X[:2], tmp_path_factory.mktemp("onnx") / f"cnn{size}.onnx")
    return size, X, method, path


def test_inference_pytorch(benchmark, fitted) -> None:
    size, X, method, _ = fitted
    benchmark.group = f"cnn inference, {N_IMAGES} images {size}x{size}"
    benchmark.extra_info["images_per_round"] = N_IMAGES
    proba = benchmark(method.predict_proba, X)
    assert proba.shape == (N_IMAGES, 4)


def test_inference_onnxruntime(benchmark, fitted) -> None:
    size, X, method, path = fitted
    benchmark.group = f"cnn inference, {N_IMAGES} images {size}x{size}"
    benchmark.extra_info["images_per_round"] = N_IMAGES
    session = onnx_session(path)
    proba = benchmark(run_onnx, session, X)
    assert np.abs(proba - method.predict_proba(X)).max() <= 1e-4


@pytest.mark.parametrize("size", SIZES)
def test_training_epoch(benchmark, size: int) -> None:
    benchmark.group = f"cnn training epoch, {N_TRAIN} images {size}x{size}"
    benchmark.extra_info["images_per_round"] = N_TRAIN
    X, y = synthetic_sources(N_TRAIN // 4, size, n_generated=3)
    method = benchmark.pedantic(
        lambda: CNNAttributor(max_epochs=1, validation_fraction=0.0, cache=False, progress=False).fit(X, y),
        rounds=1, iterations=1)
    assert method.history_["epochs"] == 1
