"""Cropping resized back to the original size (Yu et al. 2019 §4.4; Yu et al. 2021 §4.6).

Random mode follows Yu 2019: per image an offset fraction f is drawn from U[0.05, 0.20]; a window
of (1 − f) times each side is cut at a random position and resized back to the original size
(bilinear).
Fixed mode (``size``) cuts the centred ``size`` × ``size`` window, as Yu 2021's centre cropping,
whose sweep runs from 128 (no crop) down.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from ganprint.plugins.attacks.base import ImageAttack, check_interval, check_number

MAX_SIZE = 1 << 16


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """``image`` resized to ``height`` × ``width`` with bilinear interpolation."""
    if image.shape[:2] == (height, width):
        return image.copy()
    resized = Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.uint8).copy()


class Crop(ImageAttack):
    """Crops a window and resizes it back: random offset from ``offset_range`` unless ``size`` is set."""

    strength_param = "size"

    def __init__(self, offset_range: tuple[float, float] = (0.05, 0.20), size: int | None = None) -> None:
        self.offset_range = offset_range
        self.size = size
        check_interval("offset_range", offset_range, 0.0, 0.95)
        if size is not None:
            check_number("size", size, 1, MAX_SIZE, integer=True)

    def _attack_image(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        height, width = image.shape[:2]
        if self.size is not None:
            if self.size > min(height, width):
                raise ValueError(f"crop size {self.size} exceeds the {height}x{width} image")
            top, left = (height - self.size) // 2, (width - self.size) // 2
            window = image[top:top + self.size, left:left + self.size]
        else:
            keep = 1.0 - rng.uniform(*self.offset_range)
            crop_h, crop_w = max(1, round(keep * height)), max(1, round(keep * width))
            top = int(rng.integers(0, height - crop_h, endpoint=True))
            left = int(rng.integers(0, width - crop_w, endpoint=True))
            window = image[top:top + crop_h, left:left + crop_w]
        return resize(np.ascontiguousarray(window), height, width)
