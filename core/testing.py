"""Conformance checks any plugin author can run, in the spirit of scikit-learn's
``check_estimator`` and ``parametrize_with_checks``.

Each check tests one rule of DESIGN.md's contract on a method built by a factory and fitted on a
small synthetic set (real-like smooth images and generated sources each carrying a periodic
pattern of its own), and raises :class:`ConformanceError` naming the rule it finds broken:

- ``check_interface``: the method subclasses Detector, Attributor or FingerprintDecoder;
- ``check_init_params``: ``__init__`` stores each keyword argument under its own name;
- ``check_set_params``: ``set_params`` sets hyperparameters, returns ``self`` and refuses unknown names;
- ``check_not_fitted``: ``score`` before ``fit`` raises ``ganprint.NotFittedError``;
- ``check_fit_returns_self``: ``fit`` returns the method itself;
- ``check_inputs_unchanged``: fitting and scoring leave their input arrays as they were;
- ``check_outputs``: output shapes and types, ``classes_`` set to the training labels,
  probabilities summing to one;
- ``check_clone``: ``sklearn.base.clone`` gives a new, unfitted method with the same hyperparameters;
- ``check_deterministic``: two fits with the same seed give the same outputs;
- ``check_save_load``: a fitted method saved by :func:`ganprint.save` and loaded by
  :func:`ganprint.load` (registered in a registry of its own) gives bitwise the same outputs.

Three ways to run them::

    check_detector(MyMethod)                        # all, raising on the first broken rule

    for name, check in detector_checks(MyMethod):   # one by one
        check()

    @parametrize_with_checks([MyMethod])            # one pytest test per method and check
    def test_conforms(check):
        check()

The checks of one :func:`detector_checks` call share its fits (at most two), made by the first
check that needs them.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import numpy as np

from ganprint.interfaces import (
    REAL,
    Attributor,
    Detector,
    FingerprintDecoder,
    NotFittedError,
    Parametrised,
    is_fitted,
)
from ganprint.seeding import seed_everything

Factory = Callable[[], Any]
Check = Callable[[], None]


class ConformanceError(AssertionError):
    """A plugin broke the contract; the message says which rule and how."""


def synthetic_sources(
    n_per_source: int = 24, image_size: int = 32, n_generated: int = 2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels: ``real`` (smooth random fields) and ``gen0``.. each with its own pattern."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    yy, xx = np.mgrid[0:image_size, 0:image_size]
    for k, source in enumerate([REAL] + [f"gen{i}" for i in range(n_generated)]):
        coarse = rng.uniform(40, 215, size=(n_per_source, 4, 4, 3))
        smooth = np.kron(coarse, np.ones((1, image_size // 4, image_size // 4, 1)))
        noise = rng.normal(0, 4, size=smooth.shape)
        if source != REAL:
            period = 2 + k
            pattern = 12 * np.sin(2 * np.pi * (xx * k + yy) / period)[None, :, :, None]
            smooth = smooth + pattern
        images.append(np.clip(smooth + noise, 0, 255).astype(np.uint8))
        labels += [source] * n_per_source
    return np.concatenate(images), np.array(labels)


def _fail(name: str, rule: str) -> None:
    raise ConformanceError(f"{name}: {rule}")


def _outputs(method: Any, X: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    if isinstance(method, Detector):
        out["score"] = np.asarray(method.score(X))
    if isinstance(method, Attributor):
        out["predict_proba"] = np.asarray(method.predict_proba(X))
        out["confidence"] = np.asarray(method.confidence(X))
    if isinstance(method, FingerprintDecoder):
        out["decode"] = np.asarray(method.decode(X))
    return out


class _Fit:
    """One seeded fit of a fresh method on the synthetic set, and its outputs on that set."""

    def __init__(self, factory: Factory, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        self.X, self.y = X.copy(), y.copy()
        seed_everything(seed)
        self.method = factory()
        self.returned_self = True
        if hasattr(self.method, "fit"):
            self.returned_self = self.method.fit(self.X, self.y) is self.method
        self.outputs = _outputs(self.method, self.X)


class _Fits:
    """The (at most two) fits the checks of one factory share, made when first asked for."""

    def __init__(self, factory: Factory, X: np.ndarray, y: np.ndarray, seed: int) -> None:
        self.factory, self.X, self.y, self.seed = factory, X, y, seed
        self._fits: dict[int, _Fit] = {}

    def __getitem__(self, index: int) -> _Fit:
        if index not in self._fits:
            self._fits[index] = _Fit(self.factory, self.X, self.y, self.seed)
        return self._fits[index]


def detector_checks(
    factory: Factory,
    *,
    n_per_source: int = 24,
    image_size: int = 32,
    seed: int = 0,
    atol: float = 1e-6,
) -> list[tuple[str, Check]]:
    """The conformance checks of ``factory()``'s method as (name, check) pairs, in the order
    :func:`check_detector` runs them. A check takes no argument and raises
    :class:`ConformanceError` naming the rule it finds broken; nothing runs until it is called."""
    X, y = synthetic_sources(n_per_source, image_size, seed=seed)
    fits = _Fits(factory, X, y, seed)
    n = len(X)

    def check_interface() -> None:
        method = factory()
        if not isinstance(method, (Detector, FingerprintDecoder)):
            _fail(type(method).__name__,
                  "must subclass ganprint.Detector, ganprint.Attributor or ganprint.FingerprintDecoder")

    def check_init_params() -> None:
        method = factory()
        name = type(method).__name__
        if not isinstance(method, Parametrised):
            return
        try:
            params = method.get_params(deep=False)
            rebuilt = type(method)(**params)
            rebuilt_params = rebuilt.get_params(deep=False)
        except (AttributeError, TypeError) as error:
            _fail(name, f"__init__ must store each keyword argument under its own name ({error})")
        if rebuilt_params.keys() != params.keys():
            _fail(name, "get_params() differs after re-construction from get_params()")

    def check_set_params() -> None:
        method = factory()
        name = type(method).__name__
        if not callable(getattr(method, "set_params", None)):
            _fail(name, "must have set_params(**params) returning self (subclass ganprint.Detector)")
        params = method.get_params(deep=False)
        if method.set_params(**params) is not method:
            _fail(name, "set_params must return self")
        sentinel = object()
        for key, value in params.items():
            try:
                method.set_params(**{key: sentinel})
            except (ValueError, TypeError):
                continue  # refusing a value it cannot take is allowed
            if method.get_params(deep=False)[key] is not sentinel:
                _fail(name, f"set_params({key}=...) must store the value get_params returns")
            method.set_params(**{key: value})
        try:
            method.set_params(not_a_parameter_of_this_method=1)
        except ValueError:
            pass
        else:
            _fail(name, "set_params with an unknown name must raise ValueError")

    def check_not_fitted() -> None:
        method = factory()
        if not isinstance(method, Detector):
            return
        name = type(method).__name__
        try:
            method.score(X[:2])
        except NotFittedError:
            pass
        except Exception as error:
            _fail(name, f"score before fit must raise ganprint.NotFittedError, raised {type(error).__name__}: {error}")
        else:
            _fail(name, "score before fit must raise ganprint.NotFittedError, it returned")

    def check_fit_returns_self() -> None:
        if not fits[0].returned_self:
            _fail(type(fits[0].method).__name__, "fit must return self")

    def check_inputs_unchanged() -> None:
        fit = fits[0]
        if not np.array_equal(fit.X, X) or not np.array_equal(fit.y, y):
            _fail(type(fit.method).__name__, "fit or scoring changed its input arrays in place")

    def check_outputs() -> None:
        fit = fits[0]
        method, first, name = fit.method, fit.outputs, type(fit.method).__name__
        if "score" in first:
            s = first["score"]
            if s.shape != (n,) or not np.issubdtype(s.dtype, np.floating) or not np.isfinite(s).all():
                _fail(name, f"score must return ({n},) finite floats; got {s.dtype} {s.shape}")
        if isinstance(method, Attributor):
            classes = getattr(method, "classes_", None)
            if classes is None:
                _fail(name, "fit must set classes_")
            if set(np.asarray(classes).tolist()) != set(y.tolist()):
                _fail(name, f"classes_ {list(classes)} must be the training labels {sorted(set(y.tolist()))}")
            p = first["predict_proba"]
            if p.shape != (n, len(classes)):
                _fail(name, f"predict_proba must return ({n}, {len(classes)}); got {p.shape}")
            if (p < -atol).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
                _fail(name, "predict_proba rows must be non-negative and sum to 1")
            predicted = np.asarray(method.predict(X))
            if predicted.shape != (n,) or not np.isin(predicted, classes).all():
                _fail(name, "predict must return one label of classes_ per image")
            if first["confidence"].shape != (n,):
                _fail(name, f"confidence must return ({n},); got {first['confidence'].shape}")
        if "decode" in first:
            bits = first["decode"]
            if bits.ndim != 2 or bits.shape[0] != n or bits.dtype != np.uint8 or not np.isin(bits, (0, 1)).all():
                _fail(name, f"decode must return ({n}, n_bits) uint8 of 0/1; got {bits.dtype} {bits.shape}")

    def check_clone() -> None:
        from sklearn.base import clone

        for method, when in ((factory(), "an unfitted"), (fits[0].method, "a fitted")):
            name = type(method).__name__
            try:
                copy = clone(method)
            except (RuntimeError, TypeError, AttributeError) as error:
                _fail(name, f"sklearn.base.clone of {when} method failed: {error}")
            if type(copy) is not type(method) or copy is method:
                _fail(name, f"sklearn.base.clone of {when} method must give a new {name}")
            if copy.get_params(deep=False).keys() != method.get_params(deep=False).keys():
                _fail(name, f"sklearn.base.clone of {when} method must keep its hyperparameters")
            if is_fitted(copy):
                _fail(name, f"sklearn.base.clone of {when} method must be unfitted (no attribute ending in _)")

    def check_deterministic() -> None:
        first, second = fits[0], fits[1]
        for key, value in first.outputs.items():
            if not np.allclose(value, second.outputs[key], atol=atol, equal_nan=True):
                _fail(type(first.method).__name__, f"{key} differs between two fits with the same seed (not deterministic)")

    def check_save_load() -> None:
        fit = fits[0]
        name = type(fit.method).__name__
        try:
            loaded = save_and_load(fit.method, factory)
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            _fail(name, f"saving and loading the fitted method failed: {type(error).__name__}: {error}")
        again = _outputs(loaded, X)
        for key, value in fit.outputs.items():
            if again[key].dtype != value.dtype or not np.array_equal(again[key], value, equal_nan=True):
                _fail(name, f"{key} differs after saving and loading (the saved state is incomplete)")

    return [(check.__name__, check) for check in (
        check_interface, check_init_params, check_set_params, check_not_fitted, check_fit_returns_self,
        check_inputs_unchanged, check_outputs, check_clone, check_deterministic, check_save_load)]


def save_and_load(method: Any, factory: Factory) -> Any:
    """``method`` saved into a temporary folder and loaded back, through a registry holding only
    ``factory`` (so any method can take the round trip, registered or not)."""
    import tempfile

    from ganprint.hookspecs import hookimpl
    from ganprint.registry import load_registry
    from ganprint.saving import load, save
    from ganprint.specs import DetectorSpec

    class _Plugin:
        @hookimpl
        def ganprint_detectors(self) -> list[DetectorSpec]:
            return [DetectorSpec("checked", factory, "the method under check")]

    registry = load_registry(entry_points=[], modules=[("checked", _Plugin())])
    with tempfile.TemporaryDirectory() as folder:
        save(method, f"{folder}/saved", name="checked", registry=registry)
        return load(f"{folder}/saved", registry=registry)


def check_detector(factory: Factory, **options: Any) -> None:
    """Run every check of :func:`detector_checks` in order; raise :class:`ConformanceError`
    naming the first rule ``factory()``'s method breaks. ``options``: ``n_per_source``,
    ``image_size``, ``seed``, ``atol``."""
    for _, check in detector_checks(factory, **options):
        check()


def _label(factory: Factory) -> str:
    inner = getattr(factory, "func", factory)
    return getattr(inner, "__name__", type(inner).__name__)


def parametrize_with_checks(factories: Iterable[Factory] | Mapping[str, Factory], **options: Any) -> Any:
    """A ``pytest.mark.parametrize`` decorator giving a test one ``check`` argument per (factory,
    check) pair, with ids ``<factory>-<check name>``. ``factories`` is a list of factories (named
    after the class or function) or a mapping from a name to a factory; ``options`` go to
    :func:`detector_checks`."""
    import pytest

    labelled = factories.items() if isinstance(factories, Mapping) else [(_label(f), f) for f in factories]
    return pytest.mark.parametrize("check", [
        pytest.param(check, id=f"{label}-{name}")
        for label, factory in labelled for name, check in detector_checks(factory, **options)])
