"""folder:PATH layouts: ganprint's own, own train/val/test folders, Wang et al. 2020, GenImage; manifests.

Each layout is built here as a small synthetic tree; the expected sources, splits and counts are
worked out from the tree and the documented split rule.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganprint.dataset import DatasetError, assign_splits
from ganprint.datasets.folder import FolderDataset
from ganprint.datasets.manifest import ManifestDataset

from conftest import run_bench, write_folder


def put(folder: Path, n: int, size: int = 32, seed: int = 0, start: int = 0) -> list[Path]:
    """``n`` random PNG images in ``folder``, named start.png, start+1.png, ..."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        path = folder / f"{i:03d}.png"
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def counts(dataset) -> Counter:
    return Counter((r.source, r.split) for r in dataset.records())


def test_own_layout_keeps_its_records_splits_and_hash(tmp_path: Path) -> None:
    """The documented rule, recomputed here: ids are relative paths in path order, each source's
    files hashed 60/20/20, and the hash covers size, labels, splits and file bytes."""
    root = write_folder(tmp_path / "d", n_per_source=12)
    put(root / "gen0" / "nested", 3, seed=1)
    (root / "gen1" / "notes.txt").write_text("not an image")
    dataset = FolderDataset(root)
    assert dataset.layout == "sources"
    expected = []
    for source in ("gen0", "gen1", "real"):
        files = sorted((p for p in (root / source).rglob("*.png")), key=lambda p: p.relative_to(root).parts)
        keys = [p.relative_to(root).as_posix() for p in files]
        expected += list(zip(keys, [source] * len(keys), assign_splits(keys)))
    assert [(r.id, r.source, r.split) for r in dataset.records()] == expected
    digest = hashlib.sha256(b"size=32\n")
    for key, source, split in expected:
        digest.update(f"{key}\0{source}\0{split}\0".encode() + (root / key).read_bytes())
    assert dataset.content_hash() == digest.hexdigest()[:16]
    assert [s.id for s in dataset.skipped] == ["gen1/notes.txt"]


def test_wang2020_layout(tmp_path: Path) -> None:
    root = tmp_path / "cnndetection"
    for category in ("airplane", "cat"):
        put(root / "progan" / category / "0_real", 5, seed=1)
        put(root / "progan" / category / "1_fake", 5, seed=2)
    put(root / "stylegan" / "0_real", 10, seed=3)   # no category level
    put(root / "stylegan" / "1_fake", 10, seed=4)
    put(root / "progan" / "dog" / "unrelated", 2)   # a category without 0_real/1_fake
    put(root / "notes", 1)                           # a top folder that is no generator
    dataset = FolderDataset(root)
    assert dataset.layout == "wang2020"
    assert dataset.sources == ["real", "progan", "stylegan"]
    total = Counter(r.source for r in dataset.records())
    assert total == {"real": 20, "progan": 10, "stylegan": 10}
    # 20 real images hashed 60/20/20 -> 12/4/4; 10 per generator -> 6/2/2
    assert counts(dataset)[("real", "train")] == 12 and counts(dataset)[("progan", "test")] == 2
    assert {r.id for r in dataset.records() if r.source == "real"} >= {"progan/airplane/0_real/000.png",
                                                                       "stylegan/0_real/009.png"}
    assert {s.id: s.reason for s in dataset.skipped}.keys() == {"progan/dog/", "notes/"}


def test_genimage_layout_val_is_the_test_split(tmp_path: Path) -> None:
    root = tmp_path / "genimage"
    put(root / "sdv4" / "train" / "nature", 8, seed=1)
    put(root / "sdv4" / "train" / "ai", 8, seed=2)
    put(root / "sdv4" / "val" / "nature", 3, seed=3)
    put(root / "sdv4" / "val" / "ai", 3, seed=4)
    inner = root / "ADM" / "imagenet_ai_0508_adm"   # the published archives' extra level
    put(inner / "train" / "nature", 4, seed=5)
    put(inner / "train" / "ai", 4, seed=6)
    put(inner / "val" / "ai", 2, seed=7)
    dataset = FolderDataset(root)
    assert dataset.layout == "genimage"
    assert dataset.sources == ["real", "ADM", "sdv4"]
    c = counts(dataset)
    # GenImage's val folders are the test split, exactly
    assert {r.id for r in dataset.records() if r.split == "test"} == {
        *(f"sdv4/val/{part}/{i:03d}.png" for part in ("nature", "ai") for i in range(3)),
        *(f"ADM/imagenet_ai_0508_adm/val/ai/{i:03d}.png" for i in range(2))}
    # training folders hashed 75/25 into train/val per source: real 12 -> 9/3, sdv4 8 -> 6/2, ADM 4 -> 3/1
    assert (c[("real", "train")], c[("real", "val")]) == (9, 3)
    assert (c[("sdv4", "train")], c[("sdv4", "val")]) == (6, 2)
    assert (c[("ADM", "train")], c[("ADM", "val")]) == (3, 1)


def test_own_split_folders_are_used_instead_of_hashing(tmp_path: Path) -> None:
    root = tmp_path / "split"
    for split, n in (("train", 6), ("val", 2), ("test", 3)):
        put(root / split / "real", n, seed=1)
        put(root / split / "gan", n, seed=2)
    dataset = FolderDataset(root)
    assert dataset.layout == "splits(sources)"
    assert all(r.split == r.id.split("/")[0] for r in dataset.records())
    assert counts(dataset) == {(s, split): n for s in ("real", "gan") for split, n in
                               (("train", 6), ("val", 2), ("test", 3))}


