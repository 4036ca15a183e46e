"""Speed of the PRNU residual (plugin ``prnu``): the batch-vectorised filter against a
straightforward per-image implementation of the same filter, side by side in one run.

    python -m pytest tests/perf -k prnu --benchmark-only --benchmark-group-by=group

prints, per image size, the timings in one table: the vectorised filter in one process and in two
(``workers=2``, for this machine's two cores), the batched torch filter on the CPU
(``device="cpu"``, :mod:`ganprint.noise_residual_torch`, the GPU code) and the per-image reference,
whose relative column is the speed-up (measured figures, and why 256×256 stays below 5×: docs/results/prnu/README.md). The
reference below loops over images and channels in float64, one 2-D call at a time, and shares no
code with the plugin, so it also checks the plugin's result (correlation ≥ 0.999).
"""
from __future__ import annotations

import numpy as np
import pytest
import pywt
from scipy import ndimage

from ganprint.plugins.prnu import residuals

SIZES = {"32x32": (256, 32), "256x256": (8, 256)}  # name: (images per batch, side)
OPTIONS = [{}, {"zero_mean": True}, {"wiener_dft": True}, {"zero_mean": True, "wiener_dft": True}]


def wiener_part(c: np.ndarray, noise_var: float) -> np.ndarray:
    variances = [np.maximum(ndimage.uniform_filter(c * c, w, mode="constant") - noise_var, 0) for w in (3, 5, 7, 9)]
    return c * noise_var / (np.min(variances, axis=0) + noise_var)


def per_image_residuals(X: np.ndarray, levels: int = 4, sigma: float = 5.0, zero_mean: bool = False,
                        wiener_dft: bool = False) -> np.ndarray:
    """The same filter, one image and one channel at a time."""
    out = []
    for image in X:
        h, w = image.shape[:2]
        level = max(1, min(levels, pywt.dwt_max_level(min(h, w), 8)))
        channels = []
        for c in range(3):
            coeffs = pywt.wavedec2(image[:, :, c].astype(np.float64), "db4", mode="periodization", level=level)
            kept = [np.zeros_like(coeffs[0])]
            for details in coeffs[1:]:
                kept.append(tuple(wiener_part(band, sigma ** 2) for band in details))
            channels.append(pywt.waverec2(kept, "db4", mode="periodization")[:h, :w])
        r = 0.2989 * channels[0] + 0.5870 * channels[1] + 0.1140 * channels[2]
        if zero_mean:
            for i in (0, 1):
                for j in (0, 1):
                    sub = r[i::2, j::2] - r[i::2, j::2].mean()
                    sub = sub - sub.mean(axis=1, keepdims=True)
                    r[i::2, j::2] = sub - sub.mean(axis=0, keepdims=True)
        if wiener_dft:
            spectrum = np.fft.fft2(r)
            magnitude = np.abs(spectrum) / np.sqrt(h * w)
            kept_magnitude = wiener_part(magnitude, r.std(ddof=1) ** 2)
            gain = np.where(magnitude > 0, kept_magnitude / np.where(magnitude > 0, magnitude, 1), 0)
            r = np.real(np.fft.ifft2(spectrum * gain))
        out.append(r)
    return np.array(out, dtype=np.float32)


def batch(name: str, seed: int = 0) -> np.ndarray:
    n, side = SIZES[name]
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(30, 225, size=(n, 8, 8, 3))
    content = ndimage.zoom(coarse, (1, side / 8, side / 8, 1), order=1)
    return np.clip(content + rng.normal(0, 6, size=content.shape), 0, 255).astype(np.uint8)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "+".join(o) or "plain")
@pytest.mark.parametrize("device", [None, "cpu"])
def test_vectorised_equals_per_image(options, device):
    X = batch("32x32")[:16]
    assert correlation(residuals(X, device=device, **options), per_image_residuals(X, **options)) >= 0.9999
    X = batch("256x256")[:2]
    assert correlation(residuals(X, device=device, **options), per_image_residuals(X, **options)) >= 0.9999


def two_processes(X: np.ndarray) -> np.ndarray:
    return residuals(X, workers=2)


def torch_cpu(X: np.ndarray) -> np.ndarray:
    return residuals(X, device="cpu")


IMPLEMENTATIONS = {"vectorised": residuals, "vectorised_2_workers": two_processes, "torch_cpu": torch_cpu,
                   "per_image_reference": per_image_residuals}


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("size", SIZES)
def test_residual_speed(benchmark, size, implementation):
    benchmark.group = f"prnu residuals {size}, {SIZES[size][0]} images"
    X = batch(size)
    benchmark.extra_info["images_per_round"] = len(X)
    if implementation == "vectorised_2_workers":
        two_processes(X[:2])  # starts the pool outside the timing
    R = benchmark(IMPLEMENTATIONS[implementation], X)
    assert R.shape == X.shape[:3]
    if implementation != "per_image_reference":  # the same run checks the timed result against the reference
        benchmark.extra_info["correlation_with_per_image"] = correlation(R, per_image_residuals(X))
        assert benchmark.extra_info["correlation_with_per_image"] >= 0.9999
