"""The Laplacian pyramid of Burt and Adelson (1983) with the 5-tap binomial filter, on numpy arrays.

Each level is the image minus the expansion of its reduced copy; the last level is what remains
after the last reduction (the Gaussian residual). REDUCE is the binomial blur followed by keeping
every second row and column; EXPAND inserts zeros between the samples, blurs and multiplies by 4.
Filtering runs over the last two axes of any float array, in its own dtype, so (N, H, W) luminance
and (N, C, H, W) colour batches alike. Used by the sliced Wasserstein distance of
:mod:`ganprint.datasets.swd` and by the cnn plugin's perceptual distance.

Borders: ``"reflect"`` mirrors about the edge sample (``d c b | a b c d``), ``"symmetric"``
repeats it (``b a | a b c d``), as ``numpy.pad``'s modes of those names.
"""
from __future__ import annotations

import numpy as np

BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
BORDERS = ("reflect", "symmetric")


def binomial_blur(x: np.ndarray, border: str = "reflect") -> np.ndarray:
    """The separable 5-tap binomial blur of ``x`` over its last two axes, in ``x``'s dtype."""
    if border not in BORDERS:
        raise ValueError(f"border must be one of {BORDERS}; got {border!r}")
    kernel = BINOMIAL.astype(x.dtype)
    height, width = x.shape[-2:]
    padded = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(2, 2), (2, 2)], mode=border)
    rows = sum(kernel[i] * padded[..., i:i + height, :] for i in range(5))
    return sum(kernel[i] * rows[..., :, i:i + width] for i in range(5))


def reduce(x: np.ndarray, border: str = "reflect") -> np.ndarray:
    """Blur, then every second row and column (REDUCE)."""
    return binomial_blur(x, border)[..., ::2, ::2]


def expand(x: np.ndarray, shape: tuple[int, ...], border: str = "reflect") -> np.ndarray:
    """``x`` brought back to the finer ``shape``: zeros between the samples, blurred, times 4 (EXPAND)."""
    up = np.zeros(shape, x.dtype)
    up[..., ::2, ::2] = x
    return binomial_blur(up, border) * 4


def laplacian_pyramid(x: np.ndarray, min_size: int, border: str = "reflect") -> list[np.ndarray]:
    """The levels of ``x`` (a float array, filtered over its last two axes), finest first: a band
    ``x − EXPAND(REDUCE(x))`` while the smaller side exceeds ``min_size``, then the residual."""
    levels = []
    while min(x.shape[-2:]) > min_size:
        low = reduce(x, border)
        levels.append(x - expand(low, x.shape, border))
        x = low
    levels.append(x)
    return levels
