"""``check_detector``: a conformance check any plugin author can run, like scikit-learn's
``check_estimator``.

It fits the method on a small synthetic set (real-like smooth images and generated sources each
carrying a periodic pattern of its own) and checks the contract of DESIGN.md: hyperparameters
stored unchanged, a clear error before ``fit``, ``fit`` returning ``self``, output shapes and
types, probabilities summing to one, ``classes_`` set, inputs not mutated, and the same outputs
for the same seed.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ganprint.interfaces import (
    REAL,
    Attributor,
    Detector,
    FingerprintDecoder,
    NotFittedError,
    Parametrised,
)
from ganprint.seeding import seed_everything


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


def check_detector(
    factory: Callable[[], Any],
    *,
    n_per_source: int = 24,
    image_size: int = 32,
    seed: int = 0,
    atol: float = 1e-6,
) -> None:
    """Raise :class:`ConformanceError` naming the first rule ``factory()``'s method breaks."""
    method = factory()
    name = type(method).__name__
    if not isinstance(method, (Detector, FingerprintDecoder)):
        _fail(name, "must subclass ganprint.Detector, ganprint.Attributor or ganprint.FingerprintDecoder")
    if isinstance(method, Parametrised):
        try:
            params = method.get_params()
            clone = type(method)(**params)
        except (AttributeError, TypeError) as error:
            _fail(name, f"__init__ must store each keyword argument under its own name ({error})")
        if clone.get_params().keys() != params.keys():
            _fail(name, "get_params() differs after re-construction from get_params()")
    X, y = synthetic_sources(n_per_source, image_size, seed=seed)
    X_before, y_before = X.copy(), y.copy()

    if isinstance(method, Detector):
        try:
            method.score(X[:2])
        except NotFittedError:
            pass
        except Exception as error:
            _fail(name, f"score before fit must raise ganprint.NotFittedError, raised {type(error).__name__}: {error}")
        else:
            _fail(name, "score before fit must raise ganprint.NotFittedError, it returned")

    def fitted_outputs() -> dict[str, np.ndarray]:
        seed_everything(seed)
        fresh = factory()
        if hasattr(fresh, "fit"):
            if fresh.fit(X, y) is not fresh:
                _fail(name, "fit must return self")
        return fresh, _outputs(fresh, X)

    method, first = fitted_outputs()
    if not np.array_equal(X, X_before) or not np.array_equal(y, y_before):
        _fail(name, "fit or scoring changed its input arrays in place")
    n = len(X)
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

    _, second = fitted_outputs()
    for key, value in first.items():
        if not np.allclose(value, second[key], atol=atol, equal_nan=True):
            _fail(name, f"{key} differs between two fits with the same seed (not deterministic)")
