"""``bench prnu analyse``: the Marra et al. 2019 analyses from the command line."""
from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from ganprint.benchmark.cli import main
from ganprint.testing import synthetic_sources


def image_folder(root: Path) -> Path:
    X, y = synthetic_sources(15, 32, n_generated=2, seed=5)
    for i, (image, label) in enumerate(zip(X, y)):
        (root / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / label / f"{i:03d}.png")
    return root


def test_analyse_writes_figures_and_prints_numbers(tmp_path, capsys):
    folder = image_folder(tmp_path / "images")
    out = tmp_path / "out"
    assert main(["prnu", "analyse", "--dataset", f"folder:{folder}", "--out", str(out), "--max-n", "8"]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert "same vs cross AUC (gen0, gen1)" in printed and "E∞ fit" in printed
    assert "same vs cross AUC of every pair" in printed
    assert summary["sources"]["real"]["n_fingerprint"] == 8
    assert (out / "fingerprint_gen1.png").exists() and (out / "correlation_matrix.png").exists()


def test_analyse_reports_bad_options_as_usage_errors(tmp_path, capsys):
    folder = image_folder(tmp_path / "images")
    code = main(["prnu", "analyse", "--dataset", f"folder:{folder}", "--out", str(tmp_path / "o"),
                 "--pair", "gen0,nope"])
    assert code == 2 and "pair must name two" in capsys.readouterr().err
    assert main(["prnu", "analyse", "--dataset", "folder:/no/such/path", "--out", str(tmp_path / "o")]) == 2
