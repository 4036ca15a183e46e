"""A PNG contact sheet of images, for looking at samples (``bench data show``, zoo training)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ganprint.atomic import save_image


def save_grid(images: np.ndarray, path: Path, columns: int = 8, scale: int = 2) -> Path:
    """Write uint8 (N, S, S, 3) ``images`` as a grid (1-pixel gaps, each image enlarged ``scale``×
    by pixel repetition so artefacts stay visible)."""
    n, s = len(images), images.shape[1]
    rows = max(1, -(-n // columns))
    sheet = np.full((rows * (s + 1) + 1, columns * (s + 1) + 1, 3), 255, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        sheet[1 + r * (s + 1):1 + r * (s + 1) + s, 1 + c * (s + 1):1 + c * (s + 1) + s] = image
    sheet = sheet.repeat(scale, axis=0).repeat(scale, axis=1)
    return save_image(Image.fromarray(sheet), path)
