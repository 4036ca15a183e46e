"""Noise residuals by the PRNU wavelet denoiser: :func:`wavelet_noise`, shared by the methods that
need the noise of an image (the ``prnu`` residual fingerprints and the ``stega`` secrecy attacks).

The denoiser is the one standard in PRNU work (Lukáš, Fridrich and Goljan 2006, appendix A; the
"extraction" step of Goljan's camera-fingerprint code), used for GAN fingerprints by Marra et al.
2019 (§3, eq. 1) and for the fingerprint-estimation attack of Yu et al. 2021 (App. A.2): each
image (channel) goes through a ``db4`` wavelet decomposition in periodization mode (as the Rice
Wavelet Toolbox of the original MATLAB code; PyWavelets' ``mode="periodization"``), 4 levels or
fewer when the image is too small for them; in every detail band the local signal variance is the
minimum over 3×3, 5×5, 7×7 and 9×9 windows of the mean squared coefficient minus σ², floored at 0
(a window's mean counts zeros beyond the border), and the noise part of each coefficient is kept
by the Wiener gain σ² / (variance + σ²); the approximation band is zeroed and the inverse transform
gives the noise.

Two implementations compute the same images for a whole batch at once, float32:

- on the CPU, this module: PyWavelets along ``axes`` of an (N, C, H, W) stack, no Python loop over
  images. Three rearrangements make it faster without changing the result: the four windows' local
  means share their partial sums (:func:`min_local_energy`); a channel mix is taken on the filtered
  wavelet coefficients, so one inverse transform replaces C (the inverse transform is linear); and
  each level of the separable 2-D transform runs as a 1-D PyWavelets pass along the contiguous last
  axis, then a column pass as batched matrix products on blocks of :data:`COLUMN_BLOCK` rows
  (:func:`analysis_columns`) or, for other heights, a transpose and a second PyWavelets pass
  (:func:`forward_level`);
- on a GPU (or any torch device asked for), :mod:`ganprint.noise_residual_torch`: the transform as
  convolutions with the ``db4`` filters.

This module imports torch only to use a device, or to check for a GPU when a driver is installed.
"""
from __future__ import annotations

import functools
import math
import os
from typing import Any, Sequence

import numpy as np
import pywt

WAVELET = "db4"
MODE = "periodization"
FILTER_LENGTH = 8  # of db4
WINDOWS = (3, 5, 7, 9)
PAD = max(WINDOWS) // 2
BLOCK = 1 << 16  # coefficients per block of the local-energy filter (about 0.3 MB per float32 array)
COLUMN_BLOCK = 32  # samples per block of the column pass as matrix products (analysis_columns)
REACH = FILTER_LENGTH // 2 - 1  # samples a block's coefficients read from each neighbouring block


def wavelet_levels(height: int, width: int, levels: int) -> int:
    """``levels`` or fewer: the most ``db4`` levels an image of this size supports
    (⌊log2(side / 7)⌋ for the shorter side, as PyWavelets' ``dwt_max_level``), at least 1."""
    side = min(height, width)
    supported = int(math.log2(side / (FILTER_LENGTH - 1))) if side >= FILTER_LENGTH - 1 else 0
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


