"""Additive Gaussian noise (Yu et al. 2019 §4.4; Yu et al. 2021 §4.6).

Random mode follows Yu 2019: i.i.d. Gaussian noise whose variance is drawn per image from
U[5, 20] on the 0–255 scale. Fixed mode (``std``) adds noise of one standard deviation, also on
the 0–255 scale (Yu 2021 sweeps it on the 0–1 scale: multiply by 255).
"""
from __future__ import annotations

import numpy as np

from ganprint.plugins.attacks.base import ImageAttack, check_interval, check_number, to_uint8

MAX_STD = 255.0


class GaussianNoise(ImageAttack):
    """Adds i.i.d. Gaussian noise; variance drawn from ``variance_range`` unless ``std`` is set."""

    strength_param = "std"

    def __init__(self, variance_range: tuple[float, float] = (5.0, 20.0), std: float | None = None) -> None:
        self.variance_range = variance_range
        self.std = std
        check_interval("variance_range", variance_range, 0.0, MAX_STD**2)
        if std is not None:
            check_number("std", std, 0.0, MAX_STD)

    def _attack_image(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        std = self.std if self.std is not None else np.sqrt(rng.uniform(*self.variance_range))
        return to_uint8(image + rng.normal(0.0, std, size=image.shape))
