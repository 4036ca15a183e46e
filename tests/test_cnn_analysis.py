"""The pieces around the cnn plugin: the fitted-weight cache, FD ratio, t-SNE plot, NLPD and the
artifact-free subset, and the `bench export` / `bench cnn` commands."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.linalg import sqrtm

from ganprint.benchmark.cli import main
from ganprint.plugins.cnn.feature_analysis import fd_ratio, frechet_distance, tsne_plot
from ganprint.fitted_cache import cached_fit, fitted_path, load_fitted, save_fitted
from ganprint.plugins.cnn.perceptual import artifact_free_mask, nearest_distance, nlpd


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))


def test_fitted_cache_round_trip_and_corruption(tmp_path) -> None:
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    path = tmp_path / "entry.safetensors"
    save_fitted(path, {"m": a}, {"classes": ["x", "y"], "epochs": 3})
    assert load_fitted(path, {"m": b}) == {"classes": ["x", "y"], "epochs": 3}
    assert torch.equal(a.weight, b.weight)
    assert load_fitted(path, {"m": torch.nn.Linear(4, 2)}) is None
    path.write_bytes(path.read_bytes()[:-4] + b"\0\0\0\0")
    assert load_fitted(path, {"m": b}) is None


def test_cached_fit_trains_once_per_key() -> None:
    X = np.zeros((4, 8, 8, 3), np.uint8)
    y = np.array(["real", "a", "a", "b"])
    calls = []

    def train(module):
        def run():
            calls.append(1)
            torch.nn.init.constant_(module.weight, 0.5)
            return {"n": len(calls)}
        return run

    m = torch.nn.Linear(2, 2)
    assert cached_fit("t", {"p": 1}, X, y, {"m": m}, train(m))[2] is False
    m2 = torch.nn.Linear(2, 2)
    meta, key, hit = cached_fit("t", {"p": 1}, X, y, {"m": m2}, train(m2))
    assert hit and meta == {"n": 1} and torch.all(m2.weight == 0.5)
    assert fitted_path("t", key).exists()
    cached_fit("t", {"p": 2}, X, y, {"m": m2}, train(m2))
    cached_fit("t", {"p": 1}, X, y[::-1], {"m": m2}, train(m2))
    cached_fit("t", {"p": 1}, X, y, {"m": m2}, train(m2), enabled=False)
    assert len(calls) == 4


def test_frechet_distance_matches_matrix_square_root() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 6)), rng.normal(1.0, 2.0, size=(50, 6)) @ rng.normal(size=(6, 6))
    ca, cb = np.cov(a.T), np.cov(b.T)
    reference = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * sqrtm(ca @ cb).real)
    assert frechet_distance(a, b) == pytest.approx(reference, rel=1e-6)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_fd_ratio_grows_with_separation() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(["real", "g1", "g2"], 40)
    centres = {"real": 0.0, "g1": 1.0, "g2": 2.0}
    near = rng.normal(size=(120, 5)) + 0.2 * np.array([centres[s] for s in labels])[:, None]
    far = near + 5.0 * np.array([centres[s] for s in labels])[:, None]
    assert fd_ratio(far, labels)["ratio"] > 10 * fd_ratio(near, labels)["ratio"]


def test_tsne_plot_writes_png(tmp_path) -> None:
    rng = np.random.default_rng(0)
    path = tsne_plot({"a": rng.normal(size=(30, 4)), "b": rng.normal(size=(30, 8))},
                     np.repeat(["real", "g"], 15), tmp_path / "t.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nlpd_and_nearest_distance() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(12, 16, 16, 3), dtype=np.uint8)
    assert np.allclose(nlpd(images, images), 0.0)
    brute = [nlpd(np.repeat(q[None], 8, 0), images[:8]).min() for q in images[8:]]
    assert np.allclose(nearest_distance(images[8:], images[:8]), brute)


def test_artifact_free_subset_keeps_images_nearest_to_real() -> None:
    rng = np.random.default_rng(0)
    real = rng.integers(60, 200, size=(10, 16, 16, 3)).astype(np.int16)
    noise = rng.normal(size=(20, 16, 16, 3))
    strength = np.linspace(1, 60, 20)[:, None, None, None]
    generated = np.clip(real[np.arange(20) % 10] + strength * noise, 0, 255).astype(np.uint8)
    labels = np.array(["g"] * 20)
    mask = artifact_free_mask(generated, labels, real.astype(np.uint8), fraction=0.1)
    assert np.flatnonzero(mask).tolist() == [0, 1]


def test_bench_export_writes_matching_onnx(image_folder, tmp_path, capsys) -> None:
    out = tmp_path / "cnn.onnx"
    assert main(["export", "cnn.patch6", "--dataset", f"folder:{image_folder}", "--onnx", str(out)]) == 0
    printed = capsys.readouterr().out
    difference = float(printed.split("max abs difference ")[1].split()[0])
    assert out.exists() and difference <= 1e-4


def test_bench_export_refuses_non_torch_detector(image_folder, tmp_path, capsys) -> None:
    assert main(["export", "knn", "--dataset", f"folder:{image_folder}", "--onnx", str(tmp_path / "k.onnx")]) == 2
    assert "not torch-based" in capsys.readouterr().err


def test_bench_cnn_prints_tables_and_writes_outputs(image_folder, tmp_path, capsys) -> None:
    out = tmp_path / "analysis"
    args = ["cnn", "--dataset", f"folder:{image_folder}", "--out", str(out), "--max-epochs", "2", "--variant-max-epochs", "1", "--width", "4",
            "--baselines", "knn"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    for title in ("Table 4 analogue", "Table 5 analogue", "Table 6 analogue", "FD ratio"):
        assert title in printed
    summary = json.loads((out / "summary.json").read_text())
    assert [r["resolution"] for r in summary["table4"]] == [32, 16, 8, 4]
    assert [r["patch_size"] for r in summary["table5"]] == [6, 16, 36, None]
    assert set(summary["table6"]) == {"knn", "cnn"}
    assert len(summary["fits"]) == 10  # the full network, 6 band variants, 3 patch variants
    assert {key: fit["epochs"] for key, fit in summary["fits"].items() if fit["epochs"] != 1} == {"{}": 2}
    assert (out / "tsne.png").exists()
