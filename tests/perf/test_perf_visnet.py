"""Speed of visNet (plugin ``visnet``): one training epoch (eq. 4 with the critic step) and
attribution of a batch, at the default width on 32×32 images.

    python -m pytest tests/perf/test_perf_visnet.py --benchmark-only

In the default suite each runs once, untimed, at a reduced size.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ganprint.testing import synthetic_sources
from ganprint.plugins.visnet.attributor import VisNetAttributor


@pytest.fixture(scope="module")
def images(request) -> tuple[np.ndarray, np.ndarray]:
    timed = not request.config.getoption("benchmark_disable", False)
    torch.set_num_threads(1)
    return synthetic_sources(16 if timed else 4, 32, n_generated=3, seed=0)


def test_perf_visnet_training_epoch(benchmark, images) -> None:
    X, y = images
    method = VisNetAttributor(max_epochs=1, validation_fraction=0.0, cache=False)
    benchmark.extra_info["images"] = len(X)
    fitted = benchmark(method.fit, X, y)
    assert fitted.history_["epochs"] == 1


def test_perf_visnet_attribution(benchmark, images) -> None:
    X, y = images
    method = VisNetAttributor(max_epochs=1, validation_fraction=0.0, cache=False).fit(X, y)
    batch = np.concatenate([X] * 4)
    benchmark.extra_info["images"] = len(batch)
    proba = benchmark(method.predict_proba, batch)
    assert proba.shape == (len(batch), 4)
