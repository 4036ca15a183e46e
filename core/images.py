"""Validation of image batches: numpy uint8 (N, H, W, 3) RGB, the data convention of DESIGN.md."""
from __future__ import annotations

import numpy as np


def check_images(X: object, *, name: str = "X") -> np.ndarray:
    """Return ``X`` as an ndarray after checking it is a uint8 RGB batch, or raise ``ValueError``.

    The message says what was expected and what was given, so a grayscale batch, a float batch
    or a single image are each told apart.
    """
    from ganprint.lazy_images import LazyImages

    if isinstance(X, LazyImages):  # read on demand; its shape and dtype say what it holds
        if len(X) == 0:
            raise ValueError(f"{name} is an empty batch")
        return X
    if not isinstance(X, np.ndarray):
        raise ValueError(f"{name} must be a numpy uint8 array of shape (N, H, W, 3); got {type(X).__name__}")
    if X.dtype != np.uint8:
        raise ValueError(f"{name} must have dtype uint8 (RGB on 0..255); got {X.dtype}")
    if X.ndim != 4:
        hint = " (a single image? add a batch axis)" if X.ndim == 3 else ""
        raise ValueError(f"{name} must have shape (N, H, W, 3); got {X.shape}{hint}")
    if X.shape[-1] != 3:
        hint = " (grayscale or RGBA: convert to RGB first)" if X.shape[-1] in (1, 2, 4) else ""
        raise ValueError(f"{name} must have 3 RGB channels in its last axis; got shape {X.shape}{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch")
    return X


def check_same_size(X: np.ndarray, size: tuple[int, int], *, name: str = "X") -> None:
    """Raise ``ValueError`` if the images of ``X`` are not ``size`` (height, width)."""
    if tuple(X.shape[1:3]) != tuple(size):
        raise ValueError(
            f"{name} holds {X.shape[1]}x{X.shape[2]} images but this model was fitted on "
            f"{size[0]}x{size[1]} images"
        )


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    """``image`` (uint8 RGB, (H, W, 3)) encoded as JPEG at ``quality`` by OpenCV (libjpeg, 4:2:0
    chroma subsampling) and decoded again. Shared by the JPEG attack and training-time JPEG."""
    import cv2

    bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError(f"OpenCV could not encode a {image.shape} image as JPEG")
    return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
