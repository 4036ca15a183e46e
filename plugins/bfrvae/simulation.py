"""The simulation of Ding, Thakur and Li §4: real photos carrying additive 2-D sine-wave
"fingerprints", one orientation per set, with Gaussian noise added to each image's fingerprint.

Scaled to ganprint: the base images are random 32×32 crops of scikit-image's bundled photos (no
download) instead of 128×128 CelebA faces, and the strengths are given per pixel on the 0-255 scale
(``amplitude`` of the sine, ``noise_std`` of its per-image noise; the paper's L2 norms of 0.2 and
0.1 keep the same 2:1 ratio of fingerprint to fingerprint noise).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def sine_fingerprint(orientation_degrees: float, size: int, period: float) -> np.ndarray:
    """A (size, size) unit-amplitude plane wave of the given orientation and period in pixels."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    theta = np.deg2rad(orientation_degrees)
    return np.sin(2 * np.pi * (xx * np.cos(theta) + yy * np.sin(theta)) / period)


def photo_crops(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random (size, size, 3) uint8 crops of scikit-image's example photos."""
    import skimage.data

    photos = [getattr(skimage.data, name)() for name in PHOTOS]
    crops = np.empty((n, size, size, 3), dtype=np.uint8)
    for i in range(n):
        photo = photos[rng.integers(len(photos))]
        top = rng.integers(photo.shape[0] - size + 1)
        left = rng.integers(photo.shape[1] - size + 1)
        crops[i] = photo[top:top + size, left:left + size, :3]
    return crops


def simulated_sources(
    n_per_source: int,
    orientations: Sequence[float] = (0.0, 60.0, 120.0),
    *,
    size: int = 32,
    period: float = 6.0,
    amplitude: float = 8.0,
    noise_std: float = 2.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels ``set0``, ``set1``...: photo crops plus the sine fingerprint of their set."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for k, orientation in enumerate(orientations):
        base = photo_crops(n_per_source, size, rng).astype(np.float64)
        wave = amplitude * sine_fingerprint(orientation, size, period)
        fingerprint = wave[None, :, :, None] + rng.normal(0, noise_std, size=(n_per_source, size, size, 1))
        images.append(np.clip(np.round(base + fingerprint), 0, 255).astype(np.uint8))
        labels += [f"set{k}"] * n_per_source
    return np.concatenate(images), np.array(labels)
