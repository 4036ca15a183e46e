"""The shared PRNU denoiser (ganprint.noise_residual): the NumPy/PyWavelets code, the batched torch
code, and their agreement with PyWavelets' own periodized transform, the reference."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import pywt
import torch
from scipy import ndimage

from ganprint import noise_residual_torch as on_torch
from ganprint.noise_residual import (
    BLOCK,
    COLUMN_BLOCK,
    WINDOWS,
    analysis_columns,
    forward_level,
    inverse_level,
    min_local_energy,
    synthesis_columns,
    wavelet_levels,
    wavelet_noise,
    wiener_noise,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def reference_noise(x: np.ndarray, levels: int = 4, sigma: float = 5.0) -> np.ndarray:
    """The filter written with pywt.wavedec2 / waverec2 and scipy's uniform_filter, in float64."""
    x = np.asarray(x, dtype=np.float64)
    level = wavelet_levels(*x.shape[-2:], levels)
    coefficients = pywt.wavedec2(x, "db4", mode="periodization", level=level, axes=(-2, -1))

    def shrunk(c: np.ndarray) -> np.ndarray:
        energy = np.min([ndimage.uniform_filter(c * c, w, axes=(-2, -1), mode="constant") for w in WINDOWS], axis=0)
        return c * sigma ** 2 / np.maximum(energy, sigma ** 2)

    details = [tuple(shrunk(band) for band in bands) for bands in coefficients[1:]]
    out = pywt.waverec2([None] + details, "db4", mode="periodization", axes=(-2, -1))
    return out[..., :x.shape[-2], :x.shape[-1]]


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


# --- the NumPy / PyWavelets implementation (moved from the prnu plugin) ---------------------------

