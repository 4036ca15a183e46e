"""The method interfaces of DESIGN.md: Detector, Attributor, FingerprintDecoder, Attack.

They follow scikit-learn's conventions: hyperparameters are keyword arguments of ``__init__``
stored unchanged, learned state ends in ``_``, ``fit`` returns ``self``.
"""
from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import Any, Mapping

import numpy as np

from ganprint.images import check_images

REAL = "real"
UNKNOWN = "unknown"


class NotFittedError(ValueError, AttributeError):
    """Raised when a method that needs learned state is called before ``fit``."""


class Parametrised:
    """``get_params`` and ``set_params`` read from the ``__init__`` signature, as scikit-learn's
    ``BaseEstimator``, so ``sklearn.base.clone`` and scikit-learn's model selection work on every
    ganprint method. A hyperparameter holding an estimator exposes that estimator's own
    hyperparameters as ``<name>__<parameter>``."""

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def _store_init_arguments(self, arguments: Mapping[str, Any]) -> None:
        """Store every ``__init__`` parameter under its own name, unchanged, from ``arguments``
        (``locals()`` at the start of ``__init__``)."""
        for name in self._param_names():
            setattr(self, name, arguments[name])

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyperparameters as passed to ``__init__``; with ``deep``, also those of any
        hyperparameter that is itself an estimator, as ``<name>__<parameter>``."""
        params = {name: getattr(self, name) for name in self._param_names()}
        if deep:
            for name, value in list(params.items()):
                if hasattr(value, "get_params") and not isinstance(value, type):
                    params.update({f"{name}__{k}": v for k, v in value.get_params().items()})
        return params

    def set_params(self, **params: Any) -> "Parametrised":
        """Set hyperparameters by name (``<name>__<parameter>`` reaches into a hyperparameter that
        is an estimator); return ``self``. An unknown name raises ``ValueError``. Learned state is
        left as it is: fit again for the new values to take effect."""
        valid = self._param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, delimiter, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters are {valid}")
            if delimiter:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({params})"


def is_fitted(estimator: object) -> bool:
    """True once ``fit`` has set any attribute ending in ``_`` (scikit-learn's rule)."""
    return any(k.endswith("_") and not k.startswith("__") for k in vars(estimator))


def check_is_fitted(estimator: object) -> None:
    """Raise :class:`NotFittedError` with a clear message if ``estimator`` was not fitted."""
    if not is_fitted(estimator):
        raise NotFittedError(
            f"this {type(estimator).__name__} is not fitted yet: call fit(X, y) before using it"
        )


def check_known_labels(estimator: Any, y: np.ndarray) -> np.ndarray:
    """``y`` as a str array, once every label is among the fitted ``estimator.classes_`` (what a
    ``fine_tune(X, y)`` needs: it continues a model whose classes are fixed)."""
    check_is_fitted(estimator)
    y = np.asarray(y).astype(str)
    unknown = sorted(set(y.tolist()) - set(np.asarray(estimator.classes_).tolist()))
    if unknown:
        raise ValueError(f"labels {unknown} are not among the fitted classes {list(estimator.classes_)}")
    return y


class Detector(Parametrised, ABC):
    """Tells generated images from real ones.

    A subclass writes ``fit(X, y)`` (X a uint8 batch (N, H, W, 3), y the source labels, the real
    class being ``"real"``) and ``score(X) -> (N,) float``, higher meaning more likely generated.
    """

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray) -> "Detector":
        """Learn from images ``X`` with source labels ``y``; return ``self``."""

    @abstractmethod
    def score(self, X: np.ndarray) -> np.ndarray:
        """One float per image, higher = more likely generated."""


class Attributor(Detector):
    """Attributes an image to the source that made it (a GAN, or ``"real"``).

    A subclass writes ``fit(X, y)`` setting ``classes_`` and ``predict_proba(X)`` returning
    (N, len(classes_)) probabilities; ``predict``, ``score`` and ``confidence`` are derived.
    """

    classes_: np.ndarray

    @abstractmethod
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities (N, len(classes_)), each row summing to 1."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable source label of each image."""
        proba = self.predict_proba(X)
        return np.asarray(self.classes_)[np.argmax(proba, axis=1)]

    def score(self, X: np.ndarray) -> np.ndarray:
        """1 − P(real), or the largest generated-source probability when real is not a class."""
        proba = self.predict_proba(X)
        classes = list(self.classes_)
        if REAL in classes:
            return 1.0 - proba[:, classes.index(REAL)]
        return proba.max(axis=1)

    def confidence(self, X: np.ndarray) -> np.ndarray:
        """The largest class probability; open-world attribution rejects images below a threshold."""
        return self.predict_proba(X).max(axis=1)


class FingerprintDecoder(Parametrised, ABC):
    """Reads the artificial fingerprint bits hidden in images."""

    @abstractmethod
    def decode(self, X: np.ndarray) -> np.ndarray:
        """(N, n_bits) uint8 array of 0/1."""


class Attack(Parametrised, ABC):
    """An image perturbation: ``attack(X, rng)`` returns a new batch of the same shape and dtype.

    An attack never changes its input in place and is deterministic given ``rng``.
    """

    @abstractmethod
    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The attacked copy of the uint8 batch ``X``."""


__all__ = [
    "REAL",
    "UNKNOWN",
    "NotFittedError",
    "Parametrised",
    "is_fitted",
    "check_is_fitted",
    "check_images",
    "Detector",
    "Attributor",
    "FingerprintDecoder",
    "Attack",
]
