"""JPEG compression (Yu et al. 2019 §4.4; Yu et al. 2021 §4.6): a real encode and decode by OpenCV.

Random mode follows Yu 2019: the quality factor is drawn per image, uniformly among the integers
of [10, 75]. Fixed mode (``quality``) uses one quality (Yu 2021 sweeps 100 down to 10).
libjpeg's default 4:2:0 chroma subsampling applies, as in most JPEG encoders (and as in Pillow,
whose encode and decode give the same pixels).
"""
from __future__ import annotations

import numpy as np

from ganprint.images import jpeg_roundtrip
from ganprint.plugins.attacks.base import ImageAttack, check_interval, check_number


class JPEGCompression(ImageAttack):
    """JPEG encode/decode; quality drawn from ``quality_range`` unless ``quality`` is set."""

    strength_param = "quality"

    def __init__(self, quality_range: tuple[int, int] = (10, 75), quality: int | None = None) -> None:
        self.quality_range = quality_range
        self.quality = quality
        check_interval("quality_range", quality_range, 1, 100, integer=True)
        if quality is not None:
            check_number("quality", quality, 1, 100, integer=True)

    def _attack_image(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        low, high = self.quality_range
        quality = self.quality if self.quality is not None else int(rng.integers(low, high, endpoint=True))
        return jpeg_roundtrip(image, quality)
