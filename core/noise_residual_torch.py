"""The PRNU wavelet denoiser of :mod:`ganprint.noise_residual` in torch, for a GPU.

Same filter, same images (float32 arithmetic): the ``db4`` transform in periodization mode, the
Wiener shrinkage of the detail bands over 3×3 … 9×9 windows, the approximation band zeroed (Lukáš,
Fridrich and Goljan 2006, appendix A; Marra et al. 2019, §3). Each level of the separable 2-D
transform is a convolution along the rows, then one along the columns, each on the two polyphase
components (even and odd samples) of the circularly extended signal; a side of odd length is first
extended by repeating its last sample, as PyWavelets does. The inverse is the adjoint of the
analysis, which for an orthogonal wavelet is its inverse. Images are taken in chunks of
:data:`CHUNK` samples on a CPU, so that a chunk's working arrays stay in cache, and all at once on a GPU.

This module imports torch; ``import ganprint`` does not import it.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from ganprint.noise_residual import FILTER_LENGTH, WINDOWS, wavelet_levels

# Daubechies' orthogonal wavelet with 4 vanishing moments (Daubechies 1988, Table 1, N = 4): the
# analysis low-pass filter in the order PyWavelets gives it; the high-pass is its quadrature mirror.
DB4_LOW = (-0.010597401785069032, 0.0328830116668852, 0.030841381835560764, -0.18703481171909309,
           -0.027983769416859854, 0.6308807679298589, 0.7148465705529157, 0.2303778133088965)
DB4_HIGH = tuple((-1) ** (k + 1) * c for k, c in enumerate(reversed(DB4_LOW)))
# Coefficient i of a band is Σ_j h[j] x[(2i + SHIFT − j) mod N] (PyWavelets' periodization alignment).
SHIFT = FILTER_LENGTH // 2
# Samples (images × channels × pixels) transformed at once: the working arrays of a chunk stay in cache.
CHUNK = 1 << 18


def _circular_pad(x: torch.Tensor, before: int, after: int, *, rows: bool = True, cols: bool = True) -> torch.Tensor:
    """``x`` (B, C, H, W) extended periodically by ``before`` and ``after`` samples along its rows
    (the H axis) and its columns (the W axis), or one of them."""
    height, width = x.shape[-2:]
    if max(before, after) <= min(height, width):
        return F.pad(x, (before if cols else 0, after if cols else 0, before if rows else 0, after if rows else 0),
                     mode="circular")
    if rows:
        x = x[..., torch.arange(-before, height + after, device=x.device).remainder_(height), :]
    if cols:
        x = x[..., torch.arange(-before, width + after, device=x.device).remainder_(width)]
    return x


def _even(x: torch.Tensor, dim: int) -> torch.Tensor:
    """``x`` with its last sample along ``dim`` repeated when that side has odd length."""
    if x.shape[dim] % 2 == 0:
        return x
    return torch.cat([x, x.narrow(dim, x.shape[dim] - 1, 1)], dim=dim)


@functools.lru_cache(maxsize=None)
def _polyphase_taps(dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    """The ``db4`` analysis filters on the two polyphase components: (low/high, phase, 5 taps).

    Coefficient i of a band is Σ_j h[j] x[2i + SHIFT − j], j = 0..7, which reads the sample pairs
    (2m, 2m + 1) for m = i − 2 … i + 2: a 5-tap filter on 2 phases. The synthesis filter is its
    adjoint (bands and phases swapped, taps reversed), the inverse of an orthogonal transform.
    """
    taps = torch.zeros(2, 2, 5, dtype=torch.float64)
    for band, h in enumerate((DB4_LOW, DB4_HIGH)):
        for j, c in enumerate(h):
            offset = SHIFT - j + 4  # sample 2i + SHIFT − j relative to the first pair read, 2(i − 2)
            taps[band, offset % 2, offset // 2] = c
    return taps.to(dtype=dtype, device=dev)


def _analysis(x: torch.Tensor, dim: int) -> torch.Tensor:
    """The periodized 1-D ``db4`` DWT of ``x`` (B, C, H, W) along ``dim`` (-1 or -2), even length N:
    (B, 2C, …, N / 2 …), the low and high band of each of the C inputs (low first)."""
    taps = _polyphase_taps(x.dtype, x.device)
    batch, channels, height, width = x.shape
    if dim == -1:
        padded = _circular_pad(x, 4, 4, rows=False)  # (B, C, H, W + 8)
        phases = padded.unflatten(-1, (-1, 2)).permute(0, 1, 4, 2, 3)  # (B, C, 2, H, W / 2 + 4)
        kernel = taps[:, :, None, :]
    else:
        padded = _circular_pad(x, 4, 4, cols=False)
        phases = padded.unflatten(-2, (-1, 2)).permute(0, 1, 3, 2, 4)  # (B, C, 2, H / 2 + 4, W)
        kernel = taps[:, :, :, None]
    phases = phases.reshape(batch * channels, 2, *phases.shape[-2:])
    bands = F.conv2d(phases, kernel)
    return bands.reshape(batch, 2 * channels, *bands.shape[-2:])


def _synthesis(bands: torch.Tensor, dim: int) -> torch.Tensor:
    """The inverse of :func:`_analysis`: (B, 2C, …, M …) → (B, C, …, 2M …)."""
    taps = _polyphase_taps(bands.dtype, bands.device).transpose(0, 1).flip(-1)  # (phase, band, tap)
    batch, height, width = bands.shape[0], bands.shape[-2], bands.shape[-1]
    pairs = bands.reshape(-1, 2, height, width)
    if dim == -1:
        phases = F.conv2d(_circular_pad(pairs, 2, 2, rows=False), taps[:, :, None, :])  # (BC, 2, H, M)
        out = phases.permute(0, 2, 3, 1).reshape(batch, -1, height, 2 * width)
    else:
        phases = F.conv2d(_circular_pad(pairs, 2, 2, cols=False), taps[:, :, :, None])  # (BC, 2, M, W)
        out = phases.permute(0, 2, 1, 3).reshape(batch, -1, 2 * height, width)
    return out


def dwt2(x: torch.Tensor) -> torch.Tensor:
    """One level of the periodized 2-D ``db4`` DWT of ``x`` (B, H, W): bands (B, 4, ⌈H/2⌉, ⌈W/2⌉).

    The bands are PyWavelets' ``dwt2`` output in its order: approximation, then the horizontal,
    vertical and diagonal details (``cA, (cH, cV, cD)``). Rows, then columns, each a convolution
    on the two polyphase components of the circularly extended signal.
    """
    x = _even(_even(x, -1), -2)
    return _analysis(_analysis(x[:, None], -1), -2)  # (W-low, H-low), (W-low, H-high), (W-high, …)


def idwt2(bands: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`dwt2` for even sides: bands (B, 4, h, w) → images (B, 2h, 2w).

    The adjoint of the analysis (columns, then rows), which inverts it because the periodized
    ``db4`` transform is orthogonal.
    """
    return _synthesis(_synthesis(bands, -2), -1)[:, 0]


