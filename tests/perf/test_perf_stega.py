"""Speed of the artificial-fingerprint plugin (``stega``): embedding (encoder) and decoding
(decoder) of 256 images at 32×32 with the default architecture, one thread.

    python -m pytest tests/perf/test_perf_stega.py --benchmark-only

Images per second = 256 / mean time. The models are freshly initialised: speed does not depend on
the weights.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganprint.plugins.stega.model import FingerprintDecoderNet, FingerprintEncoder
from ganprint.plugins.stega.config import StegaConfig
from ganprint.plugins.stega.train import decode_logits, embed

N_IMAGES = 256


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(1)
    config = StegaConfig()
    torch.manual_seed(0)
    encoder = FingerprintEncoder(config.n_bits, config.image_size, config.width).eval()
    decoder = FingerprintDecoderNet(config.n_bits, config.image_size, config.width).eval()
    images = np.random.default_rng(0).integers(0, 256, (N_IMAGES, 32, 32, 3), dtype=np.uint8)
    bits = np.random.default_rng(1).integers(0, 2, config.n_bits, dtype=np.uint8)
    return encoder, decoder, images, bits


def test_embed_speed(benchmark, setup):
    encoder, _, images, bits = setup
    stego = benchmark(embed, encoder, images, bits)
    assert stego.shape == images.shape and stego.dtype == np.uint8


def test_decode_speed(benchmark, setup):
    _, decoder, images, _ = setup
    logits = benchmark(decode_logits, decoder, images)
    assert logits.shape == (N_IMAGES, StegaConfig().n_bits)
