"""Every registered detector passes each check of ganprint.testing (one pytest test per detector
and check), the checks catch the broken methods they are meant to catch, and set_params /
sklearn.base.clone behave as scikit-learn's."""
from __future__ import annotations

import numpy as np
import pytest

from ganprint import Attributor, Detector
from ganprint.registry import load_registry
from ganprint.testing import ConformanceError, check_detector, detector_checks, parametrize_with_checks, synthetic_sources

REGISTRY = load_registry()


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Detectors that cache their fits (cnn, ...) write into a temporary folder, not the user's cache."""
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))


@parametrize_with_checks({name: REGISTRY.detectors[name].factory for name in sorted(REGISTRY.detectors)})
def test_registered_detector_conforms(check) -> None:
    check()


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


class SetParamsReturnsNone(MeanAttributor):
    def set_params(self, **params):
        super().set_params(**params)


class SetParamsIgnoresUnknown(MeanAttributor):
    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self


class CopiesParam(MeanAttributor):
    def __init__(self, scale: float = 1.0, sizes: tuple = (1, 2)) -> None:
        self.scale = scale
        self.sizes = list(sizes)


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
    (SetParamsReturnsNone, "set_params must return self"),
    (SetParamsIgnoresUnknown, "unknown name must raise ValueError"),
    (CopiesParam, "clone"),
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


def test_checks_are_named_and_share_two_fits() -> None:
    fits = []

    class Counted(MeanAttributor):
        def fit(self, X, y):
            fits.append(1)
            return super().fit(X, y)

    checks = detector_checks(Counted)
    assert [name for name, _ in checks] == [
        "check_interface", "check_init_params", "check_set_params", "check_not_fitted", "check_fit_returns_self",
        "check_inputs_unchanged", "check_outputs", "check_clone", "check_deterministic", "check_save_load"]
    assert fits == []
    for _, check in checks:
        check()
    assert len(fits) == 2


def test_each_check_runs_on_its_own() -> None:
    # a method whose outputs are random breaks determinism, and so also gives other outputs after
    # saving and loading; every other check passes on it, each run alone
    expected = {"check_deterministic": "not deterministic", "check_save_load": "differs after saving and loading"}
    for name, check in detector_checks(Random):
        if name in expected:
            with pytest.raises(ConformanceError, match=expected[name]):
                check()
        else:
            check()


def test_parametrize_with_checks_names_each_test() -> None:
    mark = parametrize_with_checks([MeanAttributor])
    assert mark.args[0] == "check"
    ids = [param.id for param in mark.args[1]]
    assert ids[0] == "MeanAttributor-check_interface" and ids[-1] == "MeanAttributor-check_save_load"
    assert [param.id for param in parametrize_with_checks({"mean": MeanAttributor}).args[1]][0] == "mean-check_interface"


def test_set_params_sets_returns_self_and_refuses_unknown_names() -> None:
    method = MeanAttributor()
    assert method.set_params(scale=3.0) is method
    assert method.scale == 3.0 and method.get_params() == {"scale": 3.0}
    with pytest.raises(ValueError, match="invalid parameter 'shift'"):
        method.set_params(shift=1.0)


class Wrapper(Attributor):
    """An attributor whose hyperparameter is another estimator."""

    def __init__(self, inner: MeanAttributor | None = None, margin: float = 0.0) -> None:
        self.inner = inner
        self.margin = margin

    def fit(self, X, y):
        self.inner.fit(X, y)
        self.classes_ = self.inner.classes_
        return self

    def predict_proba(self, X):
        return self.inner.predict_proba(X)


def test_nested_parameters_read_and_set_as_scikit_learn() -> None:
    inner = MeanAttributor(scale=2.0)
    method = Wrapper(inner)
    assert method.get_params() == {"inner": inner, "margin": 0.0, "inner__scale": 2.0}
    assert method.get_params(deep=False) == {"inner": inner, "margin": 0.0}
    method.set_params(inner__scale=5.0, margin=1.0)
    assert inner.scale == 5.0 and method.margin == 1.0
    with pytest.raises(ValueError, match="invalid parameter 'bias'"):
        method.set_params(inner__bias=1.0)


def test_sklearn_clone_copies_hyperparameters_not_learned_state() -> None:
    from sklearn.base import clone

    X, y = synthetic_sources(6, image_size=16)
    fitted = Wrapper(MeanAttributor(scale=2.0), margin=0.5).fit(X, y)
    copy = clone(fitted)
    assert type(copy) is Wrapper and copy is not fitted and copy.margin == 0.5
    assert copy.inner is not fitted.inner and copy.inner.scale == 2.0
    assert not hasattr(copy, "classes_") and not hasattr(copy.inner, "means_")


def test_attack_set_params_refuses_what_init_refuses() -> None:
    attack = REGISTRY.get("attacks", "blur").factory()
    before = attack.get_params()
    with pytest.raises(ValueError, match="odd"):
        attack.set_params(kernel_size=4)
    assert attack.get_params() == before
    assert attack.set_params(kernel_size=5).kernel_size == 5
