"""Figures and images as ``data:`` URIs, so the report page carries them inside itself."""
from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image

FIGURE_DPI = 110


def png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure_uri(figure: Any, dpi: int = FIGURE_DPI) -> str:
    """A matplotlib ``Figure`` as a PNG data URI (no metadata, so equal figures give equal bytes)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return png_uri(buffer.getvalue())


def image_uri(image: np.ndarray, max_side: int = 128) -> str:
    """A uint8 (H, W, 3) image as a PNG data URI, shrunk to at most ``max_side`` pixels a side."""
    picture = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    if max(picture.size) > max_side:
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return png_uri(buffer.getvalue())
