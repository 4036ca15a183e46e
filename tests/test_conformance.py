"""Every registered detector passes ganprint.testing.check_detector, and the check itself catches
the broken methods it is meant to catch."""
from __future__ import annotations

import numpy as np
import pytest

from ganprint import Attributor, Detector
from ganprint.registry import load_registry
from ganprint.testing import ConformanceError, check_detector

REGISTRY = load_registry()


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Detectors that cache their fits (cnn, ...) write into a temporary folder, not the user's cache."""
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))


@pytest.mark.parametrize("name", sorted(REGISTRY.detectors))
def test_registered_detector_conforms(name: str) -> None:
    check_detector(REGISTRY.detectors[name].factory)


def test_registry_loaded_without_failures() -> None:
    assert REGISTRY.failures == []
    assert {"knn", "eigenface"} <= set(REGISTRY.detectors)


class MeanAttributor(Attributor):
    """A correct small attributor; the broken variants below each change one thing."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.means_ = np.stack([X[np.asarray(y) == c].mean(axis=(0, 3)) for c in self.classes_])
        return self

    def predict_proba(self, X):
        from ganprint import check_is_fitted

        check_is_fitted(self)
        d = ((X.mean(axis=3)[:, None] - self.means_[None]) ** 2).mean(axis=(2, 3)) * self.scale
        p = np.exp(-(d - d.min(axis=1, keepdims=True)) / 100.0)
        return p / p.sum(axis=1, keepdims=True)


def test_correct_attributor_passes() -> None:
    check_detector(MeanAttributor)


class Unnormalised(MeanAttributor):
    def predict_proba(self, X):
        return super().predict_proba(X) * 2


class Mutating(MeanAttributor):
    def fit(self, X, y):
        X[0, 0, 0, 0] ^= 1
        return super().fit(X, y)


class NoSelf(MeanAttributor):
    def fit(self, X, y):
        super().fit(X, y)


class Random(MeanAttributor):
    def predict_proba(self, X):
        p = super().predict_proba(X) + np.random.default_rng().uniform(0, 1, (len(X), len(self.classes_)))
        return p / p.sum(axis=1, keepdims=True)


class RenamedParam(MeanAttributor):
    def __init__(self, scale: float = 1.0) -> None:
        self.the_scale = scale


class NoFitCheck(Detector):
    def fit(self, X, y):
        self.done_ = True
        return self

    def score(self, X):
        return np.zeros(len(X))


@pytest.mark.parametrize("broken, rule", [
    (Unnormalised, "sum to 1"),
    (Mutating, "in place"),
    (NoSelf, "return self"),
    (Random, "not deterministic"),
    (RenamedParam, "__init__"),
    (NoFitCheck, "NotFittedError"),
])
def test_check_catches_broken_methods(broken, rule: str) -> None:
    with pytest.raises(ConformanceError, match=rule):
        check_detector(broken)


def test_check_known_labels() -> None:
    from ganprint import NotFittedError, check_known_labels

    class Fitted:
        def __init__(self) -> None:
            self.classes_ = np.array(["gen0", "real"])

    assert check_known_labels(Fitted(), np.array(["real", "gen0"])).tolist() == ["real", "gen0"]
    with pytest.raises(ValueError, match=r"\['gen1'\] are not among"):
        check_known_labels(Fitted(), ["gen0", "gen1"])
    with pytest.raises(NotFittedError):
        check_known_labels(type("Unfitted", (), {})(), ["real"])
