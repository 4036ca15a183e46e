"""Sliced Wasserstein distance between two sets of images, the metric of Karras et al. 2018
(Progressive Growing of GANs, ICLR 2018, §5 and appendix D).

Each image is decomposed into a Laplacian pyramid (5-tap binomial filter, down to 16×16; the
coarsest level is the Gaussian residual). From every level, ``patches_per_image`` random 7×7
neighbourhoods are taken as 147-dimensional descriptors; each descriptor set is normalised per
colour channel (mean and standard deviation over the set). The distance per level is the sliced
Wasserstein distance of the two descriptor sets: ``repeats`` draws of ``directions`` random unit
directions, the projections of each set sorted and compared by mean absolute difference. The
reported figure is the mean over levels, multiplied by 10³ as in the paper's tables.

Both sets must have the same number of images (the 1-D distance compares sorted projections one
to one). The noise floor depends on the number of images, so only compare figures computed with
the same sizes.
"""
from __future__ import annotations

import numpy as np

from ganprint import pyramid

NEIGHBOURHOOD = 7
MIN_RESOLUTION = 16


def laplacian_pyramid(images: np.ndarray) -> list[np.ndarray]:
    """uint8 (N, H, W, 3) → float32 levels (N, 3, h, w), finest first, down to 16×16."""
    return pyramid.laplacian_pyramid(images.transpose(0, 3, 1, 2).astype(np.float32), MIN_RESOLUTION, "reflect")


def _descriptors(level: np.ndarray, patches_per_image: int, rng: np.random.Generator) -> np.ndarray:
    n, c, h, w = level.shape
    windows = np.lib.stride_tricks.sliding_window_view(level, (NEIGHBOURHOOD, NEIGHBOURHOOD), axis=(2, 3))
    ys = rng.integers(0, h - NEIGHBOURHOOD + 1, size=(n, patches_per_image))
    xs = rng.integers(0, w - NEIGHBOURHOOD + 1, size=(n, patches_per_image))
    patches = windows[np.arange(n)[:, None], :, ys, xs]  # (n, p, c, 7, 7)
    patches = patches.reshape(n * patches_per_image, c, -1)
    patches = (patches - patches.mean(axis=(0, 2), keepdims=True)) / (patches.std(axis=(0, 2), keepdims=True) + 1e-8)
    return patches.reshape(len(patches), -1)


def _sliced_wasserstein(a: np.ndarray, b: np.ndarray, directions: int, repeats: int,
                        rng: np.random.Generator) -> float:
    results = []
    for _ in range(repeats):
        dirs = rng.standard_normal((a.shape[1], directions)).astype(np.float32)
        dirs /= np.linalg.norm(dirs, axis=0, keepdims=True)
        pa = np.sort(dirs.T @ a.T, axis=1)
        pb = np.sort(dirs.T @ b.T, axis=1)
        results.append(float(np.abs(pa - pb).mean()))
    return float(np.mean(results))


def swd_levels(a: np.ndarray, b: np.ndarray, *, patches_per_image: int = 64, directions: int = 128,
               repeats: int = 4, seed: int = 0) -> list[float]:
    """SWD ×10³ per pyramid level (finest first) between uint8 image sets ``a`` and ``b``."""
    if a.shape != b.shape:
        raise ValueError(f"SWD needs two image sets of the same shape; got {a.shape} and {b.shape}")
    rng = np.random.default_rng(seed)
    out = []
    for la, lb in zip(laplacian_pyramid(a), laplacian_pyramid(b)):
        da = _descriptors(la, patches_per_image, rng)
        db = _descriptors(lb, patches_per_image, rng)
        out.append(1e3 * _sliced_wasserstein(da, db, directions, repeats, rng))
    return out


def swd(a: np.ndarray, b: np.ndarray, **kwargs) -> float:
    """SWD ×10³ between uint8 image sets ``a`` and ``b``, averaged over pyramid levels."""
    return float(np.mean(swd_levels(a, b, **kwargs)))
