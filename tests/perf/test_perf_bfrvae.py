"""Speed of BFR-VAE (plugin ``bfrvae``) at its default size (width 16, latent 128, 32×32 images):
one optimisation step on a minibatch of 64, and fingerprint extraction of 256 images.

    python -m pytest tests/perf/test_perf_bfrvae.py --benchmark-only

The step time times the number of minibatches gives the training time of an epoch on a dataset.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganprint.plugins.bfrvae.attributor import BFRVAEAttributor
from ganprint.plugins.bfrvae.model import BFRVAE, bfrvae_loss
from ganprint.plugins.bfrvae.simulation import simulated_sources
from ganprint.training import to_tensor


@pytest.fixture(autouse=True)
def one_thread(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    torch.set_num_threads(1)


def test_training_step(benchmark):
    X, y = simulated_sources(22, seed=0)
    x, labels = to_tensor(X[:64]), torch.as_tensor(np.searchsorted(np.unique(y), y)[:64])
    torch.manual_seed(0)
    defaults = BFRVAEAttributor()
    model = BFRVAE(defaults.latent_dim, defaults.width)
    optimiser = torch.optim.Adam(model.parameters(), lr=defaults.learning_rate)

    def step() -> float:
        losses = bfrvae_loss(model, x, labels, lambda1=defaults.lambda1, lambda2=defaults.lambda2,
                             margin=defaults.margin)
        optimiser.zero_grad()
        losses["loss"].backward()
        optimiser.step()
        return float(losses["loss"].detach())

    assert np.isfinite(benchmark(step))


def test_fingerprint_extraction(benchmark):
    X, y = simulated_sources(10, seed=0)
    model = BFRVAEAttributor(max_epochs=1).fit(X, y)
    images = np.concatenate([X] * 9)[:256]
    mu, sigma = benchmark(model.fingerprints, images)
    assert mu.shape == (256, model.latent_dim) and (sigma > 0).all()
