"""The image attacks of the ``attacks`` plugin (Yu et al. 2019 §4.4): contract and effect of each."""
from __future__ import annotations

import numpy as np
import pytest

from ganprint import Attack
from ganprint.plugins.attacks.blur import GaussianBlur
from ganprint.plugins.attacks.combo import Combination
from ganprint.plugins.attacks.crop import Crop, resize
from ganprint.plugins.attacks.jpeg import JPEGCompression
from ganprint.plugins.attacks.noise import GaussianNoise
from ganprint.plugins.attacks.relight import Relight
from ganprint.registry import load_registry
from ganprint.testing import synthetic_sources

NAMES = ["noise", "blur", "crop", "jpeg", "relight", "combo"]


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    X, _ = synthetic_sources(4, 32, n_generated=1, seed=3)
    return X


def high_frequency_energy(X: np.ndarray) -> float:
    """Energy of the spectrum outside the central quarter of frequencies."""
    spectrum = np.abs(np.fft.fftshift(np.fft.fft2(X.astype(np.float64), axes=(1, 2)), axes=(1, 2))) ** 2
    h, w = X.shape[1:3]
    mask = np.ones((h, w), dtype=bool)
    mask[h // 4:3 * h // 4, w // 4:3 * w // 4] = False
    return float(spectrum[:, mask].sum())


def test_every_attack_is_registered_by_the_plugin(registry) -> None:
    assert set(NAMES) <= set(registry.attacks)
    for name in NAMES:
        assert registry.origin("attacks", name).plugin == "attacks"
        assert isinstance(registry.attacks[name].factory(), Attack)
    assert not [f for f in registry.failures if f.plugin == "attacks"]


@pytest.mark.parametrize("name", NAMES)
def test_contract(registry, images: np.ndarray, name: str) -> None:
    attack = registry.attacks[name].factory()
    before = images.copy()
    first = attack(images, np.random.default_rng(7))
    assert np.array_equal(images, before), "the input batch was changed in place"
    assert first.dtype == np.uint8 and first.shape == images.shape
    assert first is not images and not np.shares_memory(first, images)
    again = attack(images, np.random.default_rng(7))
    assert np.array_equal(first, again), "the same rng state must give the same output"
    other = attack(images, np.random.default_rng(8))
    assert not np.array_equal(first, other), "a different rng state should draw a different perturbation"
    assert type(attack)(**attack.get_params()).get_params() == attack.get_params()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", [
    np.zeros((2, 8, 8, 3), dtype=np.float32),
    np.zeros((2, 8, 8), dtype=np.uint8),
    np.zeros((8, 8, 3), dtype=np.uint8),
    np.zeros((2, 8, 8, 4), dtype=np.uint8),
    np.zeros((0, 8, 8, 3), dtype=np.uint8),
])
def test_bad_batch_is_a_clear_error(registry, name: str, bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="X "):
        registry.attacks[name].factory()(bad, np.random.default_rng(0))


def test_rng_must_be_a_generator(images: np.ndarray) -> None:
    with pytest.raises(TypeError, match="Generator"):
        GaussianNoise()(images, 0)


