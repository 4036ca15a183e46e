"""Issue #29 item 4: a folder dataset never loses a class silently.

- a generator folder that cannot be listed is one "Skipped" line, never a vanished class;
- a dataset left with real images only (or no generated source) is a usage error, not a
  closed-world accuracy of 1.000;
- a decompression-bomb image is one skipped image, not a refused dataset;
- a broken link, or a link to a folder (not followed), is listed, not silently left out.
"""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from ganprint.dataset import DatasetError
from ganprint.datasets.folder import FolderDataset

from conftest import run_bench, write_folder


@pytest.fixture
def unlistable(monkeypatch):
    """Make ``os.scandir`` refuse the given folders as a permission problem would (the tests run as
    root in CI, where chmod cannot take the right to list away)."""
    refused: set[Path] = set()
    scandir = os.scandir

    def guarded(path="."):
        if Path(path) in refused:
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", guarded)
    return refused


def test_a_generator_folder_that_cannot_be_listed_is_one_skipped_line(tmp_path: Path, unlistable) -> None:
    root = write_folder(tmp_path / "d", n_per_source=10, n_generated=2)
    unlistable.add(root / "gen1")
    dataset = FolderDataset(root)
    assert dataset.sources == ["real", "gen0"]
    assert [(s.id, s.reason.split(":")[0]) for s in dataset.skipped] == [("gen1/", "folder cannot be listed")]
    assert "PermissionError" in dataset.skipped[0].reason


def test_the_only_generator_folder_cannot_be_listed_is_a_usage_error(tmp_path: Path, unlistable) -> None:
    root = write_folder(tmp_path / "d", n_per_source=10, n_generated=1)
    unlistable.add(root / "gen0")
    with pytest.raises(DatasetError, match=r"only 'real'.*gen0/: folder cannot be listed"):
        FolderDataset(root)


def only_real(root: Path, with_gen_folder: bool) -> Path:
    write_folder(root, n_per_source=10, n_generated=1)
    for image in (root / "gen0").iterdir():
        if with_gen_folder:
            image.write_bytes(b"not an image at all")
        else:
            image.unlink()
    if not with_gen_folder:
        (root / "gen0").rmdir()
    return root


@pytest.mark.parametrize("with_gen_folder", [False, True], ids=["real-only", "unreadable-generator"])
def test_a_dataset_of_real_images_only_is_exit_2(tmp_path: Path, with_gen_folder: bool) -> None:
    root = only_real(tmp_path / "d", with_gen_folder)
    result = run_bench("run", "--plugins", "knn", "--dataset", f"folder:{root}", "--store", str(tmp_path / "s.db"))
    assert result.returncode == 2, result.stdout
    assert "only 'real'" in result.stderr and "1.000" not in result.stdout
    if with_gen_folder:
        assert "gen0/0010.png" in result.stderr   # says what was skipped


def png_header_only(width: int, height: int) -> bytes:
    """A PNG announcing ``width`` x ``height`` pixels, with a few bytes of data: a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_one_skipped_image(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n_per_source=10)
    (root / "gen0" / "bomb.png").write_bytes(png_header_only(40000, 40000))
    dataset = FolderDataset(root)
    assert len(dataset.records()) == 30
    assert [s.id for s in dataset.skipped] == ["gen0/bomb.png"]
    assert "decompression bomb" in dataset.skipped[0].reason
    result = run_bench("run", "--plugins", "knn", "--dataset", f"folder:{root}", "--store", str(tmp_path / "s.db"))
    assert result.returncode == 0, result.stderr
    assert "Skipped images (1):" in result.stdout and "gen0/bomb.png: decompression bomb" in result.stdout


def test_links_that_are_not_read_are_listed_as_skipped(tmp_path: Path) -> None:
    root = write_folder(tmp_path / "d", n_per_source=10)
    (root / "gen0" / "gone.png").symlink_to(tmp_path / "nowhere.png")
    elsewhere = write_folder(tmp_path / "elsewhere", n_per_source=3, n_generated=0) / "real"
    (root / "gen1" / "more").symlink_to(elsewhere, target_is_directory=True)
    dataset = FolderDataset(root)
    assert len(dataset.records()) == 30
    reasons = {s.id: s.reason for s in dataset.skipped}
    assert reasons == {"gen0/gone.png": "not a regular file (a broken link, socket or device)",
                       "gen1/more/": "a link to a folder is not followed"}
