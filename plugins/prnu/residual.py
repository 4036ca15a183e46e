"""Noise residuals R = X − f(X) (Marra et al. 2019, §3, eq. 1) with the PRNU denoiser.

The denoiser ``f`` is :func:`ganprint.noise_residual.wavelet_noise` (Lukáš, Fridrich and Goljan
2006, appendix A: ``db4`` wavelet Wiener filtering, 4 levels, σ = 5 grey levels on the 0–255
scale), applied to the three colour channels; the channel residuals are mixed to grayscale with
the ITU-R BT.601 weights (on the filtered wavelet coefficients, which gives the same image with one
inverse transform). Two optional post-processing steps of camera-PRNU extraction follow:

- ``zero_mean``: on each of the four 2×2 polyphase lattices, the mean, then every row mean and every
  column mean is subtracted (removes the linear patterns of colour-filter interpolation);
- ``wiener_dft``: Wiener filtering of the residual's DFT magnitude with the residual's own standard
  deviation as noise level, which flattens the spectrum's peaks (periodic components).

Everything is computed for the whole batch at once. ``workers=k`` splits a batch into k parts
computed in k processes, for k CPU cores; ``device`` computes the wavelet noise with torch on that
device (a GPU is used by default when present). The result is the same array up to float32
rounding. Timings: docs/results/prnu/README.md and docs/results/speed/README.md.
"""
from __future__ import annotations

import functools
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from ganprint.images import check_images
from ganprint.noise_residual import wavelet_noise, wiener_noise
from ganprint.processes import spawn_pool

GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)  # ITU-R BT.601, as rgb2gray
IMAGE_AXES = (-2, -1)


def zero_mean_lattices(R: np.ndarray) -> np.ndarray:
    """``R`` (N, H, W) with the mean, row means and column means of each 2×2 lattice removed."""
    R = R.copy()
    for row in (0, 1):
        for col in (0, 1):
            lattice = R[:, row::2, col::2]  # a view: the subtractions below write into R
            lattice -= lattice.mean(axis=(1, 2), keepdims=True)
            lattice -= lattice.mean(axis=2, keepdims=True)
            lattice -= lattice.mean(axis=1, keepdims=True)
    return R


def dft_wiener(R: np.ndarray) -> np.ndarray:
    """``R`` (N, H, W) after Wiener filtering of each image's DFT magnitude.

    The noise level of an image is the standard deviation of its residual; the spectrum is kept
    where its (unitary) magnitude looks like that noise and shrunk where it peaks.
    """
    height, width = R.shape[1:]
    spectrum = np.fft.fft2(R, axes=IMAGE_AXES)
    magnitude = np.abs(spectrum) / np.sqrt(height * width)
    noise_var = np.square(R.std(axis=IMAGE_AXES, ddof=1))[:, None, None]
    kept = wiener_noise(magnitude, noise_var)
    gain = np.divide(kept, magnitude, out=np.zeros_like(magnitude), where=magnitude > 0)
    return np.real(np.fft.ifft2(spectrum * gain, axes=IMAGE_AXES))


@functools.lru_cache(maxsize=None)
def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes, started once per size (``ganprint.processes``)."""
    return spawn_pool(workers)


def residuals(
    X: np.ndarray,
    *,
    levels: int = 4,
    sigma: float = 5.0,
    zero_mean: bool = False,
    wiener_dft: bool = False,
    workers: int = 1,
    device: str | None = None,
) -> np.ndarray:
    """Grayscale noise residuals (N, H, W) float32 of a uint8 RGB batch (N, H, W, 3).

    ``levels`` wavelet levels (fewer for small images), noise level ``sigma`` on the 0–255 scale;
    ``zero_mean`` and ``wiener_dft`` switch on the two post-processing steps of the module docstring.
    ``workers`` > 1 computes contiguous parts of the batch in that many processes (same result);
    ``device`` is passed on to :func:`ganprint.noise_residual.wavelet_noise`.
    """
    X = check_images(X)
    if levels < 1:
        raise ValueError(f"levels must be at least 1; got {levels}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers}")
    if workers > 1 and len(X) > 1:
        one_process = functools.partial(residuals, levels=levels, sigma=sigma, zero_mean=zero_mean,
                                        wiener_dft=wiener_dft, device=device)
        parts = np.array_split(X, min(workers, len(X)))
        return np.concatenate(list(worker_pool(workers).map(one_process, parts)))
    channels = np.ascontiguousarray(np.moveaxis(X, -1, 1), dtype=np.float32)  # (N, 3, H, W)
    R = wavelet_noise(channels, levels, sigma, mix=GRAY_WEIGHTS, device=device)
    if zero_mean:
        R = zero_mean_lattices(R)
    if wiener_dft:
        R = dft_wiener(R)
    return R.astype(np.float32, copy=False)
