"""folder:PATH: conversion rules, size rule, skipped files, deterministic splits, clear errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganprint.dataset import DatasetError
from ganprint.datasets.decode import fit_to_size, read_image
from ganprint.datasets.folder import FolderDataset

from conftest import run_bench, write_folder


def test_modes_become_rgb_uint8(tmp_path: Path, rng) -> None:
    gray = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "gray.png")
    rgba = rng.integers(0, 256, (32, 32, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(rgba[:, :, :3]).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "pal.png")
    deep = (gray.astype(np.uint16) * 257)
    Image.fromarray(deep).save(tmp_path / "deep.png")

    g = read_image(tmp_path / "gray.png")
    assert g.dtype == np.uint8 and g.shape == (32, 32, 3)
    assert (g == gray[:, :, None]).all()
    assert (read_image(tmp_path / "rgba.png") == rgba[:, :, :3]).all()
    with Image.open(tmp_path / "pal.png") as p:
        assert (read_image(tmp_path / "pal.png") == np.asarray(p.convert("RGB"))).all()
    assert (read_image(tmp_path / "deep.png")[:, :, 0] == gray).all()


def test_fit_to_size_centre_crops_then_resizes() -> None:
    image = np.zeros((40, 60, 3), np.uint8)
    image[:, 10:50] = 200  # the centred 40x40 square
    out = fit_to_size(image, 20)
    assert out.shape == (20, 20, 3) and (out == 200).all()


def test_folder_skips_bad_files_and_keeps_the_rest(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n_per_source=10)
    good = root / "real" / "0000.png"
    (root / "real" / "truncated.png").write_bytes(good.read_bytes()[:60])
    (root / "real" / "notes.txt").write_text("not an image")
    (root / "gen0" / "fake.png").write_bytes(b"\x89PNG garbage")
    (root / "gen0" / ".hidden.png").write_bytes(b"ignored")
    Image.new("RGB", (64, 48), (10, 20, 30)).save(root / "gen1" / "big.jpg")
    dataset = FolderDataset(root)
    assert dataset.image_size == 32
    assert set(dataset.sources) == {"real", "gen0", "gen1"}
    total = sum(len(b) for split in ("train", "val", "test") for b in dataset.batches(split, 4))
    skipped = {s.id: s.reason for s in dataset.skipped}
    assert total == 31 and set(skipped) == {"real/truncated.png", "real/notes.txt", "gen0/fake.png"}
    assert "not an image file" in skipped["real/notes.txt"]


def test_splits_are_deterministic_and_stable(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n_per_source=30)
    first = {r.id: r.split for r in FolderDataset(root).records()}
    assert {r.id: r.split for r in FolderDataset(root).records()} == first
    counts = FolderDataset(root).count("test")
    assert all(n == 6 for n in counts.values())


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no source folders"),
    (lambda p: (p / "x" / "gen").mkdir(parents=True) or p / "x", "no 'real' folder"),
])
def test_unusable_folders_raise(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        FolderDataset(make(tmp_path))


def test_cli_reports_a_bad_folder_in_one_line_with_exit_2(tmp_path: Path) -> None:
    result = run_bench("run", "--dataset", f"folder:{tmp_path / 'nope'}", "--store", str(tmp_path / "s.db"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "does not exist" in result.stderr