@pytest.mark.parametrize("name, params, message", [
    ("noise", {"std": -1.0}, "std"),
    ("noise", {"variance_range": (20.0, 5.0)}, "variance_range"),
    ("noise", {"variance_range": 5.0}, "pair"),
    ("blur", {"kernel_size": 4}, "odd"),
    ("blur", {"kernel_size": 0}, "kernel_size"),
    ("blur", {"kernel_size": 3.0}, "integer"),
    ("blur", {"kernel_sizes": ()}, "kernel_sizes"),
    ("crop", {"size": 0}, "size"),
    ("crop", {"offset_range": (0.3, 0.1)}, "offset_range"),
    ("crop", {"offset_range": (0.1, 1.5)}, "offset_range"),
    ("jpeg", {"quality": 0}, "quality"),
    ("jpeg", {"quality": 101}, "quality"),
    ("jpeg", {"quality": 50.5}, "integer"),
    ("jpeg", {"quality": True}, "integer"),
    ("jpeg", {"quality_range": (80, 10)}, "quality_range"),
    ("relight", {"strength": -0.1}, "strength"),
    ("relight", {"order": 0}, "order"),
    ("relight", {"tint": 2.0}, "tint"),
    ("combo", {"probability": 1.5}, "probability"),
])
def test_parameters_out_of_range_are_refused(registry, name: str, params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        registry.attacks[name].factory(**params)


def test_noise_fixed_std_is_the_measured_std() -> None:
    grey = np.full((4, 64, 64, 3), 128, dtype=np.uint8)
    for std in (3.0, 10.0):
        diff = GaussianNoise(std=std)(grey, np.random.default_rng(0)).astype(np.float64) - 128
        assert abs(diff.std() - std) < 0.05 * std
        assert abs(diff.mean()) < 0.2


def test_noise_random_variance_is_drawn_from_its_range() -> None:
    grey = np.full((16, 64, 64, 3), 128, dtype=np.uint8)
    diff = GaussianNoise()(grey, np.random.default_rng(0)).astype(np.float64) - 128
    variances = diff.reshape(16, -1).var(axis=1)
    assert variances.min() > 5 * 0.85 and variances.max() < 20 * 1.15
    assert variances.max() - variances.min() > 3, "the variance should vary between images"


def test_blur_lowers_high_frequency_energy_more_with_larger_kernels(images: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    assert np.array_equal(GaussianBlur(kernel_size=1)(images, rng), images)
    energies = [high_frequency_energy(GaussianBlur(kernel_size=k)(images, rng)) for k in (1, 3, 5, 9)]
    assert all(a > b for a, b in zip(energies, energies[1:])), energies
    assert energies[-1] < 0.5 * energies[0]


def test_jpeg_is_a_real_lossy_encode() -> None:
    X = np.random.default_rng(1).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    rng = np.random.default_rng(0)
    errors = {q: np.abs(JPEGCompression(quality=q)(X, rng).astype(int) - X).mean() for q in (95, 50, 10)}
    assert errors[95] > 0, "JPEG output must differ from its input (not a no-op)"
    assert errors[95] < errors[50] < errors[10]
    blocky = JPEGCompression(quality=10)(np.full((1, 32, 32, 3), 100, dtype=np.uint8), rng)
    assert np.abs(blocky.astype(int) - 100).max() <= 2, "a flat image survives JPEG almost unchanged"


def test_jpeg_random_quality_stays_in_range() -> None:
    X = np.random.default_rng(2).integers(0, 256, size=(6, 16, 16, 3), dtype=np.uint8)
    attacked = JPEGCompression(quality_range=(40, 40))(X, np.random.default_rng(0))
    assert np.array_equal(attacked, JPEGCompression(quality=40)(X, np.random.default_rng(5)))


def test_crop_keeps_shape_and_fixed_size_is_the_centre_window() -> None:
    X = np.random.default_rng(3).integers(0, 256, size=(2, 40, 40, 3), dtype=np.uint8)
    rng = np.random.default_rng(0)
    assert np.array_equal(Crop(size=40)(X, rng), X)
    centre = Crop(size=20)(X, rng)
    assert centre.shape == X.shape
    assert np.array_equal(centre[0], resize(np.ascontiguousarray(X[0, 10:30, 10:30]), 40, 40))
    random = Crop()(X, rng)
    assert random.shape == X.shape and not np.array_equal(random, X)
    with pytest.raises(ValueError, match="exceeds"):
        Crop(size=41)(X, rng)


def test_crop_random_offsets_zoom_in_by_the_drawn_fraction() -> None:
    ramp = np.tile(np.linspace(0, 255, 100).astype(np.uint8)[None, :, None], (100, 1, 3))[None]
    out = Crop(offset_range=(0.2, 0.2))(ramp, np.random.default_rng(0))
    slope_in = np.diff(ramp[0, 50, 10:90, 0].astype(float)).mean()
    slope_out = np.diff(out[0, 50, 10:90, 0].astype(float)).mean()
    assert slope_out == pytest.approx(slope_in * 0.8, rel=0.05), "80% of the side stretched back to 100%"


def test_relight_changes_only_low_frequencies(images: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    assert np.array_equal(Relight(strength=0.0)(images, rng), images), "strength 0 is no relighting"
    grey = np.full((3, 48, 48, 3), 128, dtype=np.uint8)
    lit = Relight(strength=0.5, tint=0.0)(grey, rng).astype(np.float64)
    assert (lit.max(axis=(1, 2, 3)) - lit.min(axis=(1, 2, 3)) > 20).all(), "the illumination should vary"
    second_difference = np.abs(np.diff(lit, n=2, axis=2)).max()
    assert second_difference <= 2.0, "the illumination field must be smooth"
    attacked = Relight(strength=0.5)(images, rng)
    assert high_frequency_energy(attacked) < 2.0 * high_frequency_energy(images)


def test_combo_probability_zero_is_identity_and_one_applies_every_stage(images: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    assert np.array_equal(Combination(probability=0.0)(images, rng), images)
    all_stages = Combination(probability=1.0)(images, np.random.default_rng(4))
    assert high_frequency_energy(all_stages) != high_frequency_energy(images)
    assert not np.array_equal(all_stages, images)


def test_fixed_strength_parameter_is_declared(registry) -> None:
    for name in NAMES:
        attack = registry.attacks[name].factory()
        assert type(attack).strength_param in attack.get_params()
