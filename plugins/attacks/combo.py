"""The combination attack of Yu et al. 2019 §4.4.

Each image goes through relighting, cropping, blur, JPEG compression and noise, in that order,
each applied with probability ``probability`` (0.5 in the paper) and each in its random mode.
``probability`` is the strength a sweep varies.
"""
from __future__ import annotations

import numpy as np

from ganprint.plugins.attacks.base import ImageAttack, check_number
from ganprint.plugins.attacks.blur import GaussianBlur
from ganprint.plugins.attacks.crop import Crop
from ganprint.plugins.attacks.jpeg import JPEGCompression
from ganprint.plugins.attacks.noise import GaussianNoise
from ganprint.plugins.attacks.relight import Relight

STAGES = (Relight(), Crop(), GaussianBlur(), JPEGCompression(), GaussianNoise())


class Combination(ImageAttack):
    """Relight, crop, blur, JPEG, noise: each with probability ``probability``, in that order."""

    strength_param = "probability"

    def __init__(self, probability: float = 0.5) -> None:
        self.probability = probability
        check_number("probability", probability, 0.0, 1.0)

    def _attack_image(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        batch = image[None]
        for stage in STAGES:
            if rng.random() < self.probability:
                batch = stage(batch, rng)
        return batch[0]
