"""Secrecy attacks on artificial fingerprints (Yu et al. 2021, App. A.2, and the weakness of an
image-independent fingerprint).

An attacker who can draw many images of a fingerprinted GAN averages their noise residuals — the
image minus its denoised version, with the PRNU wavelet Wiener denoiser
(:func:`ganprint.noise_residual.wavelet_noise`), kept per colour channel — to estimate the fingerprint pattern (Marra et al. 2019's camera-fingerprint
estimate). Then

- ``fingerprint_removal`` subtracts the estimate from generated images, hoping they stop decoding;
- ``fingerprint_forgery`` adds it to real images, hoping they decode as that publisher.

A content-dependent fingerprint survives removal and resists forgery; a fixed pattern does not.
Both are image attacks whose estimate is set with :meth:`fit_estimate` on a publisher's images; an
unfitted removal estimates from the attacked batch itself.
"""
from __future__ import annotations

import numpy as np

from ganprint import Attack, check_is_fitted
from ganprint.images import check_images
from ganprint.noise_residual import wavelet_noise

WAVELET_LEVELS = 2
NOISE_SIGMA = 5.0


def colour_residuals(X: np.ndarray) -> np.ndarray:
    """Noise residuals (N, H, W, 3) float32 of a uint8 batch, channel by channel (PRNU denoiser)."""
    channels = np.ascontiguousarray(np.moveaxis(check_images(X), -1, 1), dtype=np.float32)
    return np.moveaxis(wavelet_noise(channels, WAVELET_LEVELS, NOISE_SIGMA), 1, -1).astype(np.float32)


def estimate_fingerprint(X: np.ndarray) -> np.ndarray:
    """The attacker's estimate: the mean noise residual (H, W, 3) of many images of one source."""
    return colour_residuals(X).mean(axis=0)


def _check_strength(strength: object) -> None:
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 20:
        raise ValueError(f"strength must be a number in [0, 20]; got {strength!r}")


class _EstimateAttack(Attack):
    strength_param = "strength"

    def __init__(self, strength: float = 1.0) -> None:
        _check_strength(strength)
        self.strength = strength

    def fit_estimate(self, images: np.ndarray) -> "_EstimateAttack":
        """Estimate the fingerprint from a publisher's images (see :func:`estimate_fingerprint`)."""
        self.estimate_ = estimate_fingerprint(images)
        return self

    def _apply(self, X: np.ndarray, sign: float, estimate: np.ndarray) -> np.ndarray:
        if estimate.shape != X.shape[1:]:
            raise ValueError(f"the estimate is {estimate.shape[:2]} but the images are {X.shape[1:3]}")
        return np.clip(np.rint(X + sign * self.strength * estimate), 0, 255).astype(np.uint8)


class FingerprintRemoval(_EstimateAttack):
    """Subtract ``strength`` × the estimated fingerprint (from :meth:`fit_estimate`, else from X)."""

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        check_images(X)
        estimate = getattr(self, "estimate_", None)
        return self._apply(X, -1.0, estimate_fingerprint(X) if estimate is None else estimate)


class FingerprintForgery(_EstimateAttack):
    """Add ``strength`` × the fingerprint estimated by :meth:`fit_estimate` to (real) images."""

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        check_images(X)
        check_is_fitted(self)
        return self._apply(X, 1.0, self.estimate_)
