"""Reading image files into uint8 RGB, by one documented rule.

Conversion (Pillow):
- grayscale (L, 1) → the gray value copied into R, G and B;
- palette (P) → the palette's RGB colours (transparency dropped);
- RGBA, LA, PA → alpha dropped, the colour kept as stored (not blended: blending would change
  the pixels a forensic method looks at);
- 16-bit (I;16, I;16B, I) → scaled to 8 bits by value × 255 / 65535, rounded; 32-bit float (F)
  → clipped to 0..255; CMYK, YCbCr, LAB, HSV → Pillow's conversion to RGB.

Size: an image of another size is centre-cropped to a square of its shorter side, then resized
to the target side with Pillow's area-averaging (``Image.Resampling.BOX``) when shrinking or
bicubic when enlarging.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm"}


class UnreadableImage(ValueError):
    """A file that is not an image, or is truncated or corrupt."""


def to_rgb(image: Image.Image) -> np.ndarray:
    """A Pillow image of any mode as uint8 (H, W, 3), by the module's conversion rule."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        values = np.asarray(image, dtype=np.float64)
        if mode == "I" and values.max(initial=0) <= 255:
            gray = values
        else:
            gray = values * 255.0 / 65535.0
        gray = np.clip(np.rint(gray), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "F":
        gray = np.clip(np.rint(np.asarray(image, dtype=np.float64)), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode in ("RGBA", "RGBa", "RGBX"):
        return np.asarray(image)[:, :, :3].copy()
    if mode in ("LA", "La"):
        image = image.getchannel("L")
    elif mode == "PA":
        image = image.convert("RGBA")
        return np.asarray(image)[:, :, :3].copy()
    return np.asarray(image.convert("RGB"))


def fit_to_size(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop to a square of the shorter side, then resize to ``size``×``size``."""
    h, w = rgb.shape[:2]
    if (h, w) == (size, size):
        return rgb
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = rgb[top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(square)
    resample = Image.Resampling.BOX if side > size else Image.Resampling.BICUBIC
    return np.asarray(Image.fromarray(square).resize((size, size), resample))


def read_image(path: Path, size: int | None = None) -> np.ndarray:
    """Decode ``path`` to uint8 RGB (H, W, 3), fitted to ``size`` if given; raise UnreadableImage."""
    try:
        with Image.open(path) as image:
            image.load()
            rgb = to_rgb(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UnreadableImage(f"{type(error).__name__}: {error}") from error
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise UnreadableImage(f"unexpected decoded shape {rgb.shape}")
    return rgb if size is None else fit_to_size(rgb, size)


def header_size(path: Path) -> tuple[int, int]:
    """(height, width) from the file header, without decoding the pixels."""
    try:
        with Image.open(path) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UnreadableImage(f"{type(error).__name__}: {error}") from error
    return height, width
