"""Fingerprints and residual-to-fingerprint similarities (Marra et al. 2019, §3, eqs. 3 and 5).

A source's fingerprint is the mean of its residuals (eq. 3). A residual is compared with a
fingerprint by the normalised correlation of eq. 5, the inner product of their zero-mean unit-norm
versions, or by the peak-to-correlation energy (PCE) of camera-PRNU work (Goljan, Fridrich and
Filler 2009): the squared circular cross-correlation at zero shift (the images are aligned) over
the mean squared cross-correlation away from a (2r+1)² neighbourhood of it, with the peak's sign.
"""
from __future__ import annotations

import numpy as np

PCE_RADIUS = 2
PCE_CHUNK = 1 << 22  # cross-correlation values computed at once, bounding memory


def fingerprint(R: np.ndarray) -> np.ndarray:
    """The mean residual (H, W) float32 of residuals ``R`` (N, H, W) (eq. 3)."""
    return np.asarray(R, dtype=np.float64).mean(axis=0).astype(np.float32)


def _unit(R: np.ndarray) -> np.ndarray:
    """Rows of ``R`` flattened, zero-mean and of unit norm (a zero row stays zero)."""
    flat = np.asarray(R, dtype=np.float32).reshape(len(R), -1)
    flat = flat - flat.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(flat, axis=1, keepdims=True)
    return np.divide(flat, norm, out=np.zeros_like(flat), where=norm > 0)


def correlation(R: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Normalised correlations (N, K) of residuals ``R`` (N, H, W) with fingerprints ``F`` (K, H, W)."""
    return (_unit(R) @ _unit(F).T).astype(np.float64)


def pce(R: np.ndarray, F: np.ndarray, radius: int = PCE_RADIUS) -> np.ndarray:
    """Signed PCE (N, K) of residuals ``R`` (N, H, W) with fingerprints ``F`` (K, H, W) at zero shift."""
    height, width = R.shape[1:]
    if F.shape[1:] != (height, width):
        raise ValueError(f"residuals are {height}x{width} but fingerprints {F.shape[1]}x{F.shape[2]}")
    centred = lambda A: A - A.mean(axis=(1, 2), keepdims=True)  # noqa: E731
    spectra_F = np.conj(np.fft.rfft2(centred(np.asarray(F, np.float64))))
    near = np.zeros((height, width), dtype=bool)
    offsets = np.arange(-radius, radius + 1)
    near[np.ix_(offsets % height, offsets % width)] = True
    out = np.empty((len(R), len(F)))
    chunk = max(1, PCE_CHUNK // (len(F) * height * width))
    for start in range(0, len(R), chunk):
        spectra_R = np.fft.rfft2(centred(np.asarray(R[start:start + chunk], np.float64)))
        cc = np.fft.irfft2(spectra_R[:, None] * spectra_F[None], s=(height, width))  # (n, K, H, W)
        peak = cc[..., 0, 0]
        energy = np.square(cc[..., ~near]).mean(axis=-1)
        out[start:start + chunk] = np.sign(peak) * np.divide(
            np.square(peak), energy, out=np.zeros_like(peak), where=energy > 0
        )
    return out
