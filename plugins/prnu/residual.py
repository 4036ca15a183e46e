"""Noise residuals R = X − f(X) (Marra et al. 2019, §3, eq. 1) with the PRNU denoiser.

The denoiser ``f`` is the one standard in PRNU work (Lukáš, Fridrich and Goljan 2006, appendix A;
the "extraction" step of Goljan's camera-fingerprint code): each colour channel goes through a
``db4`` wavelet decomposition (4 levels, fewer when the image is too small for them); in every
detail band the local signal variance is the minimum over 3×3, 5×5, 7×7 and 9×9 windows of the
mean squared coefficient minus σ², floored at 0, and the noise part of each coefficient is kept by
the Wiener gain σ² / (variance + σ²); the approximation band is zeroed and the inverse transform
gives the channel's residual. The three channel residuals are mixed to grayscale with the ITU-R
BT.601 weights. Two optional post-processing steps of camera-PRNU extraction follow:

- ``zero_mean``: on each of the four 2×2 polyphase lattices, the mean, then every row mean and every
  column mean is subtracted (removes the linear patterns of colour-filter interpolation);
- ``wiener_dft``: Wiener filtering of the residual's DFT magnitude with the residual's own standard
  deviation as noise level, which flattens the spectrum's peaks (periodic components).

Images are on the 0–255 scale, so σ = 5 is a noise standard deviation of 5 grey levels. The
transform uses PyWavelets' ``periodization`` mode (as the Rice Wavelet Toolbox of the original
MATLAB code), and everything is computed for the whole batch at once: PyWavelets works along
``axes`` of an (N, 3, H, W) float32 stack, so there is no Python loop over images. Three rearrangements
make it faster without changing the result: the four windows' local means share their partial
sums (:func:`min_local_energy`); the gray mix is taken on the filtered wavelet coefficients, so one
inverse transform replaces three (the inverse transform is linear); and each level of the separable
2-D transform runs as two 1-D PyWavelets passes along the contiguous last axis with a transpose
between them (:func:`forward_level`), because a pass along the strided row axis is slower.

``workers=k`` splits a batch into k parts computed in k processes, for k CPU cores, which pays
where the wavelet transforms themselves dominate (large images); the result is the same array.
Timings: docs/results/prnu/README.md.
"""
from __future__ import annotations

import functools
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pywt

from ganprint.images import check_images

WAVELET = "db4"
MODE = "periodization"
WINDOWS = (3, 5, 7, 9)
GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)  # ITU-R BT.601, as rgb2gray
IMAGE_AXES = (-2, -1)
PAD = max(WINDOWS) // 2
BLOCK = 1 << 16  # coefficients per block of the local-energy filter (about 0.3 MB per float32 array)


def wavelet_levels(height: int, width: int, levels: int) -> int:
    """``levels`` or fewer: the most ``db4`` levels an image of this size supports, at least 1."""
    supported = pywt.dwt_max_level(min(height, width), pywt.Wavelet(WAVELET).dec_len)
    return max(1, min(levels, supported))


