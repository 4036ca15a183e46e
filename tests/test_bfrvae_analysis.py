"""BFR-VAE analyses (Ding, Thakur and Li §5): the distribution comparisons and ``bench bfrvae analyse``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_bench
from ganprint.plugins.bfrvae.analysis import (
    FingerprintSpace,
    closer_within,
    compare,
    density_correlation,
    family,
    jensen_shannon,
)
from ganprint.plugins.bfrvae.simulation import photo_crops, simulated_sources


def test_jensen_shannon_is_bounded_and_symmetric():
    p = np.array([0.5, 0.5, 0.0, 0.0])
    q = np.array([0.0, 0.0, 0.5, 0.5])
    r = np.array([0.25, 0.25, 0.25, 0.25])
    assert jensen_shannon(p, p) == 0.0
    assert jensen_shannon(p, q) == pytest.approx(1.0)
    assert jensen_shannon(p, r) == pytest.approx(jensen_shannon(r, p))
    assert 0.0 < jensen_shannon(p, r) < 1.0
    tiny = np.array([5e-324, 1.0 - 5e-324, 0.0])  # half of the smallest subnormal rounds to 0
    assert 0.0 <= jensen_shannon(tiny, np.array([0.0, 0.0, 1.0])) <= 1.0


def test_same_distribution_is_closer_than_a_shifted_one():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (300, 5)), rng.normal(0, 1, (300, 5))
    shifted = rng.normal(0, 1, (300, 5)) + 2.0
    space = FingerprintSpace({"a": a, "shifted": shifted}, n_components=2)
    jsd, corr = compare(space, {"b": b}, {"a": a, "shifted": shifted})
    assert jsd[0, 0] < 0.1 < jsd[0, 1]
    assert corr[0, 0] > 0.9 > corr[0, 1]
    assert density_correlation(np.ones(4), np.arange(4.0)) == 0.0


def test_family_strips_the_seed_suffix():
    assert family("progan_s3") == "progan" == family("progan-seed12") == family("progan7")
    assert family("real") == "real"
    jsd = np.array([[0.1, 0.5], [0.6, 0.2]])
    assert closer_within(["a_s2", "b_s2"], ["a_s0", "b_s0"], jsd)["fraction_closer"] == 1.0
    assert closer_within(["b_s2", "a_s2"], ["a_s0", "b_s0"], jsd)["fraction_closer"] == 0.0


def _write_sources(root: Path) -> Path:
    """real crops and two sine "families" of two seeds each (the seed moves the crops and the noise)."""
    rng = np.random.default_rng(0)
    sets = {"real": photo_crops(20, 32, rng)}
    for seed in (0, 1):
        X, y = simulated_sources(20, (0.0, 90.0), seed=seed + 1)
        sets[f"sine0_s{seed}"], sets[f"sine90_s{seed}"] = X[y == "set0"], X[y == "set1"]
    for source, images in sets.items():
        (root / source).mkdir(parents=True)
        for i, image in enumerate(images):
            Image.fromarray(image).save(root / source / f"{i:03d}.png")
    return root


def test_bench_bfrvae_analyse_writes_tables_and_figures(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    folder = _write_sources(tmp_path / "images")
    out = tmp_path / "out"
    result = run_bench("bfrvae", "analyse", "--dataset", f"folder:{folder}", "--out", str(out),
                       "--reference", "real,*_s0", "--attacks", "noise,jpeg", "--max-epochs", "2",
                       "--latent-dim", "8", "--components", "2")
    assert result.returncode == 0, result.stderr
    for name in ("jsd_correlation.png", "pca_density.png", "jsd_correlation_noise.png", "jsd_correlation_jpeg.png"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["reference"] == ["real", "sine0_s0", "sine90_s0"]
    assert summary["clean"]["rows"][3:] == ["sine0_s1", "sine90_s1"]
    jsd = np.asarray(summary["clean"]["jsd"])
    assert jsd.shape == (5, 3) and np.allclose(np.diag(jsd[:3]), 0.0) and (jsd >= 0).all() and (jsd <= 1).all()
    assert summary["unseen_family_closer"]["n_rows"] == 2
    assert summary["training_labels"] == ["real", "sine0", "sine90"]
    assert set(summary["attacks"]) == {"noise", "jpeg"}
    assert 0 <= summary["attacks"]["noise"]["own_source_closest"] <= summary["attacks"]["noise"]["own_family_closest"] <= 1
    assert "JSD / corr" in result.stdout and "sine90_s1" in result.stdout


def test_bench_bfrvae_analyse_rejects_an_unknown_reference(tmp_path):
    folder = _write_sources(tmp_path / "images")
    result = run_bench("bfrvae", "analyse", "--dataset", f"folder:{folder}", "--out", str(tmp_path / "out"),
                       "--reference", "nosuch*", "--attacks", "none")
    assert result.returncode == 2 and "nosuch" in result.stderr