def test_split_folders_without_val_carve_it_from_train_and_may_hold_wang_trees(tmp_path: Path) -> None:
    root = tmp_path / "split"
    put(root / "train" / "progan" / "cat" / "0_real", 8, seed=1)
    put(root / "train" / "progan" / "cat" / "1_fake", 8, seed=2)
    put(root / "test" / "progan" / "0_real", 2, seed=3)
    put(root / "test" / "progan" / "1_fake", 2, seed=4)
    put(root / "test" / "biggan" / "0_real", 2, seed=5)
    put(root / "test" / "biggan" / "1_fake", 2, seed=6)
    dataset = FolderDataset(root)
    assert dataset.layout == "splits(wang2020)"
    c = counts(dataset)
    assert (c[("real", "train")], c[("real", "val")], c[("real", "test")]) == (6, 2, 4)
    assert (c[("progan", "train")], c[("progan", "val")], c[("progan", "test")]) == (6, 2, 2)
    assert c[("biggan", "test")] == 2 and c[("biggan", "train")] == 0


def test_a_tree_that_fits_no_layout_is_exit_2_showing_the_expected_trees(tmp_path: Path) -> None:
    put(tmp_path / "d" / "gen" / "sub", 3)
    result = run_bench("run", "--plugins", "knn", "--dataset", f"folder:{tmp_path / 'd'}",
                       "--store", str(tmp_path / "s.db"))
    assert result.returncode == 2
    for tree in ("PATH/real/", "{0_real,1_fake}", "{train,val}/{nature,ai}", "PATH/{train,val,test}/",
                 "manifest:FILE.csv"):
        assert tree in result.stderr


def write_manifest(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n")
    return path


def test_manifest_reads_paths_sources_splits_and_bits(tmp_path: Path) -> None:
    real = put(tmp_path / "imgs" / "r", 3, seed=1)
    fake = put(tmp_path / "imgs" / "f", 3, seed=2)
    rows = ["path,source,split,bits"]
    rows += [f"imgs/r/{p.name},real,{s}," for p, s in zip(real, ("train", "val", "test"))]
    rows += [f"{p},stylegan,{s},{b}" for p, s, b in zip(fake, ("train", "val", "test"), ("0110", "1111", "0000"))]
    dataset = ManifestDataset(write_manifest(tmp_path / "m.csv", rows))
    records = {r.id: r for r in dataset.records()}
    assert records["imgs/r/000.png"].split == "train" and records["imgs/r/000.png"].bits is None
    assert records[str(fake[1])].bits == (1, 1, 1, 1) and records[str(fake[1])].source == "stylegan"
    assert dataset.n_bits == 4 and dataset.sources == ["real", "stylegan"]
    batch = dataset.load("test")
    assert batch.bits is None and len(batch) == 2   # the real test image records no bits


def test_manifest_without_split_hashes_and_skips_missing_files(tmp_path: Path) -> None:
    put(tmp_path / "a", 5, seed=1)
    put(tmp_path / "b", 5, seed=2)
    rows = ["source,path"] + [f"real,a/{i:03d}.png" for i in range(5)] + [f"gan,b/{i:03d}.png" for i in range(5)]
    rows.append("gan,b/missing.png")
    dataset = ManifestDataset(write_manifest(tmp_path / "m.csv", rows))
    keys = [f"a/{i:03d}.png" for i in range(5)]
    assert [r.split for r in dataset.records() if r.source == "real"] == assign_splits(keys)
    assert [s.id for s in dataset.skipped] == ["b/missing.png"]


@pytest.mark.parametrize("rows, message", [
    (["path,source,splt", "a/000.png,real,train"], "unknown splt"),
    (["path", "a/000.png"], "missing source"),
    (["path,source,split", "a/000.png,real,training"], "line 2: split must be one of"),
    (["path,source", "a/000.png,real", "./a/000.png,gan"], "line 3: ./a/000.png is listed already on line 2"),
    (["path,source,bits", "a/000.png,gan,01", "a/001.png,gan2,011"], "different lengths"),
    (["path,source,bits", "a/000.png,gan,0x1"], "0s and 1s"),
    (["path,source", "a/000.png,gan", "a/001.png,gan"], "only one source"),
])
def test_bad_manifests_are_refused_naming_the_line(tmp_path: Path, rows: list[str], message: str) -> None:
    put(tmp_path / "a", 2)
    with pytest.raises(DatasetError, match=message):
        ManifestDataset(write_manifest(tmp_path / "m.csv", rows))


def test_bench_run_on_a_manifest(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "d", n_per_source=10)
    rows = ["path,source"] + [f"d/{p.relative_to(folder).as_posix()},{p.parent.name}"
                              for p in sorted(folder.rglob("*.png"))]
    manifest = write_manifest(tmp_path / "m.csv", rows)
    result = run_bench("run", "--plugins", "knn", "--dataset", f"manifest:{manifest}",
                       "--store", str(tmp_path / "s.db"))
    assert result.returncode == 0, result.stderr
    assert f"dataset manifest:{manifest}" in result.stdout
