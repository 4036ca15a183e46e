"""The Yu et al. 2019 attribution network plugin: conformance, variants, learning, fitted-weight
cache, fine-tuning and ONNX parity."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganprint.onnx_export import export_method, run_onnx
from ganprint.plugins.cnn import VARIANTS, make_cnn
from ganprint.plugins.cnn.attributor import CNNAttributor
from ganprint.plugins.cnn.network import AttributionNet, GaussianPyramid
from ganprint.registry import load_registry
from ganprint.testing import check_detector, synthetic_sources
from ganprint.training import torch_threads

QUICK = dict(width=8, max_channels=32, max_epochs=2, cache=False, progress=False)


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def one_thread():
    """Other jobs share the two cores: one torch thread is faster than two fighting for them."""
    with torch_threads(1):
        yield


def test_variants_registered() -> None:
    registry = load_registry()
    assert set(VARIANTS) <= set(registry.detectors)
    assert not [f for f in registry.failures if f.plugin == "cnn"]


@pytest.mark.parametrize("name", ["cnn", "cnn.high8", "cnn.patch6"])
def test_conforms(name: str) -> None:
    params = VARIANTS[name][0]
    check_detector(lambda: make_cnn(**params, **QUICK), n_per_source=12, image_size=16)


@pytest.mark.parametrize("size", [32, 64])
@pytest.mark.parametrize("params", [{}, {"band": "low", "resolution": 8}, {"band": "low", "resolution": 4},
                                    {"band": "high", "resolution": 16}, {"band": "high", "resolution": 8},
                                    {"patch_size": 6}, {"patch_size": 36}])
def test_network_shapes(size: int, params: dict) -> None:
    net = AttributionNet(size, 5, width=4, max_channels=16, **params)
    x = torch.zeros(3, 3, size, size)
    assert net(x).shape == (3, 5)
    assert net.fingerprint(x).shape == (3, 512)


@pytest.mark.parametrize("params", [{"band": "low"}, {"band": "mid", "resolution": 8},
                                    {"band": "high", "resolution": 4}, {"band": "low", "resolution": 12},
                                    {"patch_size": 24}, {"patch_size": 76}, {"patch_size": 6, "band": "low", "resolution": 8}])
def test_network_rejects_impossible_variants(params: dict) -> None:
    with pytest.raises(ValueError):
        AttributionNet(32, 3, **params)


def test_pyramid_bands() -> None:
    flat = torch.full((1, 3, 32, 32), 0.3)
    assert torch.allclose(GaussianPyramid(32, 8, "low")(flat), torch.full((1, 3, 8, 8), 0.3), atol=1e-6)
    assert GaussianPyramid(32, 16, "high")(flat).abs().max() < 1e-5
    noise = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    smooth = torch.nn.functional.interpolate(noise[:, :, ::8, ::8], size=32, mode="bilinear", align_corners=True)
    high = GaussianPyramid(32, 32, "high")
    assert high(noise).pow(2).mean() > 20 * high(smooth).pow(2).mean()


def test_learns_periodic_fingerprints() -> None:
    X, y = synthetic_sources(200, 8, seed=0)
    X_test, y_test = synthetic_sources(40, 8, seed=1)
    method = CNNAttributor(max_channels=64, max_epochs=25, patience=25, cache=False, progress=False).fit(X, y)
    accuracy = (method.predict(X_test) == y_test).mean()
    assert accuracy > 0.8, f"test accuracy {accuracy:.2f} (chance 0.33)"
    assert method.fingerprint(X_test[:5]).shape == (5, 512)
    assert method.model_fingerprints_.shape == (3, 512)


def test_cached_fit_is_loaded_not_retrained(monkeypatch) -> None:
    X, y = synthetic_sources(12, 16)
    quick = {**QUICK, "cache": True}
    first = CNNAttributor(**quick).fit(X, y)
    monkeypatch.setattr(CNNAttributor, "_train_network", lambda *a, **k: pytest.fail("retrained a cached fit"))
    second = CNNAttributor(**quick).fit(X, y)
    assert second.fit_key_ == first.fit_key_
    assert np.array_equal(first.predict_proba(X), second.predict_proba(X))
    assert second.history_ == first.history_
    with pytest.raises(pytest.fail.Exception):
        CNNAttributor(**{**quick, "max_epochs": 3}).fit(X, y)
    with pytest.raises(pytest.fail.Exception):
        CNNAttributor(**quick).fit(X[::-1], y[::-1])


def test_fine_tune_continues_from_fitted_weights() -> None:
    X, y = synthetic_sources(12, 16)
    method = CNNAttributor(**QUICK).fit(X, y)
    before = method.predict_proba(X)
    start = {k: v.clone() for k, v in method.model_.state_dict().items()}
    assert method.fine_tune(255 - X, y) is method
    assert not np.allclose(before, method.predict_proba(X))
    fresh = CNNAttributor(**QUICK).fit(255 - X, y)
    assert not np.allclose(fresh.predict_proba(X), method.predict_proba(X))
    assert any(not torch.equal(start[k], v) for k, v in method.model_.state_dict().items())
    with pytest.raises(ValueError, match="not among"):
        method.fine_tune(X[:4], np.array(["other"] * 4))


def test_fine_tune_is_bounded_by_its_own_epoch_budget() -> None:
    X, y = synthetic_sources(12, 16)
    params = {**QUICK, "max_epochs": 4, "patience": 10}
    method = CNNAttributor(**params, fine_tune_epochs=1).fit(X, y)
    assert len(method.history_["losses"]) == 4
    clean_key = method.fit_key_
    assert CNNAttributor(**params, fine_tune_epochs=3).fit(X, y).fit_key_ == clean_key
    method.fine_tune(255 - X, y)
    assert len(method.history_["losses"]) == 1
    assert method.fit_key_ != clean_key


@pytest.mark.parametrize("params", [{}, {"band": "high", "resolution": 16}, {"band": "low", "resolution": 8},
                                    {"patch_size": 6}])
def test_onnx_matches_pytorch(tmp_path, params: dict) -> None:
    X, y = synthetic_sources(6, 32)
    method = CNNAttributor(**params, **QUICK).fit(X, y)
    path = export_method(method, X[:2], tmp_path / "cnn.onnx")
    assert np.abs(run_onnx(path, X, batch_size=7) - method.predict_proba(X)).max() <= 1e-4


def test_wrong_image_size_is_refused() -> None:
    X, y = synthetic_sources(6, 16)
    method = CNNAttributor(**QUICK).fit(X, y)
    with pytest.raises(ValueError, match="16x16"):
        method.predict_proba(synthetic_sources(2, 32)[0])