@functools.lru_cache(maxsize=None)
def column_matrices(dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The periodized ``db4`` analysis of :data:`COLUMN_BLOCK` consecutive samples as matrices.

    Coefficient i of a band is Σ_j h[j] x[(2i + 4 − j) mod N] (PyWavelets' periodization
    alignment, j = 0…7), so the B / 2 low and B / 2 high coefficients of a block of B samples are
    ``inner`` (B × B) times the block, plus ``before`` (rows ``before_rows``) times the last
    :data:`REACH` samples of the previous block and ``after`` (rows ``after_rows``) times the first
    :data:`REACH` samples of the next one. Returns (inner, before_rows, before, after_rows, after).
    """
    wavelet, size = pywt.Wavelet(WAVELET), COLUMN_BLOCK
    inner, before, after = np.zeros((size, size)), np.zeros((size, REACH)), np.zeros((size, REACH))
    for band, taps in enumerate((wavelet.dec_lo, wavelet.dec_hi)):
        for i in range(size // 2):
            for j, tap in enumerate(taps):
                sample = 2 * i + FILTER_LENGTH // 2 - j
                row = band * size // 2 + i
                if sample < 0:
                    before[row, sample + REACH] += tap
                elif sample >= size:
                    after[row, sample - size] += tap
                else:
                    inner[row, sample] += tap
    before_rows, after_rows = np.flatnonzero(before.any(axis=1)), np.flatnonzero(after.any(axis=1))
    return (inner.astype(dtype), before_rows, before[before_rows].astype(dtype), after_rows,
            after[after_rows].astype(dtype))


def analysis_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The periodized 1-D ``db4`` DWT of ``x`` (..., H, W) along axis -2, H a multiple of
    :data:`COLUMN_BLOCK`: (low, high), each (..., H / 2, W), by the block matrices of
    :func:`column_matrices` (batched matrix products, no transpose)."""
    *lead, height, width = x.shape
    inner, before_rows, before, after_rows, after = column_matrices(x.dtype.type)
    blocks = x.reshape(*lead, height // COLUMN_BLOCK, COLUMN_BLOCK, width)
    out = np.matmul(inner, blocks)
    out[..., before_rows, :] += np.matmul(before, np.roll(blocks[..., -REACH:, :], 1, axis=-3))
    out[..., after_rows, :] += np.matmul(after, np.roll(blocks[..., :REACH, :], -1, axis=-3))
    half = COLUMN_BLOCK // 2
    return (out[..., :half, :].reshape(*lead, height // 2, width),
            out[..., half:, :].reshape(*lead, height // 2, width))


def synthesis_columns(low: np.ndarray | None, high: np.ndarray) -> np.ndarray:
    """The inverse of :func:`analysis_columns` (its adjoint: the transform is orthogonal);
    ``low=None`` stands for a zero band."""
    *lead, half_height, width = high.shape
    inner, before_rows, before, after_rows, after = column_matrices(high.dtype.type)
    count, half = 2 * half_height // COLUMN_BLOCK, COLUMN_BLOCK // 2
    bands = np.zeros((*lead, count, COLUMN_BLOCK, width), dtype=high.dtype)
    if low is not None:
        bands[..., :half, :] = low.reshape(*lead, count, half, width)
    bands[..., half:, :] = high.reshape(*lead, count, half, width)
    out = np.matmul(inner.T, bands)
    out[..., -REACH:, :] += np.roll(np.matmul(before.T, bands[..., before_rows, :]), -1, axis=-3)
    out[..., :REACH, :] += np.roll(np.matmul(after.T, bands[..., after_rows, :]), 1, axis=-3)
    return out.reshape(*lead, 2 * half_height, width)


def forward_level(x: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray], bool]:
    """One level of the 2-D DWT of ``x`` (..., H, W): (approximation, three detail bands, transposed).

    The separable transform is a 1-D ``pywt.dwt`` along the last axis, then the same along the
    columns: by :func:`analysis_columns` when H is a multiple of :data:`COLUMN_BLOCK` (the bands are
    then those of ``pywt.dwt2``, ``transposed`` False), otherwise by a transpose and a second 1-D
    ``pywt.dwt`` along the (new) last axis, so that both passes read contiguous memory (the bands
    are those of ``pywt.dwt2`` transposed, (..., W', H'), ``transposed`` True; the next level
    transposes back). The Wiener filter's square windows commute with the transpose, and
    :func:`inverse_level` undoes it, so the residual is the one of ``pywt.wavedec2``/``waverec2``.
    """
    low, high = pywt.dwt(x, WAVELET, mode=MODE, axis=-1)
    if x.shape[-2] % COLUMN_BLOCK == 0:
        approximation, low_high = analysis_columns(low)
        high_low, high_high = analysis_columns(high)
        return approximation, (low_high, high_low, high_high), False
    approximation, low_high = pywt.dwt(transposed(low), WAVELET, mode=MODE, axis=-1)
    high_low, high_high = pywt.dwt(transposed(high), WAVELET, mode=MODE, axis=-1)
    return approximation, (low_high, high_low, high_high), True


def inverse_level(approximation: np.ndarray | None, details: tuple[np.ndarray, ...],
                  transposed_bands: bool) -> np.ndarray:
    """The inverse of :func:`forward_level`, whose ``transposed`` flag is ``transposed_bands``;
    ``approximation=None`` stands for a zero band."""
    low_high, high_low, high_high = details
    if transposed_bands:
        low = transposed(pywt.idwt(approximation, low_high, WAVELET, mode=MODE, axis=-1))
        high = transposed(pywt.idwt(high_low, high_high, WAVELET, mode=MODE, axis=-1))
    else:
        low, high = synthesis_columns(approximation, low_high), synthesis_columns(high_low, high_high)
    return pywt.idwt(low, high, WAVELET, mode=MODE, axis=-1)


def wavelet_noise(
    channels: np.ndarray,
    levels: int = 4,
    sigma: float = 5.0,
    mix: Sequence[float] | np.ndarray | None = None,
    *,
    device: Any = None,
) -> np.ndarray:
    """The wavelet Wiener noise (float32) of float images ``channels`` (…, H, W), approximation band zeroed.

    ``levels`` ``db4`` levels (fewer for small images, :func:`wavelet_levels`), noise standard
    deviation ``sigma`` on the scale of the images (5 grey levels on 0–255 in PRNU work). With
    ``mix`` (C weights) the images are (…, C, H, W) and the result (…, H, W) is the weighted sum of
    the C channels' noise, taken on the filtered wavelet coefficients (the same images, one inverse
    transform instead of C). ``device``: ``None`` computes on a CUDA GPU when torch sees one (looked
    for only when a GPU driver's device file exists, :data:`GPU_DEVICE_FILES`) and with this
    module's NumPy code otherwise; a torch device (``"cpu"``, ``"cuda:0"``) runs
    :func:`ganprint.noise_residual_torch.wavelet_noise` there.
    """
    if levels < 1:
        raise ValueError(f"levels must be at least 1; got {levels}")
    if sigma <= 0:
        raise ValueError(f"sigma must be positive; got {sigma}")
    channels = np.asarray(channels, dtype=np.float32)
    if mix is not None:
        mix = np.asarray(mix, dtype=np.float32)
        if channels.ndim < 3 or channels.shape[-3] != len(mix):
            raise ValueError(f"mix has {len(mix)} weights but the images have shape {channels.shape}")
    if device is None and _cuda_available():
        device = "cuda"
    if device is not None:
        from ganprint.noise_residual_torch import wavelet_noise as on_device

        return on_device(channels, levels, sigma, mix, device=device)
    return _numpy_wavelet_noise(np.ascontiguousarray(channels), levels, sigma, mix)


# Device files of a GPU driver torch can use (NVIDIA CUDA, AMD ROCm): without one, torch is not
# imported just to learn that there is no GPU (it would cost a prnu process seconds and memory).
GPU_DEVICE_FILES = ("/dev/nvidiactl", "/dev/kfd")


def _cuda_available() -> bool:
    if not any(os.path.exists(path) for path in GPU_DEVICE_FILES):
        return False
    import torch

    return bool(torch.cuda.is_available())


def _numpy_wavelet_noise(channels: np.ndarray, levels: int, sigma: float, mix: np.ndarray | None) -> np.ndarray:
    """:func:`wavelet_noise` with PyWavelets on the CPU."""
    height, width = channels.shape[-2:]
    noise_var = np.float32(sigma) ** 2

    def filtered(band: np.ndarray) -> np.ndarray:
        noise = wiener_noise(band, noise_var)
        return noise if mix is None else np.einsum("...chw,c->...hw", noise, mix)

    approximation, details = channels, []
    for _ in range(wavelet_levels(height, width, levels)):
        approximation, bands, transposed_bands = forward_level(approximation)
        details.append((tuple(filtered(band) for band in bands), transposed_bands))
    noise = None  # the approximation band is zeroed
    for bands, transposed_bands in reversed(details):
        if noise is not None:  # periodization of an odd side leaves one coefficient more than idwt needs
            noise = noise[..., :bands[0].shape[-2], :bands[0].shape[-1]]
        noise = inverse_level(noise, bands, transposed_bands)
    return noise[..., :height, :width]


