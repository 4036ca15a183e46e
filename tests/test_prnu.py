"""The PRNU residual-fingerprint plugin (Marra et al. 2019): residual filter, similarities,
attributor and the analyses of Figs. 2–6."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ganprint.dataset import ArrayDataset, assign_splits
from ganprint.plugins.prnu import PRNUAttributor, correlation, fingerprint, pce, residuals
from ganprint.plugins.prnu.analysis import (
    analyse,
    autocorrelation,
    correlation_matrix,
    fit_energy_limit,
    pairwise_auc,
    prefix_fingerprints,
    SourceAnalysis,
)
from ganprint.plugins.prnu.residual import dft_wiener, zero_mean_lattices
from ganprint.registry import load_registry
from ganprint.testing import synthetic_sources


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def smooth_images(rng: np.random.Generator, n: int, size: int = 32) -> np.ndarray:
    """Piecewise-smooth content: bilinear upsampling of a 4×4 random field per channel."""
    coarse = rng.uniform(40, 215, size=(n, 4, 4, 3))
    ramp = np.linspace(0, 3, size)
    i0 = np.minimum(ramp.astype(int), 2)
    t = (ramp - i0)[:, None]
    rows = coarse[:, i0] * (1 - t)[None, :, :, None] + coarse[:, i0 + 1] * t[None, :, :, None]
    t = t[:, 0]
    out = rows[:, :, i0] * (1 - t)[None, None, :, None] + rows[:, :, i0 + 1] * t[None, None, :, None]
    return out


def with_pattern(rng: np.random.Generator, n: int, pattern: np.ndarray | None, size: int = 32) -> np.ndarray:
    images = smooth_images(rng, n, size) + rng.normal(0, 2, size=(n, size, size, 3))
    if pattern is not None:
        images = images + pattern[None, :, :, None]
    return np.clip(np.round(images), 0, 255).astype(np.uint8)


def split_dataset(X: np.ndarray, y: np.ndarray) -> ArrayDataset:
    splits = np.empty(len(y), dtype=object)
    for source in np.unique(y):
        rows = np.flatnonzero(y == source)
        splits[rows] = assign_splits([f"{source}/{i}" for i in rows])
    return ArrayDataset("prnu-test", X, y, splits)


# --- residuals ---------------------------------------------------------------------------------

def test_residuals_shape_dtype_and_determinism(rng):
    X = rng.integers(0, 256, size=(5, 32, 24, 3), dtype=np.uint8)
    R = residuals(X)
    assert R.shape == (5, 32, 24) and R.dtype == np.float32
    assert np.array_equal(R, residuals(X.copy()))


def test_residuals_reject_bad_input(rng):
    with pytest.raises(ValueError):
        residuals(rng.integers(0, 256, size=(2, 32, 32), dtype=np.uint8))
    with pytest.raises(ValueError):
        residuals(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(ValueError):
        residuals(np.zeros((2, 32, 32, 3), np.uint8), sigma=0)


def test_residual_of_flat_image_is_zero():
    X = np.full((2, 32, 32, 3), 117, np.uint8)
    assert np.abs(residuals(X)).max() < 1e-3


def test_residuals_of_a_batch_equal_those_of_each_image(rng):
    X = with_pattern(rng, 4, None)
    for options in ({}, {"zero_mean": True}, {"wiener_dft": True}):
        batch = residuals(X, **options)
        for i in range(len(X)):
            np.testing.assert_allclose(batch[i], residuals(X[i:i + 1], **options)[0], atol=1e-4)


def test_residuals_in_worker_processes_are_the_same_array(rng):
    X = rng.integers(0, 256, size=(5, 24, 40, 3), dtype=np.uint8)
    for options in ({}, {"zero_mean": True, "wiener_dft": True}):
        np.testing.assert_array_equal(residuals(X, workers=2, **options), residuals(X, **options))
    assert residuals(X[:1], workers=2).shape == (1, 24, 40)
    with pytest.raises(ValueError, match="workers"):
        residuals(X, workers=0)


def test_fingerprint_recovers_an_additive_pattern(rng):
    pattern, other = rng.normal(0, 2, size=(2, 32, 32))
    F = fingerprint(residuals(with_pattern(rng, 64, pattern)))
    same, cross = correlation(F[None], np.stack([pattern, other]))[0]
    assert same > 0.5 and abs(cross) < 0.2


def test_zero_mean_lattices_have_zero_row_and_column_means(rng):
    R = zero_mean_lattices(rng.normal(3, 1, size=(3, 16, 12)))
    for row in (0, 1):
        for col in (0, 1):
            lattice = R[:, row::2, col::2]
            np.testing.assert_allclose(lattice.mean(axis=1), 0, atol=1e-9)
            np.testing.assert_allclose(lattice.mean(axis=2), 0, atol=1e-9)


def test_dft_wiener_suppresses_a_spectral_peak(rng):
    yy, xx = np.mgrid[0:64, 0:64]
    wave = 3 * np.sin(2 * np.pi * (xx + 2 * yy) / 8)
    R = rng.normal(0, 1, size=(4, 64, 64)) + wave
    before = correlation(R, wave[None]).mean()
    after = correlation(dft_wiener(R), wave[None]).mean()
    assert after < before / 2


# --- similarities --------------------------------------------------------------------------------

def test_correlation_is_pearson(rng):
    R, F = rng.normal(size=(3, 8, 8)), rng.normal(size=(2, 8, 8))
    expected = [[np.corrcoef(r.ravel(), f.ravel())[0, 1] for f in F] for r in R]
    np.testing.assert_allclose(correlation(R, F), expected, atol=1e-5)


def test_pce_matches_a_direct_computation(rng):
    R, F = rng.normal(size=(2, 12, 10)), rng.normal(size=(3, 12, 10))
    R[0] += 0.5 * F[1]
    out = pce(R, F, radius=1)
    for n in range(2):
        for k in range(3):
            r, f = R[n] - R[n].mean(), F[k] - F[k].mean()
            cc = np.array([[np.sum(r * np.roll(f, (dy, dx), axis=(0, 1))) for dx in range(10)] for dy in range(12)])
            mask = np.ones_like(cc, bool)
            mask[np.ix_([-1, 0, 1], [-1, 0, 1])] = False
            expected = np.sign(cc[0, 0]) * cc[0, 0] ** 2 / np.mean(cc[mask] ** 2)
            assert out[n, k] == pytest.approx(expected, rel=1e-6)
    assert out[0, 1] == out[0].max()


# --- attributor ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sources() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = synthetic_sources(30, 32, n_generated=3, seed=1)
    X_test, y_test = synthetic_sources(15, 32, n_generated=3, seed=2)
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def noise_sources() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Camera-like sources: each adds its own fixed white-noise pattern (real adds none)."""
    rng = np.random.default_rng(4)
    patterns = {"real": None, **{f"gen{k}": rng.normal(0, 1.5, size=(32, 32)) for k in range(3)}}
    X = {n: np.concatenate([with_pattern(rng, m, p) for p in patterns.values()]) for n, m in (("train", 30), ("test", 15))}
    y = {n: np.repeat(list(patterns), m) for n, m in (("train", 30), ("test", 15))}
    return X["train"], y["train"], X["test"], y["test"]


