"""``bench visnet``: the Fig. 7 pictures of Yu et al. 2019 from a folder dataset."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from conftest import run_bench, write_folder


def test_bench_visnet_writes_the_fig7_pictures(tmp_path, monkeypatch) -> None:
    folder = write_folder(tmp_path / "images", n_per_source=10, size=16, n_generated=2)
    out = tmp_path / "out"
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    done = run_bench("visnet", "--dataset", f"folder:{folder}", "--out", str(out), "--max-epochs", "1",
                     "--width", "8", "--samples", "2", "--scale", "2")
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    classes = summary["classes"]
    assert sorted(classes) == ["gen0", "gen1", "real"]
    assert np.asarray(summary["mean_response"]).shape == (3, 3)
    assert np.asarray(summary["sample_response"]).shape == (3, 3)
    for name in ["fig7.png", "response_matrix.png"]:
        assert Image.open(out / name).size[0] > 0
    assert Image.open(out / "model_fingerprints.png").size == (3 * 16 * 2, 16 * 2)
    assert Image.open(out / "image_fingerprints.png").size == (2 * 2 * 16 * 2, 3 * 16 * 2)
    for source in classes:
        assert Image.open(out / "model" / f"{source}.png").size == (32, 32)
        assert (out / "image" / f"{source}_1.png").exists()
    assert "mean correlation" in done.stdout


def test_bench_visnet_rejects_bad_sample_count(tmp_path) -> None:
    done = run_bench("visnet", "--dataset", "folder:" + str(tmp_path), "--out", str(tmp_path / "o"),
                     "--samples", "0")
    assert done.returncode == 2 and "--samples" in done.stderr
