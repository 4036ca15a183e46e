"""Reading image files into uint8 RGB, by one documented rule.

Conversion (Pillow's reading of the file):
- grayscale (L, 1) → the gray value copied into R, G and B;
- palette (P) → the palette's RGB colours (transparency dropped);
- RGBA, LA, PA → alpha dropped, the colour kept as stored (not blended: blending would change
  the pixels a forensic method looks at);
- 16-bit (I;16, I;16B, I) → scaled to 8 bits by value × 255 / 65535, rounded; 32-bit float (F)
  → clipped to 0..255; CMYK, YCbCr, LAB, HSV → Pillow's conversion to RGB.
- EXIF orientation is not applied: pixels are taken as stored.

Codec: OpenCV decodes the files it reads to exactly these pixels (8-bit RGB, L, RGBA, LA and P
images in PNG, JPEG, BMP, WebP and PNM, single frame; OpenCV's BGR is turned into RGB here);
Pillow decodes everything else, and any file OpenCV refuses (so a truncated or corrupt file
gets Pillow's verdict and message). ``tests/test_decode.py`` checks the two codecs agree
pixel for pixel on every such kind of file.

Size: an image of another size is centre-cropped to a square of its shorter side, then resized
to the target side with Pillow's area-averaging (``Image.Resampling.BOX``) when shrinking or
bicubic when enlarging (:func:`fit_to_size`; other rules: :mod:`ganprint.datasets.size_policy`).

Decompression bombs: an image whose header announces more pixels than Pillow's
``Image.MAX_IMAGE_PIXELS`` is unreadable (:class:`UnreadableImage`), never decoded.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm"}
OPENCV_FORMATS = {"PNG", "JPEG", "BMP", "WEBP", "PPM"}
OPENCV_MODES = {"RGB", "L", "RGBA", "LA", "P"}
_PILLOW_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError)


class UnreadableImage(ValueError):
    """A file that is not an image, or is truncated, corrupt or a decompression bomb."""


@dataclass(frozen=True)
class ImageHeader:
    """What a file's header says, read without decoding the pixels (``frames``: counted for the
    formats OpenCV may decode, 1 for the others)."""

    height: int
    width: int
    mode: str
    format: str | None
    frames: int = 1

    @property
    def opencv_decodes(self) -> bool:
        """True when OpenCV decodes this file to the pixels of the module's rule."""
        return self.format in OPENCV_FORMATS and self.mode in OPENCV_MODES and self.frames == 1


def _describe(error: BaseException) -> str:
    if isinstance(error, Image.DecompressionBombError):
        return f"decompression bomb: {error}"
    return f"{type(error).__name__}: {error}"


def _check_pixels(width: int, height: int) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        raise UnreadableImage(f"decompression bomb: {width}x{height} = {width * height} pixels is over "
                              f"the limit of {limit} (PIL.Image.MAX_IMAGE_PIXELS)")


def read_header(path: Path | str) -> ImageHeader:
    """Size, mode, format and frame count from the file header; raise UnreadableImage."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            # frames only where OpenCV may decode (a GIF's frame count would mean reading it all)
            frames = getattr(image, "n_frames", 1) if image.format in OPENCV_FORMATS else 1
            header = ImageHeader(height, width, image.mode, image.format, frames)
    except _PILLOW_ERRORS as error:
        raise UnreadableImage(_describe(error)) from error
    _check_pixels(width, height)
    return header


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


@lru_cache(maxsize=1)
def _opencv() -> Any:
    """OpenCV, imported on first use, its log silenced (a refused file falls back to Pillow)."""
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    return cv2


def _opencv_rgb(path: Path | str) -> np.ndarray | None:
    cv2 = _opencv()
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return None
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
        return None
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _pillow_rgb(path: Path | str) -> np.ndarray:
    try:
        with Image.open(path) as image:
            _check_pixels(*image.size)
            image.load()
            return to_rgb(image)
    except UnreadableImage:
        raise
    except _PILLOW_ERRORS as error:
        raise UnreadableImage(_describe(error)) from error


def decode_rgb(path: Path | str, header: ImageHeader | None = None) -> np.ndarray:
    """Decode ``path`` to uint8 RGB (H, W, 3) at its own size; raise UnreadableImage.

    ``header`` (from :func:`read_header`, e.g. kept by an index) saves reading it again.
    """
    header = header if header is not None else read_header(path)
    rgb = _opencv_rgb(path) if header.opencv_decodes else None
    if rgb is None:
        rgb = _pillow_rgb(path)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 1:
        raise UnreadableImage(f"unexpected decoded shape {rgb.shape}")
    return rgb


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
    return np.asarray(Image.fromarray(np.ascontiguousarray(square)).resize((size, size), resample))


def read_image(path: Path | str, size: int | None = None) -> np.ndarray:
    """Decode ``path`` to uint8 RGB (H, W, 3), fitted to ``size`` if given; raise UnreadableImage."""
    rgb = decode_rgb(path)
    return rgb if size is None else fit_to_size(rgb, size)