@pytest.mark.parametrize("data, params", [("sources", {}), ("noise_sources", {}),
                                          ("noise_sources", {"similarity": "pce"})])
def test_attributes_generated_sources(request, data, params):
    X, y, X_test, y_test = request.getfixturevalue(data)
    model = PRNUAttributor(**params).fit(X, y)
    generated = y_test != "real"
    assert np.mean(model.predict(X_test)[generated] == y_test[generated]) >= 0.9
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-9)
    assert np.isfinite(model.scale_) and model.scale_ > 0


def test_detector_score_ranks_generated_above_real(sources):
    from sklearn.metrics import roc_auc_score

    X, y, X_test, y_test = sources
    model = PRNUAttributor().fit(X, y)
    assert roc_auc_score(y_test != "real", model.score(X_test)) > 0.9


def test_confidence_margin_rejects_an_unknown_source(sources):
    from sklearn.metrics import roc_auc_score

    X, y, X_test, y_test = sources
    known = y != "gen2"
    model = PRNUAttributor().fit(X[known], y[known])
    generated = y_test != "real"
    is_known = y_test[generated] != "gen2"
    assert roc_auc_score(is_known, model.confidence(X_test[generated])) > 0.9


def test_refit_forgets_previous_similarities(sources):
    X, y, X_test, _ = sources
    model = PRNUAttributor().fit(X, y)
    first = model.similarities(X_test)
    model.fit(X, np.where(y == "gen0", "gen1", y))
    assert model.similarities(X_test).shape[1] == first.shape[1] - 1


