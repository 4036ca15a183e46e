"""The base of the image attacks of Yu et al. 2019 §4.4: one perturbation drawn per image.

An :class:`ImageAttack` validates its parameters when built, checks the batch, and attacks each
image on its own with parameters drawn from the given generator, in image order, so the same
generator state gives the same output. The input batch is never written to.

Each attack has a *random* mode (the paper's: a strength drawn per image from a range) and a
*fixed* mode for sweeps (Yu et al. 2021 §4.6): setting the parameter named by the class
attribute ``strength_param`` applies that one strength to every image.
"""
from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np

from ganprint import Attack
from ganprint.images import check_images


def check_number(name: str, value: object, low: float, high: float, *, integer: bool = False) -> None:
    """Raise ``ValueError`` unless ``low <= value <= high`` (and an integer when ``integer``)."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind} in [{low}, {high}]; got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}]; got {value!r}")


def check_interval(name: str, interval: object, low: float, high: float, *, integer: bool = False) -> None:
    """Raise ``ValueError`` unless ``interval`` is a pair ``(a, b)`` with ``low <= a <= b <= high``."""
    if not isinstance(interval, (tuple, list)) or len(interval) != 2:
        raise ValueError(f"{name} must be a pair (low, high); got {interval!r}")
    for value in interval:
        check_number(name, value, low, high, integer=integer)
    if interval[0] > interval[1]:
        raise ValueError(f"{name} must be (low, high) with low <= high; got {interval!r}")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """A float image rounded and clipped onto 0..255."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


class ImageAttack(Attack):
    """An attack applied image by image; a subclass writes ``_attack_image``."""

    strength_param: ClassVar[str]

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        check_images(X)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
        out = np.empty_like(X)
        for i, image in enumerate(X):
            out[i] = self._attack_image(image, rng)
        return out

    def set_params(self, **params: Any) -> "ImageAttack":
        """``Parametrised.set_params``, refusing with ``ValueError`` any value ``__init__`` refuses,
        before anything changes."""
        if set(params) <= set(self._param_names()):
            type(self)(**{**self.get_params(deep=False), **params})
        return super().set_params(**params)

    @abstractmethod
    def _attack_image(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The attacked copy of one uint8 (H, W, 3) image."""