def min_local_energy(coefficients: np.ndarray) -> np.ndarray:
    """The minimum over the windows of the local mean of c² over the last two axes.

    A window's mean counts zeros beyond the border (as ``ndimage.uniform_filter`` with
    ``mode="constant"``). The windows share their work: c² is zero-padded once by the largest
    radius; the row sums of radius r are those of radius r − 1 plus two shifted copies, and the
    window sums of radius r add the 2r + 1 row sums around each coefficient, all by slicing. Sums of
    squares have no cancellation, so they stay in the coefficients' precision (float32). Blocks of
    about ``BLOCK`` coefficients are filtered at once so that the working arrays stay in cache.
    """
    shape, (height, width) = coefficients.shape, coefficients.shape[-2:]
    flat = coefficients.reshape(-1, height, width)
    out = np.empty(flat.shape, dtype=flat.dtype)
    rows, cols = slice(PAD, PAD + height), slice(PAD, PAD + width)
    per_block = max(1, BLOCK // (height * width))
    for start in range(0, len(flat), per_block):
        block, kept = flat[start:start + per_block], out[start:start + per_block]
        energy = np.zeros((len(block), height + 2 * PAD, width + 2 * PAD), dtype=flat.dtype)
        np.square(block, out=energy[:, rows, cols])
        row_sums, radius = energy[:, :, cols].copy(), 0
        for i, window in enumerate(WINDOWS):
            for shift in range(radius + 1, window // 2 + 1):
                row_sums += energy[:, :, PAD - shift:PAD - shift + width]
                row_sums += energy[:, :, PAD + shift:PAD + shift + width]
            radius = window // 2
            sums = row_sums[:, rows].copy()
            for shift in range(1, radius + 1):
                sums += row_sums[:, PAD - shift:PAD - shift + height]
                sums += row_sums[:, PAD + shift:PAD + shift + height]
            sums *= 1.0 / window ** 2
            if i == 0:
                kept[...] = sums
            else:
                np.minimum(kept, sums, out=kept)
    return out.reshape(shape)


def wiener_noise(coefficients: np.ndarray, noise_var: float | np.ndarray) -> np.ndarray:
    """The noise part of ``coefficients`` by adaptive Wiener filtering over their last two axes.

    The local signal variance is min over the windows of (local mean of c²) − σ², floored at 0 (a
    window's mean counts zeros beyond the border); the noise part is c · σ² / (variance + σ²).
    ``noise_var`` is a scalar or broadcasts against the coefficients (one σ² per image). Since
    max(E − σ², 0) + σ² = max(E, σ²), the gain is σ² / max(E, σ²) for the local energy E.
    """
    gain = min_local_energy(coefficients)
    np.maximum(gain, noise_var, out=gain)
    np.divide(noise_var, gain, out=gain)
    gain *= coefficients
    return gain


def transposed(x: np.ndarray) -> np.ndarray:
    """``x`` with its last two axes swapped, as a C-contiguous array."""
    return np.ascontiguousarray(np.swapaxes(x, -1, -2))


def forward_level(x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One level of the 2-D DWT of ``x`` (..., H, W): (approximation, three detail bands).

    The separable transform is a 1-D ``pywt.dwt`` along the last axis, a transpose, and a second
    1-D ``pywt.dwt`` along the (new) last axis, so both passes read contiguous memory. The bands
    are therefore those of ``pywt.dwt2`` transposed, (..., W', H'); the next level transposes back.
    The Wiener filter's square windows commute with the transpose, and :func:`inverse_level`
    undoes it, so the residual is the one of ``pywt.wavedec2``/``waverec2``.
    """
    low, high = (transposed(band) for band in pywt.dwt(x, WAVELET, mode=MODE, axis=-1))
    approximation, low_high = pywt.dwt(low, WAVELET, mode=MODE, axis=-1)
    high_low, high_high = pywt.dwt(high, WAVELET, mode=MODE, axis=-1)
    return approximation, (low_high, high_low, high_high)


def inverse_level(approximation: np.ndarray | None, details: tuple[np.ndarray, ...]) -> np.ndarray:
    """The inverse of :func:`forward_level`; ``approximation=None`` stands for a zero band."""
    low_high, high_low, high_high = details
    low = transposed(pywt.idwt(approximation, low_high, WAVELET, mode=MODE, axis=-1))
    high = transposed(pywt.idwt(high_low, high_high, WAVELET, mode=MODE, axis=-1))
    return pywt.idwt(low, high, WAVELET, mode=MODE, axis=-1)


def wavelet_noise(channels: np.ndarray, levels: int, sigma: float, mix: np.ndarray | None = None) -> np.ndarray:
    """Wavelet-domain Wiener noise of float images (..., H, W), approximation band zeroed.

    With ``mix`` (C weights) the images are (..., C, H, W) and the result (..., H, W) is the
    weighted sum of the C channels' noise; the sum is taken on the filtered wavelet coefficients,
    which gives the same images (the inverse transform is linear) with one inverse transform
    instead of C.
    """
    height, width = channels.shape[-2:]
    noise_var = np.float32(sigma) ** 2

    def filtered(band: np.ndarray) -> np.ndarray:
        noise = wiener_noise(band, noise_var)
        return noise if mix is None else np.einsum("...chw,c->...hw", noise, mix)

    approximation, details = channels, []
    for _ in range(wavelet_levels(height, width, levels)):
        approximation, bands = forward_level(approximation)
        details.append(tuple(filtered(band) for band in bands))
    noise = None  # the approximation band is zeroed
    for bands in reversed(details):
        if noise is not None:  # periodization of an odd side leaves one coefficient more than idwt needs
            noise = noise[..., :bands[0].shape[-2], :bands[0].shape[-1]]
        noise = inverse_level(noise, bands)
    return noise[..., :height, :width]


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
    """A pool of ``workers`` processes, started once per size (spawned: no fork of a threaded parent)."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def residuals(
    X: np.ndarray,
    *,
    levels: int = 4,
    sigma: float = 5.0,
    zero_mean: bool = False,
    wiener_dft: bool = False,
    workers: int = 1,
) -> np.ndarray:
    """Grayscale noise residuals (N, H, W) float32 of a uint8 RGB batch (N, H, W, 3).

    ``levels`` wavelet levels (fewer for small images), noise level ``sigma`` on the 0–255 scale;
    ``zero_mean`` and ``wiener_dft`` switch on the two post-processing steps of the module docstring.
    ``workers`` > 1 computes contiguous parts of the batch in that many processes (same result).
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
                                        wiener_dft=wiener_dft)
        parts = np.array_split(X, min(workers, len(X)))
        return np.concatenate(list(worker_pool(workers).map(one_process, parts)))
    channels = np.ascontiguousarray(np.moveaxis(X, -1, 1), dtype=np.float32)  # (N, 3, H, W)
    R = wavelet_noise(channels, levels, sigma, mix=GRAY_WEIGHTS)
    if zero_mean:
        R = zero_mean_lattices(R)
    if wiener_dft:
        R = dft_wiener(R)
    return R.astype(np.float32, copy=False)
