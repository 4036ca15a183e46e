"""Speed of the image attacks (plugin ``attacks``) on a batch of 64 images at 64x64 and at 128x128:

    python -m pytest tests/perf/test_perf_attacks.py --benchmark-only --benchmark-group-by=group

prints one table per image size; the number to read is images per second, 64 / mean time.
"""
from __future__ import annotations

import numpy as np
import pytest

from ganprint.registry import load_registry

ATTACKS = ["noise", "blur", "crop", "jpeg", "relight", "combo"]
SIDES = [64, 128]
N_IMAGES = 64


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.mark.parametrize("name", ATTACKS)
@pytest.mark.parametrize("side", SIDES)
def test_attack_speed(benchmark, registry, name: str, side: int) -> None:
    benchmark.group = f"attacks on {N_IMAGES} images {side}x{side}"
    benchmark.extra_info["images_per_round"] = N_IMAGES
    X = np.random.default_rng(0).integers(0, 256, size=(N_IMAGES, side, side, 3), dtype=np.uint8)
    attack = registry.attacks[name].factory()
    out = benchmark(lambda: attack(X, np.random.default_rng(0)))
    assert out.shape == X.shape and out.dtype == np.uint8
