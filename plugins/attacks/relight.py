"""Relighting (Yu et al. 2019 §4.4), here a smooth random low-order illumination field.

The paper relights faces with SfSNet, replacing an image's lighting (second-order spherical
harmonics estimated from the face's shape) by a random one from SfSNet's lighting set. SfSNet's
model cannot ship with ganprint, so this attack is a stand-in working in the image plane: it
multiplies each image by a smooth gain field ``exp(s · F(u, v))`` where ``F`` is a random
polynomial of degree ≤ ``order`` in the normalised pixel coordinates (u, v) ∈ [−1, 1]², scaled
to zero mean and peak magnitude 1, and by a random per-channel colour gain ``exp(s · N(0, tint²))``.
Like the paper's relighting it perturbs only low-frequency image content; it does not model
shape, shadows or specular light.

Random mode draws the strength s per image from ``strength_range``; fixed mode (``strength``)
uses one s (the field's shape and the tint are still random); s = 0 leaves the image unchanged.
"""
from __future__ import annotations

import numpy as np

from ganprint.plugins.attacks.base import ImageAttack, check_interval, check_number, to_uint8

MAX_STRENGTH = 3.0
MAX_ORDER = 4


def illumination_field(height: int, width: int, order: int, rng: np.random.Generator) -> np.ndarray:
    """A random polynomial field of degree ≤ ``order`` with zero mean and peak magnitude 1."""
    v, u = np.meshgrid(np.linspace(-1.0, 1.0, height), np.linspace(-1.0, 1.0, width), indexing="ij")
    terms = [u**i * v**j for i in range(order + 1) for j in range(order + 1 - i) if i + j > 0]
    field = np.tensordot(rng.normal(size=len(terms)), np.stack(terms), axes=1)
    field -= field.mean()
    peak = np.abs(field).max()
    return field / peak if peak > 0 else field


class Relight(ImageAttack):
    """Multiplies by a smooth random illumination field (a stand-in for SfSNet relighting)."""

    strength_param = "strength"

    def __init__(
        self,
        strength_range: tuple[float, float] = (0.2, 0.6),
        strength: float | None = None,
        order: int = 2,
        tint: float = 0.1,
    ) -> None:
        self.strength_range = strength_range
        self.strength = strength
        self.order = order
        self.tint = tint
        check_interval("strength_range", strength_range, 0.0, MAX_STRENGTH)
        if strength is not None:
            check_number("strength", strength, 0.0, MAX_STRENGTH)
        check_number("order", order, 1, MAX_ORDER, integer=True)
        check_number("tint", tint, 0.0, 1.0)

    def _attack_image(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        strength = self.strength if self.strength is not None else rng.uniform(*self.strength_range)
        field = illumination_field(image.shape[0], image.shape[1], self.order, rng)
        colour = np.exp(strength * rng.normal(0.0, self.tint, size=3))
        gain = np.exp(strength * field)[:, :, None] * colour
        return to_uint8(image * gain)