def min_local_energy(coefficients: torch.Tensor) -> torch.Tensor:
    """The minimum over :data:`WINDOWS` of the local mean of c² over the last two axes.

    A window's mean counts zeros beyond the border (zero padding, the divisor always k²). The
    windows share their work: c² is zero-padded once by the largest radius; the row sums of radius
    r are those of radius r − 1 plus two shifted copies, and the window sums of radius r add the
    2r + 1 row sums around each coefficient, all by slicing.
    """
    height, width = coefficients.shape[-2:]
    pad = max(WINDOWS) // 2
    energy = F.pad(coefficients.square(), (pad, pad, pad, pad))
    row_sums, radius, out = energy[..., pad:pad + width].clone(), 0, None
    for window in WINDOWS:
        for shift in range(radius + 1, window // 2 + 1):
            row_sums += energy[..., pad - shift:pad - shift + width]
            row_sums += energy[..., pad + shift:pad + shift + width]
        radius = window // 2
        sums = row_sums[..., pad:pad + height, :].clone()
        for shift in range(1, radius + 1):
            sums += row_sums[..., pad - shift:pad - shift + height, :]
            sums += row_sums[..., pad + shift:pad + shift + height, :]
        sums *= 1.0 / window ** 2
        out = sums if out is None else torch.minimum(out, sums, out=out)
    return out


def wiener_noise(coefficients: torch.Tensor, noise_var: float | torch.Tensor) -> torch.Tensor:
    """The noise part of ``coefficients`` by adaptive Wiener filtering over their last two axes.

    The local signal variance is max(E − σ², 0) for the local energy E of :func:`min_local_energy`,
    and the noise part c · σ² / (variance + σ²) = c · σ² / max(E, σ²). ``noise_var`` is a scalar or
    a tensor that broadcasts against the coefficients (one σ² per image).
    """
    energy = min_local_energy(coefficients)
    return coefficients * (noise_var / torch.maximum(energy, torch.as_tensor(noise_var, dtype=energy.dtype,
                                                                             device=energy.device)))


def _resolve_device(dev: str | torch.device | None) -> torch.device:
    if dev is not None:
        return torch.device(dev)
    from ganprint.training import device

    return device()


def wavelet_noise(channels: np.ndarray, levels: int, sigma: float, mix: np.ndarray | None = None, *,
                  device: str | torch.device | None = None) -> np.ndarray:
    """:func:`ganprint.noise_residual.wavelet_noise` (which checks the arguments) on ``device``
    (default :func:`ganprint.training.device`, a GPU when present): float32 numpy."""
    dev = _resolve_device(device)
    x = torch.as_tensor(np.ascontiguousarray(channels, dtype=np.float32))
    lead, (height, width) = x.shape[:-2], x.shape[-2:]
    n_channels, weights = 1, None
    if mix is not None:
        weights = torch.as_tensor(np.asarray(mix, dtype=np.float32), device=dev)
        lead, n_channels = lead[:-1], len(weights)
    x = x.reshape(-1, n_channels, height, width)
    out = torch.empty((len(x), 1 if weights is not None else n_channels, height, width))
    levels = wavelet_levels(height, width, levels)
    per_chunk = max(1, CHUNK // (n_channels * height * width)) if dev.type == "cpu" else len(x)
    with torch.no_grad():
        for start in range(0, len(x), per_chunk):
            chunk = x[start:start + per_chunk].to(dev)
            out[start:start + per_chunk] = _chunk_noise(chunk, levels, float(sigma) ** 2, weights).cpu()
    return out.reshape(*lead, height, width).numpy()


def _chunk_noise(x: torch.Tensor, levels: int, noise_var: float, weights: torch.Tensor | None) -> torch.Tensor:
    """:func:`wavelet_noise` of images (n, C, H, W) on their device: (n, C or 1, H, W)."""
    n, n_channels, height, width = x.shape
    approximation, details, sizes = x.reshape(n * n_channels, height, width), [], []
    for _ in range(levels):
        sizes.append(approximation.shape[-2:])
        bands = dwt2(approximation)
        approximation = bands[:, 0]
        noise = wiener_noise(bands[:, 1:], noise_var)  # (n C, 3, h, w)
        if weights is not None:
            noise = torch.einsum("ncbhw,c->nbhw", noise.reshape(n, n_channels, *noise.shape[1:]), weights)
        details.append(noise)
    out = None  # the approximation band is zeroed
    for noise, size in zip(reversed(details), reversed(sizes)):
        low = torch.zeros_like(noise[:, :1]) if out is None else out[:, None]
        out = idwt2(torch.cat([low, noise], dim=1))[..., :size[0], :size[1]]
    return out.reshape(n, -1, height, width)
