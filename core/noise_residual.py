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
  each level of the separable 2-D transform runs as two 1-D PyWavelets passes along the contiguous
  last axis with a transpose between them (:func:`forward_level`);
- on a GPU (or any torch device asked for), :mod:`ganprint.noise_residual_torch`: the transform as
  convolutions with the ``db4`` filters.

This module imports torch only to use a device, or to check for a GPU when a driver is installed.
"""
from __future__ import annotations

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
        approximation, bands = forward_level(approximation)
        details.append(tuple(filtered(band) for band in bands))
    noise = None  # the approximation band is zeroed
    for bands in reversed(details):
        if noise is not None:  # periodization of an odd side leaves one coefficient more than idwt needs
            noise = noise[..., :bands[0].shape[-2], :bands[0].shape[-1]]
        noise = inverse_level(noise, bands)
    return noise[..., :height, :width]


