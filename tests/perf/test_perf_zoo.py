"""Speed of the zoo's pieces that set its budgets: one training iteration per GAN family at the
default preset's size (32 px, its widths, minibatch 32), sampling 1000 images from a generator
(``zoo:default`` builds from samples), and the SWD of 1000 images against 1000.

    python -m pytest tests/perf/test_perf_zoo.py --benchmark-only

The iteration timings × the preset's iterations give the training time of each generator on one
thread (``bench zoo train``). ``test_training_iterations_by_precision`` times float32 beside
bfloat16 autocast (``GeneratorConfig.precision``) at the artificial-fingerprint publishers' size
(width 16, minibatch 64); read the ratio within each group:

    python -m pytest tests/perf/test_perf_zoo.py -k precision --benchmark-only --benchmark-group-by=group
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from ganprint.datasets.gan_families import FAMILIES
from ganprint.datasets.gan_training import GeneratorConfig, generator_module, sample, train_generator
from ganprint.datasets.swd import swd
from ganprint.datasets.zoo_presets import PRESETS
from ganprint.training import torch_threads

DEFAULT = PRESETS["default"]


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_training_iterations_of_the_default_preset(benchmark, family):
    config = replace(DEFAULT.generator(family), iterations=3)
    generator, log = benchmark.pedantic(train_generator, args=(config,), kwargs={"progress": False},
                                        rounds=1, iterations=1)
    assert np.isfinite(log[0]["d"]) and np.isfinite(log[0]["g"])


@pytest.mark.parametrize("precision", ["", "bf16"])
@pytest.mark.parametrize("family", ["dcgan", "sngan", "cramergan", "progan"])
def test_training_iterations_by_precision(benchmark, family, precision):
    benchmark.group = f"{family} 32px, float32 vs bf16"
    # Timed: 8 iterations. In the default suite (untimed, once): 2, enough to run every step of
    # both precisions; bf16 is emulated on CPUs without bfloat16 units and takes minutes there.
    iterations = 2 if benchmark.disabled else 8
    config = GeneratorConfig(family, 32, 16, iterations=iterations, precision=precision)
    generator, log = benchmark.pedantic(train_generator, args=(config,), kwargs={"progress": False},
                                        rounds=1, iterations=1, warmup_rounds=1)
    assert np.isfinite(log[0]["d"]) and np.isfinite(log[0]["g"])


def test_sampling_a_thousand_images(benchmark):
    generator = generator_module(DEFAULT.generator("dcgan")).eval()
    images = benchmark(sample, generator, 1000, 0)
    assert images.shape == (1000, 32, 32, 3)


def test_swd_of_a_thousand_images(benchmark):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (1000, 32, 32, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (1000, 32, 32, 3), dtype=np.uint8)
    assert benchmark(swd, a, b) > 0