def test_rejects_images_of_another_size(sources):
    X, y, _, _ = sources
    model = PRNUAttributor().fit(X, y)
    with pytest.raises(ValueError, match="32x32"):
        model.predict_proba(np.zeros((1, 16, 16, 3), np.uint8))
    with pytest.raises(ValueError):
        PRNUAttributor(similarity="ssim").fit(X, y)


def test_registered_variants():
    registry = load_registry()
    assert {"prnu", "prnu.zm", "prnu.dft", "prnu.pce"} <= set(registry.detectors)
    model = registry.detectors["prnu.zm"].factory()
    assert isinstance(model, PRNUAttributor) and model.zero_mean and not model.wiener_dft


def test_plugin_import_is_light():
    code = "import sys, ganprint.plugins.prnu; print('pywt' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# --- analyses ------------------------------------------------------------------------------------

def test_prefix_fingerprints_and_energies(rng):
    R = rng.normal(size=(10, 6, 6))
    fingerprints, energies = prefix_fingerprints([R[:4], R[4:7], R[7:]], ns=(2, 8))
    assert sorted(fingerprints) == [2, 8, 10]
    np.testing.assert_allclose(fingerprints[8], R[:8].mean(axis=0), atol=1e-6)
    expected = [np.mean(R[:n].mean(axis=0) ** 2) for n in range(1, 11)]
    np.testing.assert_allclose(energies, expected)


def test_energy_limit_fit_recovers_the_curve():
    n = np.arange(1, 200)
    limit, initial = fit_energy_limit(0.04 + 2.5 / n)
    assert limit == pytest.approx(0.04) and initial == pytest.approx(2.5)


def test_autocorrelation_peaks_at_the_centre(rng):
    acf = autocorrelation(rng.normal(size=(16, 16)))
    assert acf[8, 8] == pytest.approx(1.0) and np.abs(acf).max() == pytest.approx(1.0)


def test_correlation_matrix_is_diagonal_dominant(rng):
    patterns = rng.normal(0, 1, size=(3, 16, 16))
    analyses = []
    for k, p in enumerate(patterns):
        test = p + rng.normal(0, 2, size=(20, 16, 16))
        analyses.append(SourceAnalysis(f"s{k}", {50: p.astype(np.float32)}, np.ones(50), test))
    matrix = correlation_matrix(analyses)
    assert np.all(np.diag(matrix) > matrix.max(axis=1, initial=-1, where=~np.eye(3, dtype=bool)))


def test_pairwise_auc_separates_distinct_patterns_only(rng):
    patterns = rng.normal(0, 1, size=(3, 16, 16))
    patterns[2] = patterns[1]  # two sources share a fingerprint: same vs cross is chance for them
    analyses = [SourceAnalysis(f"s{k}", {50: p.astype(np.float32)}, np.ones(50),
                               p + rng.normal(0, 3, size=(60, 16, 16))) for k, p in enumerate(patterns)]
    aucs = pairwise_auc(analyses)
    assert np.isnan(np.diag(aucs)).all()
    assert aucs[0, 1] > 0.9 and aucs[1, 0] > 0.9 and aucs[2, 0] > 0.9
    assert aucs[1, 2] == pytest.approx(0.5) and aucs[2, 1] == pytest.approx(0.5)


def test_analyse_writes_every_figure(tmp_path):
    X, y = synthetic_sources(20, 32, n_generated=2, seed=3)
    summary = analyse(split_dataset(X, y), tmp_path, max_n=16)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"energy.png", "autocorrelation.png", "correlation_matrix.png", "same_vs_cross.png",
            "fingerprint_gen0.png", "summary.json"} <= names
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    assert summary["two_source"]["pair"] == ["gen0", "gen1"]
    assert summary["pairwise_auc"]["sources"] == ["gen0", "gen1"]
    assert summary["pairwise_auc"]["auc"][0][1] == summary["two_source"]["auc"]["gen0"]
    assert summary["sources"]["gen0"]["n_fingerprint"] == 12
    strip = np.asarray(Image.open(tmp_path / "fingerprint_gen0.png"))
    assert strip.shape[0] == 128 and np.array_equal(strip[:4, :4], np.full((4, 4), strip[0, 0]))  # 32 px shown ×4
    with pytest.raises(ValueError, match="pair"):
        analyse(split_dataset(X, y), tmp_path, max_n=4, pair=["gen0", "nope"])
