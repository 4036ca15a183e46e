"""The Pillow and SciPy code that OpenCV replaced, kept as a reference: the parity tests check OpenCV
gives the same pixels, and ``tests/perf/test_perf_opencv.py`` times both sides."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import correlate1d

from ganprint.datasets.decode import to_rgb


def pillow_decode(path: Path) -> np.ndarray:
    """A file decoded by Pillow alone, by ganprint's conversion rule."""
    with Image.open(path) as image:
        image.load()
        return to_rgb(image)


def scipy_blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Separable correlation with mirrored borders in float64, rounded to uint8."""
    blurred = correlate1d(image.astype(np.float64), kernel, axis=0, mode="mirror")
    blurred = correlate1d(blurred, kernel, axis=1, mode="mirror")
    return np.clip(np.rint(blurred), 0, 255).astype(np.uint8)


def pillow_jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """A JPEG encode and decode by Pillow."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.uint8).copy()