@pytest.mark.parametrize("shape", [(2, 3, 16, 12), (5, 2, 2), (1, 7, 9), (int(BLOCK) // 64 + 3, 8, 8)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_min_local_energy_equals_the_minimum_of_uniform_filters(rng, shape, dtype):
    c = rng.normal(0, 30, size=shape).astype(dtype)
    expected = np.min([ndimage.uniform_filter(np.square(c.astype(np.float64)), w, axes=(-2, -1), mode="constant")
                       for w in WINDOWS], axis=0)
    got = min_local_energy(c)
    assert got.dtype == dtype and got.shape == c.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)
    got = on_torch.min_local_energy(torch.from_numpy(c)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("device", [None, "cpu"])
def test_gray_mix_in_the_wavelet_domain_equals_mixing_the_channel_noise(rng, device):
    channels = rng.normal(128, 20, size=(3, 3, 32, 32)).astype(np.float32)
    weights = np.array([0.2, 0.5, 0.3], dtype=np.float32)
    per_channel = np.einsum("nchw,c->nhw", wavelet_noise(channels, 4, 5.0, device=device), weights)
    np.testing.assert_allclose(wavelet_noise(channels, 4, 5.0, mix=weights, device=device), per_channel, atol=1e-4)


@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (1, 3, 33, 47), (2, 1, 129, 100), (1, 2, 5, 300), (1, 2, 64, 40),
                                   (2, 96, 7)])
def test_transposed_passes_give_the_wavedec2_residual(rng, shape):
    """forward_level's bands are pywt.dwt2's (transposed when it says so), and wavelet_noise equals
    the same filter written with pywt.wavedec2/waverec2 (odd and non-square sides included; sides
    that are multiples of COLUMN_BLOCK take the matrix column pass at some levels)."""
    x = rng.normal(128, 30, size=shape).astype(np.float32)
    approximation, bands, transposed_bands = forward_level(x)
    assert transposed_bands == (shape[-2] % COLUMN_BLOCK != 0)
    oriented = (lambda band: np.swapaxes(band, -1, -2)) if transposed_bands else (lambda band: band)
    expected_approximation, expected_bands = pywt.dwt2(x, "db4", mode="periodization", axes=(-2, -1))
    np.testing.assert_allclose(oriented(approximation), expected_approximation, atol=1e-3)
    for got, expected in zip(bands, expected_bands):
        np.testing.assert_allclose(oriented(got), expected, atol=1e-3)
    np.testing.assert_allclose(inverse_level(approximation, bands, transposed_bands)[..., :shape[-2], :shape[-1]], x,
                               atol=1e-3)
    np.testing.assert_allclose(wavelet_noise(x, 4, 5.0, device=None if not torch.cuda.is_available() else "cpu"),
                               reference_noise(x), atol=1e-3)


@pytest.mark.parametrize("height", [COLUMN_BLOCK, 2 * COLUMN_BLOCK, 5 * COLUMN_BLOCK])
def test_matrix_column_pass_is_pywavelets_and_inverts(rng, height):
    x = rng.normal(size=(2, 3, height, 9))
    low, high = analysis_columns(x)
    expected_low, expected_high = pywt.dwt(x, "db4", mode="periodization", axis=-2)
    np.testing.assert_allclose(low, expected_low, rtol=0, atol=1e-12)
    np.testing.assert_allclose(high, expected_high, rtol=0, atol=1e-12)
    np.testing.assert_allclose(synthesis_columns(low, high), x, rtol=0, atol=1e-12)
    expected = pywt.idwt(None, high, "db4", mode="periodization", axis=-2)
    np.testing.assert_allclose(synthesis_columns(None, high), expected, rtol=0, atol=1e-12)


def test_matrix_column_pass_of_an_impulse_is_the_filter_by_hand():
    """x = δ at row 0 of a column of 96 (three blocks): coefficient i of a band is
    Σ_j h[j] x[(2i + 4 − j) mod 96], so only i = 0, 1 (j = 4, 6) and i = 46, 47 (2i + 4 − j = 96:
    j = 0, 2) are non-zero; the last two are in the last block and read the sample around the circle."""
    x = np.zeros((96, 1))
    x[0] = 1.0
    wavelet = pywt.Wavelet("db4")
    for band, h in zip(analysis_columns(x), (wavelet.dec_lo, wavelet.dec_hi)):
        expected = np.zeros((48, 1))
        expected[[0, 1, 46, 47], 0] = h[4], h[6], h[0], h[2]
        np.testing.assert_allclose(band, expected, rtol=0, atol=1e-15)


def test_wavelet_levels_shrink_for_small_images():
    assert wavelet_levels(256, 256, 4) == 4
    assert wavelet_levels(32, 32, 4) == 2
    assert wavelet_levels(8, 8, 4) == 1
    assert wavelet_levels(256, 256, 2) == 2
    for side in (3, 7, 13, 14, 27, 28, 255, 448, 1000):
        assert wavelet_levels(side, side, 9) == max(1, pywt.dwt_max_level(side, 8))


def test_wiener_gain_keeps_noise_and_shrinks_strong_coefficients():
    flat = np.full((1, 12, 12), 3.0, np.float32)  # energy 9 < σ² = 25: all of it is noise
    np.testing.assert_allclose(wiener_noise(flat, 25.0), flat)
    np.testing.assert_allclose(on_torch.wiener_noise(torch.from_numpy(flat), 25.0).numpy(), flat)
    strong = np.full((1, 12, 12), 50.0, np.float32)  # energy 2500 inside: gain 25 / 2500
    np.testing.assert_allclose(wiener_noise(strong, 25.0)[0, 6, 6], 0.5, rtol=1e-6)
    np.testing.assert_allclose(on_torch.wiener_noise(torch.from_numpy(strong), 25.0)[0, 6, 6].item(), 0.5, rtol=1e-6)


def test_bad_arguments_are_refused(rng):
    x = rng.normal(size=(2, 3, 16, 16)).astype(np.float32)
    with pytest.raises(ValueError, match="levels"):
        wavelet_noise(x, 0)
    with pytest.raises(ValueError, match="sigma"):
        wavelet_noise(x, 2, sigma=0)
    with pytest.raises(ValueError, match="mix"):
        wavelet_noise(x, 2, mix=[0.5, 0.5])


# --- the batched torch transform ------------------------------------------------------------------

def test_db4_filters_are_pywavelets():
    wavelet = pywt.Wavelet("db4")
    assert on_torch.DB4_LOW == tuple(wavelet.dec_lo)
    np.testing.assert_allclose(on_torch.DB4_HIGH, wavelet.dec_hi, rtol=0, atol=1e-15)
    assert np.isclose(sum(on_torch.DB4_LOW), np.sqrt(2)) and np.isclose(sum(on_torch.DB4_HIGH), 0)


def test_one_level_of_an_impulse_is_the_filter_by_hand():
    """The periodized DWT of x = δ at (0, 0), by its definition: coefficient i of a band along one
    axis is Σ_j h[j] x[(2i + 4 − j) mod N], so for N = 8 the bands along an axis are h[(2i + 4) mod 8],
    i = 0..3, i.e. (h[4], h[6], h[0], h[2]); in 2-D the bands are outer products of those."""
    x = torch.zeros(1, 8, 8, dtype=torch.float64)
    x[0, 0, 0] = 1.0
    low, high = on_torch.DB4_LOW, on_torch.DB4_HIGH
    by_hand = {name: np.array([h[4], h[6], h[0], h[2]]) for name, h in (("low", low), ("high", high))}
    bands = on_torch.dwt2(x)[0].numpy()
    # (rows filtered by, columns filtered by): cA = (low, low), cH = (high, low), cV = (low, high), cD = (high, high)
    for band, (along_h, along_w) in enumerate([("low", "low"), ("high", "low"), ("low", "high"), ("high", "high")]):
        np.testing.assert_allclose(bands[band], np.outer(by_hand[along_h], by_hand[along_w]), rtol=0, atol=1e-15)


def test_constant_image_has_only_an_approximation():
    x = torch.full((1, 16, 16), 7.0, dtype=torch.float64)
    bands = on_torch.dwt2(x)[0]
    np.testing.assert_allclose(bands[0].numpy(), 14.0, rtol=1e-12)  # 7 · (Σ h_low)² = 7 · 2
    np.testing.assert_allclose(bands[1:].numpy(), 0.0, atol=1e-12)


@pytest.mark.parametrize("shape", [(16, 16), (32, 24), (15, 13), (9, 7), (2, 6), (64, 3)])
def test_dwt2_is_pywavelets_and_idwt2_reconstructs_perfectly(rng, shape):
    x = rng.normal(size=(2, *shape))
    approximation, (horizontal, vertical, diagonal) = pywt.dwt2(x, "db4", mode="periodization", axes=(-2, -1))
    bands = on_torch.dwt2(torch.from_numpy(x)).numpy()
    for got, expected in zip(bands.transpose(1, 0, 2, 3), (approximation, horizontal, vertical, diagonal)):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    inverse = on_torch.idwt2(torch.from_numpy(bands)).numpy()
    expected = pywt.idwt2((approximation, (horizontal, vertical, diagonal)), "db4", mode="periodization",
                          axes=(-2, -1))
    np.testing.assert_allclose(inverse, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(inverse[:, :shape[0], :shape[1]], x, rtol=0, atol=1e-12)  # perfect reconstruction


@pytest.mark.parametrize("shape", [(4, 3, 32, 32), (2, 3, 256, 256), (3, 3, 31, 45), (2, 40, 24)])
def test_torch_noise_correlates_with_the_pywavelets_reference(rng, shape):
    x = rng.uniform(0, 255, size=shape).astype(np.float32)
    expected = reference_noise(x)
    got = wavelet_noise(x, 4, 5.0, device="cpu")
    assert got.dtype == np.float32 and got.shape == x.shape
    assert correlation(got, expected) >= 0.9999
    np.testing.assert_allclose(got, expected, atol=1e-3)
    if len(shape) == 4:  # gray mix, and images split over several chunks
        weights = np.array([0.2989, 0.5870, 0.1140], np.float32)
        mixed = wavelet_noise(x, 4, 5.0, mix=weights, device="cpu")
        assert correlation(mixed, np.einsum("nchw,c->nhw", expected, weights)) >= 0.9999


def test_torch_chunks_give_the_same_images(rng, monkeypatch):
    x = rng.uniform(0, 255, size=(5, 3, 32, 32)).astype(np.float32)
    whole = wavelet_noise(x, 4, 5.0, device="cpu")
    monkeypatch.setattr(on_torch, "CHUNK", 3 * 32 * 32 * 2)
    np.testing.assert_allclose(wavelet_noise(x, 4, 5.0, device="cpu"), whole, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_noise_is_the_cpu_noise(rng):
    x = rng.uniform(0, 255, size=(3, 3, 64, 64)).astype(np.float32)
    assert correlation(wavelet_noise(x, device="cuda"), reference_noise(x)) >= 0.9999


def test_without_a_gpu_driver_the_cpu_path_does_not_import_torch():
    from ganprint.noise_residual import GPU_DEVICE_FILES

    code = ("import sys, numpy, ganprint.noise_residual as n; print('torch' in sys.modules); "
            "n.wavelet_noise(numpy.zeros((1, 16, 16), numpy.float32)); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    has_driver = any(os.path.exists(path) for path in GPU_DEVICE_FILES)
    assert out.stdout.split() == ["False", str(has_driver)]
