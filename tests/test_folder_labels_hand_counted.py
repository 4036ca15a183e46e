"""folder:PATH on small trees whose labels, splits and skipped entries are listed by hand.

Each test builds a tree of tiny PNG files and writes down, from the layout rules of
``ganprint.datasets.layouts`` (module docstring), which file is ``real``, which a generator's
source, which split it lands in, and which entries are skipped and why. Splits that a layout
hashes are counted with the cut rule of ``assign_splits`` (60/20/20, or 75/25 for a given
training set; 2 keys at 60/20/20 are 1 train + 1 test, 3 are 1/1/1).
"""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganprint.dataset import DatasetError
from ganprint.datasets import indexing
from ganprint.datasets.decode import UnreadableImage
from ganprint.datasets.folder import FolderDataset
from ganprint.datasets.image_files import FileEntry, ImageFileDataset


def img(path: Path, side: int = 8, height: int | None = None, value: int = 0) -> Path:
    """A ``side`` wide, ``height`` (default ``side``) high PNG of one grey level."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (side, height or side), (value, value, value)).save(path)
    return path


def tree(root: Path, files: list[str]) -> Path:
    for name in files:
        img(root / name)
    return root


def labels(dataset) -> dict[str, str]:
    return {r.id: r.source for r in dataset.records()}


def splits(dataset) -> dict[str, str]:
    return {r.id: r.split for r in dataset.records()}


def tally(dataset) -> Counter:
    return Counter((r.source, r.split) for r in dataset.records())


def skipped(dataset) -> dict[str, str]:
    """id -> reason of the skipped entries; each is listed once."""
    ids = [s.id for s in dataset.skipped]
    assert len(ids) == len(set(ids)), ids
    return {s.id: s.reason for s in dataset.skipped}


def test_sources_layout_labels_order_and_skips(tmp_path: Path) -> None:
    root = tree(tmp_path / "d", ["real/a.png", "real/deep/x/b.png", "real/c.png", "real/a/b.png", "real/a-b.png",
                                 "gan1/c.png",
                                 "gan1/sub/d.png", "gan2/e.png", "gan2/f.jpg.png", "real/.hidden.png",
                                 ".hiddendir/g.png", "stray.png"])
    (root / "real" / "readme.txt").write_text("not an image")
    (root / "notes.md").write_text("a text file beside the sources is no image: not reported")
    dataset = FolderDataset(root)
    assert dataset.layout == "sources"
    # folders by name, files below each by path; every file below real/ is real, at any depth
    assert [(r.id, r.source) for r in dataset.records()] == [
        ("gan1/c.png", "gan1"), ("gan1/sub/d.png", "gan1"),
        ("gan2/e.png", "gan2"), ("gan2/f.jpg.png", "gan2"),
        # by path parts: ("a", "b.png") < ("a-b.png",) < ("a.png",) ("-" is before "."), though the
        # string "real/a-b.png" sorts before "real/a/b.png"
        ("real/a/b.png", "real"), ("real/a-b.png", "real"), ("real/a.png", "real"), ("real/c.png", "real"),
        ("real/deep/x/b.png", "real")]
    assert dataset.sources == ["real", "gan1", "gan2"]
    assert skipped(dataset) == {"real/readme.txt": "not an image file (suffix .txt)",
                                "stray.png": "outside the layout (not in a source folder)"}
    # hashed per source: 2 gan1 files -> 1 train + 1 test, 2 gan2 -> 1 + 1, 5 real -> 3/1/1
    assert tally(dataset) == {("gan1", "train"): 1, ("gan1", "test"): 1, ("gan2", "train"): 1,
                              ("gan2", "test"): 1, ("real", "train"): 3, ("real", "val"): 1, ("real", "test"): 1}


def test_splits_layout_with_val_keeps_every_split(tmp_path: Path) -> None:
    root = tree(tmp_path / "d", ["train/real/1.png", "train/real/2.png", "train/gan/1.png",
                                 "val/real/1.png", "val/gan/1.png", "val/gan/2.png",
                                 "test/real/1.png", "test/gan/1.png", "test/gan/2.png", "test/gan/3.png",
                                 "loose.png", "train/loose.png"])
    dataset = FolderDataset(root)
    assert dataset.layout == "splits(sources)"
    assert labels(dataset) == {
        "train/real/1.png": "real", "train/real/2.png": "real", "train/gan/1.png": "gan",
        "val/real/1.png": "real", "val/gan/1.png": "gan", "val/gan/2.png": "gan",
        "test/real/1.png": "real", "test/gan/1.png": "gan", "test/gan/2.png": "gan", "test/gan/3.png": "gan"}
    assert all(split == key.split("/")[0] for key, split in splits(dataset).items())
    assert skipped(dataset) == {"loose.png": "outside the layout (not in a split folder)",
                                "train/loose.png": "outside the layout (not in a source folder)"}


def test_splits_layout_without_val_hashes_train_75_25(tmp_path: Path) -> None:
    # train/real: 4 files -> round(3.0) = 3 train + 1 val; train/gan: 2 files -> 1 + 1 (each split one)
    root = tree(tmp_path / "d", [*(f"train/real/{i}.png" for i in range(4)), "train/gan/0.png",
                                 "train/gan/1.png", "test/real/0.png", "test/gan/0.png", "test/gan/1.png"])
    dataset = FolderDataset(root)
    assert dataset.layout == "splits(sources)"
    assert tally(dataset) == {("real", "train"): 3, ("real", "val"): 1, ("real", "test"): 1,
                              ("gan", "train"): 1, ("gan", "val"): 1, ("gan", "test"): 2}
    assert {k for k, s in splits(dataset).items() if s == "test"} == {"test/real/0.png", "test/gan/0.png",
                                                                      "test/gan/1.png"}


def test_splits_layout_names_both_inner_layouts(tmp_path: Path) -> None:
    root = tree(tmp_path / "d", ["train/real/0.png", "train/gan/0.png",
                                 "test/progan/0_real/0.png", "test/progan/1_fake/0.png"])
    dataset = FolderDataset(root)
    assert dataset.layout == "splits(sources,wang2020)"
    assert labels(dataset) == {"train/real/0.png": "real", "train/gan/0.png": "gan",
                               "test/progan/0_real/0.png": "real", "test/progan/1_fake/0.png": "progan"}
    # one real and one gan training file: 75/25 of one key is train
    assert splits(dataset) == {"train/real/0.png": "train", "train/gan/0.png": "train",
                               "test/progan/0_real/0.png": "test", "test/progan/1_fake/0.png": "test"}


@pytest.mark.parametrize("top", [["train", "val"], ["train", "test", "extra"], ["test"]])
def test_not_a_splits_layout_without_train_and_test_only(tmp_path: Path, top: list[str]) -> None:
    """PATH holds exactly train/ + test/ (+ val/) to be a splits layout; else no layout fits."""
    root = tree(tmp_path / "d", [f"{t}/real/0.png" for t in top] + [f"{t}/gan/0.png" for t in top])
    with pytest.raises(DatasetError, match="fits none of the known layouts"):
        FolderDataset(root)


def test_a_split_folder_holding_no_known_tree_is_refused(tmp_path: Path) -> None:
    root = tree(tmp_path / "d", ["train/real/0.png", "train/gan/0.png", "test/gan/sub/0.png"])
    with pytest.raises(DatasetError, match=r"test holds neither a 'real' folder nor 0_real/1_fake folders"):
        FolderDataset(root)


def test_wang2020_labels_with_and_without_categories(tmp_path: Path) -> None:
    root = tree(tmp_path / "w", [
        "progan/cat/0_real/r1.png", "progan/cat/1_fake/f1.png", "progan/cat/1_fake/f2.png",
        "progan/dog/0_real/r2.png", "progan/dog/other/x.png",   # other/: not 0_real or 1_fake
        "progan/horse/notes/y.png",                               # a category with neither
        "progan/stray.png",                                       # an image beside the categories
        "biggan/0_real/r3.png", "biggan/1_fake/f3.png", "biggan/extra/z.png",
        "biggan/stray.png",                                       # an image beside 0_real/ and 1_fake/
        "readme/a.png",                                           # a top folder fitting nothing
        "docs/sub/b.png",                                         # ... nor do its sub-folders
        "top.png"])
    dataset = FolderDataset(root)
    assert dataset.layout == "wang2020"
    assert labels(dataset) == {
        "biggan/0_real/r3.png": "real", "biggan/1_fake/f3.png": "biggan",
        "progan/cat/0_real/r1.png": "real", "progan/cat/1_fake/f1.png": "progan",
        "progan/cat/1_fake/f2.png": "progan", "progan/dog/0_real/r2.png": "real"}
    assert skipped(dataset) == {
        "biggan/extra/": "not part of the wang2020 layout",
        "progan/dog/other/": "not part of the wang2020 layout",
        "progan/horse/": "holds no 0_real/ or 1_fake/ folder (wang2020 layout)",
        "progan/stray.png": "outside the layout (wang2020 layout)",
        "biggan/stray.png": "outside the layout (wang2020 layout)",
        "readme/": "holds no 0_real/ or 1_fake/ folders (wang2020 layout)",
        "docs/": "holds no 0_real/ or 1_fake/ folders (wang2020 layout)",
        "top.png": "outside the layout (not in a generator folder)"}
    # hashed 60/20/20 per source: 3 real -> 1/1/1, 2 progan -> 1 train + 1 test, 1 biggan -> train
    assert tally(dataset) == {("real", "train"): 1, ("real", "val"): 1, ("real", "test"): 1,
                              ("progan", "train"): 1, ("progan", "test"): 1, ("biggan", "train"): 1}


def test_genimage_labels_val_is_test_and_train_is_75_25(tmp_path: Path) -> None:
    root = tree(tmp_path / "g", [
        *(f"sd/train/nature/{i}.png" for i in range(4)), "sd/train/ai/0.png", "sd/train/ai/1.png",
        "sd/val/nature/0.png", "sd/val/ai/0.png", "sd/val/ai/1.png",
        "sd/train/other/x.png",                       # not nature/ or ai/
        "sd/train/stray.png",                         # an image beside nature/ and ai/
        "sd/extra/y.png",                             # not train/ or val/
        "adm/inner/train/ai/0.png", "adm/inner/val/nature/0.png",
        "adm/notes/z.png", "adm/stray.png",           # beside the inner folder
        "dalle/data/nature/w.png",                    # nature/ but not under train/ or val/
        "top.png"])
    dataset = FolderDataset(root)
    assert dataset.layout == "genimage"
    assert labels(dataset) == {
        **{f"sd/train/nature/{i}.png": "real" for i in range(4)}, "sd/train/ai/0.png": "sd",
        "sd/train/ai/1.png": "sd", "sd/val/nature/0.png": "real", "sd/val/ai/0.png": "sd",
        "sd/val/ai/1.png": "sd", "adm/inner/train/ai/0.png": "adm", "adm/inner/val/nature/0.png": "real"}
    assert {k for k, s in splits(dataset).items() if s == "test"} == {
        "sd/val/nature/0.png", "sd/val/ai/0.png", "sd/val/ai/1.png", "adm/inner/val/nature/0.png"}
    # training files hashed 75/25 per source: 4 real -> 3 + 1, 2 sd -> 1 + 1, 1 adm -> train
    assert tally(dataset) == {("real", "train"): 3, ("real", "val"): 1, ("real", "test"): 2,
                              ("sd", "train"): 1, ("sd", "val"): 1, ("sd", "test"): 2, ("adm", "train"): 1}
    assert skipped(dataset) == {
        "adm/notes/": "not part of the genimage layout",
        "adm/stray.png": "outside the layout (genimage layout)",
        "sd/extra/": "not part of the genimage layout",
        "sd/train/other/": "not part of the genimage layout",
        "sd/train/stray.png": "outside the layout (genimage layout)",
        "top.png": "outside the layout (not in a generator folder)",
        "dalle/": "holds no {train,val}/{nature,ai}/ folders (genimage layout)"}


def test_genimage_and_wang2020_side_by_side_are_refused(tmp_path: Path) -> None:
    root = tree(tmp_path / "m", ["sd/train/nature/0.png", "sd/train/ai/0.png", "adm/val/ai/0.png",
                                 "progan/0_real/0.png", "progan/1_fake/0.png", "biggan/1_fake/0.png"])
    with pytest.raises(DatasetError, match=r"mixes the genimage layout \(adm, sd\) and the wang2020 layout "
                                           r"\(biggan, progan\)"):
        FolderDataset(root)


def test_a_tree_that_fits_no_layout_names_its_folders(tmp_path: Path) -> None:
    root = tree(tmp_path / "d", ["gan/x/0.png", "other/0.png", "test/0.png"])
    with pytest.raises(DatasetError, match=rf"^folder dataset: {root} fits none of the known layouts "
                                           r"\(no 'real' folder; found gan, other, test\);\nexpected one of"):
        FolderDataset(root)


@pytest.mark.parametrize("files, message", [
    (["real/0.png", "real/1.png"], "no readable generated images, only 'real' ones"),
    (["real/x.txt", "gan/0.png"], r"no readable 'real' images \(skipped real/x.txt: not an image file"),
    (["real/.h.png", "gan/0.png"], r"no readable 'real' images$"),
])
def test_folders_without_two_classes_are_refused(tmp_path: Path, files: list[str], message: str) -> None:
    root = tmp_path / "d"
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".txt"):
            (root / name).write_text("x")
        else:
            img(root / name)
    with pytest.raises(DatasetError, match=message):
        FolderDataset(root)


def test_one_generated_source_without_real_is_refused_when_real_is_optional(tmp_path: Path) -> None:
    entries = [FileEntry(f"g/{i}.png", img(tmp_path / f"g/{i}.png"), "gan") for i in range(2)]
    with pytest.raises(DatasetError, match=r"only one source \(gan\)"):
        ImageFileDataset("files", entries, require_real=False)
    two = entries + [FileEntry("h/0.png", img(tmp_path / "h/0.png"), "gan2")]
    assert ImageFileDataset("files", two, require_real=False).sources == ["gan", "gan2"]
    with pytest.raises(DatasetError, match="^files: no readable 'real' images$"):   # real is required by default
        ImageFileDataset("files", two)


def test_skipped_note_shows_five_then_counts_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "d"
    img(root / "gan" / "0.png")
    (root / "real").mkdir()
    for i in range(7):
        (root / "real" / f"{i}.txt").write_text("x")
    with pytest.raises(DatasetError) as raised:
        FolderDataset(root)
    shown = "; ".join(f"real/{i}.txt: not an image file (suffix .txt)" for i in range(5))
    assert str(raised.value).endswith(f"no readable 'real' images (skipped {shown}; and 2 more)")


def test_default_size_is_the_most_common_shorter_side_ties_to_the_smaller(tmp_path: Path) -> None:
    """Shorter sides 8, 8, 12, 12, 16 (a 16x20 image counts 16): 8 and 12 tie -> 8."""
    root = tmp_path / "d"
    img(root / "real" / "a.png", 8)
    img(root / "real" / "b.png", 20, height=8)
    img(root / "gan" / "c.png", 12)
    img(root / "gan" / "d.png", 12, height=30)
    img(root / "gan" / "e.png", 16, height=20)
    assert FolderDataset(root).image_size == 8
    img(root / "gan" / "f.png", 12)   # now 12 is the most common: 3 against 2
    dataset = FolderDataset(root)
    assert dataset.image_size == 12 and dataset.name == f"folder:{root}"
    first = dataset.content_hash()
    other = dataset.with_image_size(6)
    assert other.image_size == 6 and other.name == f"folder:{root}:size=6"
    assert other.content_hash() != first and dataset.content_hash() == first   # the size is hashed
    assert other.content_hash() == FolderDataset(root, image_size=6).content_hash()
    assert dataset.with_image_size(fit="crop").name == f"folder:{root}:size=12:fit=crop"
    other.skip(other.records()[0], "read at 6 px only")
    assert dataset.skipped == [] and len(other.skipped) == 1
    assert dataset.image_size == 12 and FolderDataset(root, image_size=10).name == f"folder:{root}:size=10"
    assert FolderDataset(root, image_fit="crop").name == f"folder:{root}:size=12:fit=crop"


def test_read_decodes_each_record_with_threads_and_skips_broken_files(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for i in range(3):
        img(root / "real" / f"{i}.png", value=10 * i)
        img(root / "gan" / f"{i}.png", value=100 + 10 * i)
    dataset = FolderDataset(root, workers=2)
    records = sorted(dataset.records(), key=lambda r: r.id)   # gan/0..2, real/0..2
    images, kept = dataset.read(records)
    assert [r.id for r in kept] == [r.id for r in records]
    assert images[:, 0, 0, 0].tolist() == [100, 110, 120, 0, 10, 20]
    (root / "gan" / "1.png").write_bytes(b"broken after indexing")
    for workers in (1, 2):
        images, kept = dataset.read(records, workers=workers)
        assert [r.id for r in kept] == ["gan/0.png", "gan/2.png", "real/0.png", "real/1.png", "real/2.png"]
        assert images[:, 0, 0, 0].tolist() == [100, 120, 0, 10, 20]
    assert [s.id for s in dataset.skipped] == ["gan/1.png"]
    assert dataset.skipped[0].reason.startswith("UnidentifiedImageError: cannot identify image file")


def test_content_hash_changes_with_a_label_a_split_bits_or_a_byte(tmp_path: Path) -> None:
    a, b, c = (img(tmp_path / f"{n}.png", value=v) for n, v in (("a", 1), ("b", 2), ("c", 3)))
    def digest(entries):
        return ImageFileDataset("files", entries).content_hash()
    base = [FileEntry("a", a, "real", "train"), FileEntry("b", b, "gan", "test"), FileEntry("c", c, "gan", "val")]
    first = digest(base)
    assert digest(base) == first
    assert digest([base[0], FileEntry("b", b, "gan2", "test"), base[2]]) != first
    assert digest([base[0], FileEntry("b", b, "gan", "val"), base[2]]) != first
    assert digest([base[0], FileEntry("b", b, "gan", "test", (0, 1)), base[2]]) != first
    with_bits = digest([base[0], FileEntry("b", b, "gan", "test", (0, 1)), base[2]])
    assert digest([base[0], FileEntry("b", b, "gan", "test", (1, 0)), base[2]]) != with_bits
    img(b, value=9)
    assert digest(base) != first


def test_read_headers_keeps_the_order_across_chunks_and_threads(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    paths = [img(tmp_path / f"{i}.png", side=4 + i) for i in range(5)]
    paths.insert(2, tmp_path / "missing.png")
    monkeypatch.setattr(indexing, "CHUNK", 2)   # 6 paths -> 3 chunks
    for workers in (1, 3):
        headers = indexing.read_headers(paths, workers=workers)
        assert isinstance(headers[2], UnreadableImage)
        assert [h.width for h in headers if not isinstance(h, UnreadableImage)] == [4, 5, 6, 7, 8]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_links_below_a_source_are_not_followed_and_broken_ones_are_listed(tmp_path: Path) -> None:
    outside = tree(tmp_path / "outside", ["x.png"])
    root = tree(tmp_path / "d", ["real/0.png", "gan/0.png"])
    os.symlink(outside, root / "real" / "linked")
    os.symlink(tmp_path / "nowhere.png", root / "gan" / "broken.png")
    os.symlink(outside / "x.png", root / "gan" / "file-link.png")
    dataset = FolderDataset(root)
    assert labels(dataset) == {"gan/0.png": "gan", "gan/file-link.png": "gan", "real/0.png": "real"}
    assert skipped(dataset) == {"gan/broken.png": "not a regular file (a broken link, socket or device)",
                                "real/linked/": "a link to a folder is not followed"}


@pytest.fixture
def locked(monkeypatch: pytest.MonkeyPatch) -> set[Path]:
    """Folders added to this set cannot be listed (PermissionError), as for a user without the
    permission (the tests may run as root, who reads every folder)."""
    from ganprint.datasets import tree as tree_module
    folders: set[Path] = set()
    listing = tree_module._visible_entries

    def visible_entries(folder: Path):
        if Path(folder) in folders:
            raise PermissionError(13, "Permission denied")
        return listing(folder)

    monkeypatch.setattr(tree_module, "_visible_entries", visible_entries)
    return folders


DENIED = "folder cannot be listed: PermissionError: Permission denied"


def test_sources_layout_lists_unlistable_folders_as_one_line(tmp_path: Path, locked: set[Path]) -> None:
    # real/a/ is listed after real/locked/ (folders below a source are walked last one first):
    # the walk goes on after a folder it cannot list
    root = tree(tmp_path / "d", ["real/0.png", "real/a/3.png", "real/locked/1.png", "real/locked/2.png",
                                 "gan/0.png", "gan2/0.png"])
    locked |= {root / "real" / "locked", root / "gan2"}
    dataset = FolderDataset(root)
    assert labels(dataset) == {"real/0.png": "real", "real/a/3.png": "real", "gan/0.png": "gan"}
    assert skipped(dataset) == {"real/locked/": DENIED, "gan2/": DENIED}


def test_an_unlistable_root_or_split_folder_is_refused(tmp_path: Path, locked: set[Path]) -> None:
    root = tree(tmp_path / "d", ["train/real/0.png", "train/gan/0.png", "test/real/0.png", "test/gan/0.png"])
    locked.add(root / "test")
    with pytest.raises(DatasetError, match=rf"^folder dataset: {root / 'test'} cannot be listed: "
                                           r"PermissionError: Permission denied$"):
        FolderDataset(root)
    locked.add(root)
    with pytest.raises(DatasetError, match=rf"^folder dataset: {root} cannot be listed: "
                                           r"PermissionError: Permission denied$"):
        FolderDataset(root)


def test_wang2020_unlistable_generator_and_category(tmp_path: Path, locked: set[Path]) -> None:
    root = tree(tmp_path / "w", ["progan/cat/0_real/0.png", "progan/cat/1_fake/0.png", "progan/dog/0_real/1.png",
                                 "biggan/0_real/0.png", "biggan/1_fake/0.png"])
    locked |= {root / "progan" / "dog", root / "biggan"}
    dataset = FolderDataset(root)
    assert dataset.layout == "wang2020"
    assert labels(dataset) == {"progan/cat/0_real/0.png": "real", "progan/cat/1_fake/0.png": "progan"}
    assert skipped(dataset) == {"progan/dog/": DENIED, "biggan/": DENIED}


def test_wang2020_generator_whose_only_category_is_unlistable(tmp_path: Path, locked: set[Path]) -> None:
    """An unlistable category is reported as such, not as a category without 0_real/1_fake."""
    root = tree(tmp_path / "w", ["progan/0_real/0.png", "progan/1_fake/0.png", "biggan/cat/0_real/0.png",
                                 "biggan/cat/1_fake/0.png", "stylegan/cat/0_real/0.png"])
    locked.add(root / "stylegan" / "cat")
    dataset = FolderDataset(root)
    assert set(labels(dataset)) == {"progan/0_real/0.png", "progan/1_fake/0.png", "biggan/cat/0_real/0.png",
                                    "biggan/cat/1_fake/0.png"}
    assert skipped(dataset) == {"stylegan/cat/": DENIED}


def test_genimage_unlistable_generator_and_inner_folder(tmp_path: Path, locked: set[Path]) -> None:
    root = tree(tmp_path / "g", ["sd/train/nature/0.png", "sd/train/ai/0.png", "adm/inner/val/ai/0.png",
                                 "adm/locked/val/ai/1.png", "biggan/train/ai/0.png"])
    locked |= {root / "adm" / "locked", root / "biggan"}   # biggan comes before sd: sd is still read
    dataset = FolderDataset(root)
    assert dataset.layout == "genimage"
    assert labels(dataset) == {"sd/train/nature/0.png": "real", "sd/train/ai/0.png": "sd",
                               "adm/inner/val/ai/0.png": "adm"}
    assert skipped(dataset) == {"adm/locked/": "not part of the genimage layout", "biggan/": DENIED}


NOT_A_FILE = "not a regular file (a broken link, socket or device)"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
@pytest.mark.parametrize("files, pipes, layout", [
    (["real/0.png", "gan/0.png"], ["real/pipe.png", "pipe.png"], "sources"),
    (["progan/0_real/0.png", "progan/1_fake/0.png"], ["progan/pipe.png", "progan/0_real/pipe.png"], "wang2020"),
    (["progan/cat/0_real/0.png", "progan/cat/1_fake/0.png"], ["progan/pipe.png", "progan/cat/pipe.png"],
     "wang2020"),
    (["sd/train/nature/0.png", "sd/train/ai/0.png"], ["sd/pipe.png", "sd/train/pipe.png"], "genimage"),
    (["sd/inner/val/nature/0.png", "sd/inner/val/ai/0.png"], ["sd/pipe.png", "sd/inner/pipe.png"], "genimage"),
    (["train/real/0.png", "train/gan/0.png", "test/real/0.png", "test/gan/0.png"],
     ["pipe.png", "test/pipe.png"], "splits(sources)"),
    (["train/real/0.png", "train/gan/0.png", "test/progan/0_real/0.png", "test/progan/1_fake/0.png"],
     ["test/pipe.png", "test/progan/pipe.png"], "splits(sources,wang2020)"),
])
def test_pipes_are_not_files(tmp_path: Path, files: list[str], pipes: list[str], layout: str) -> None:
    """A named pipe anywhere in the tree is listed once as not a file; the images are kept."""
    root = tree(tmp_path / "d", files)
    for pipe in pipes:
        os.mkfifo(root / pipe)
    dataset = FolderDataset(root)
    assert dataset.layout == layout and set(labels(dataset)) == set(files)
    assert skipped(dataset) == {pipe: NOT_A_FILE for pipe in pipes}


def test_random_crop_windows_move_with_record_and_epoch_in_train_only(tmp_path: Path) -> None:
    """16x16 images whose pixel (r, c) is 16 r + c: an 8x8 window starting at (t, l) has 16 t + l
    in its corner and 16 (t + i) + (l + j) at (i, j). The centred window starts at (4, 4): 68."""
    ramp = (np.arange(16)[:, None] * 16 + np.arange(16)[None, :]).astype(np.uint8)
    root = tmp_path / "d"
    for name in ("real/a.png", "real/b.png", "real/c.png", "gan/a.png", "gan/b.png", "gan/c.png"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.repeat(ramp[:, :, None], 3, axis=2)).save(root / name)
    dataset = FolderDataset(root, image_size=8, image_fit="random-crop")
    assert dataset.name == f"folder:{root}:size=8:fit=random-crop"
    window = np.arange(8)[:, None] * 16 + np.arange(8)[None, :]
    corners: dict[str, set[int]] = {}
    for record in dataset.records():
        for epoch in range(6):
            image = dataset.read([record], epoch=epoch)[0][0, :, :, 0].astype(int)
            corner = int(image[0, 0])
            assert (image == window + corner).all()            # a window of the image, never resampled
            corners.setdefault(record.id, set()).add(corner)
    for record in dataset.records():
        if record.split == "train":
            assert len(corners[record.id]) > 1                 # the window moves with the epoch
        else:
            assert corners[record.id] == {68}                  # val and test: the centred window
    record = next(r for r in dataset.records() if r.split == "train")
    at = {epoch: dataset.read([record], epoch=epoch)[0][0] for epoch in (0, 1)}
    assert not (at[0] == at[1]).all()                                 # so the default below is seen
    assert (dataset.read([record])[0][0] == at[0]).all()              # epoch 0 by default
    assert (dataset.read_one(record) == dataset.read([record], epoch=0)[0][0]).all()
    train = [r.id for r in dataset.records() if r.split == "train"]   # real 3 -> 1 train, gan 3 -> 1 train
    assert len(train) == 2 and corners[train[0]] != corners[train[1]]   # and with the image's id


class PoolRecorder:
    """Stands in for ThreadPoolExecutor: records each pool's max_workers, maps in the caller's thread."""

    made: list[int | None] = []

    def __init__(self, max_workers: int | None = None) -> None:
        PoolRecorder.made.append(max_workers)

    def __enter__(self) -> "PoolRecorder":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def map(self, fn, *iterables):
        return map(fn, *iterables)


@pytest.fixture
def pools(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    from ganprint.datasets import image_files
    PoolRecorder.made = []
    monkeypatch.setattr(image_files, "ThreadPoolExecutor", PoolRecorder)
    monkeypatch.setattr(indexing, "ThreadPoolExecutor", PoolRecorder)
    return PoolRecorder.made


def test_reading_uses_the_asked_number_of_threads_and_none_for_one(tmp_path: Path, pools: list) -> None:
    """workers=N > 1 reads a list of several records with a pool of N threads; one worker, or
    one record, is read in the calling thread (no pool)."""
    root = tree(tmp_path / "d", ["real/0.png", "real/1.png", "gan/0.png"])
    default = FolderDataset(root)
    assert default.workers == 1
    records = list(default.records())
    pools.clear()
    images, _ = default.read(records)
    assert pools == [] and images.dtype == np.uint8 and images.shape == (3, 8, 8, 3)
    default.read(records, workers=3)
    assert pools == [3]
    threaded = FolderDataset(root, workers=2)
    assert threaded.workers == 2
    pools.clear()
    threaded.read(records)
    threaded.read(records[:1])
    threaded.read(records[:2])
    threaded.read(records, workers=1)
    assert pools == [2, 2]


def test_indexing_threads_and_progress_bar(tmp_path: Path, pools: list, monkeypatch: pytest.MonkeyPatch) -> None:
    bars: list[dict] = []

    class Bar:
        def __init__(self, **kwargs) -> None:
            bars.append({**kwargs, "done": 0})

        def __enter__(self) -> "Bar":
            return self

        def __exit__(self, *exc) -> None:
            return None

        def update(self, n: int) -> None:
            bars[-1]["done"] += n

    monkeypatch.setattr(indexing, "tqdm", Bar)
    monkeypatch.setattr(indexing, "CHUNK", 2)
    paths = [img(tmp_path / f"{i}.png") for i in range(5)]   # 3 chunks: 2 + 2 + 1
    indexing.read_headers(paths, workers=2)
    indexing.read_headers(paths[:4], workers=2)               # 2 chunks: a pool too
    indexing.read_headers(paths[:2])                          # one chunk: no pool, whatever the workers
    indexing.read_headers(paths, workers=1)                   # one worker: no pool
    assert pools == [2, 2]
    bar = {"desc": "indexing", "unit": "file", "disable": None, "leave": False}
    assert bars == [{"total": 5, **bar, "done": 5}, {"total": 4, **bar, "done": 4},
                    {"total": 2, **bar, "done": 2}, {"total": 5, **bar, "done": 5}]
    monkeypatch.setattr(indexing.os, "cpu_count", lambda: 3)
    indexing.read_headers(paths)                              # default: 4 threads per core, here 12
    assert pools == [2, 2, 12]
    bars.clear()
    FolderDataset(tree(tmp_path / "d", ["real/0.png", "gan/0.png"]))
    assert [bar["desc"] for bar in bars] == [f"indexing folder:{tmp_path / 'd'}"]


@pytest.mark.parametrize("cores, threads", [(1, 4), (3, 12), (4, 16), (8, 16), (None, 4)])
def test_default_indexing_threads_are_four_per_core_at_most_16(monkeypatch: pytest.MonkeyPatch,
                                                               cores: int | None, threads: int) -> None:
    monkeypatch.setattr(indexing.os, "cpu_count", lambda: cores)
    assert indexing.default_workers() == threads


def test_content_hash_is_the_documented_digest(tmp_path: Path) -> None:
    """SHA-256 of ``size=S\\n``, then per record ``id\\0source\\0split\\0``, the bits as digits and
    ``\\0`` when it has some, and the file's bytes (image_files docstring)."""
    a, b = img(tmp_path / "a.png", value=1), img(tmp_path / "b.png", 12, value=2)
    entries = [FileEntry("a", a, "real", "train"), FileEntry("b", b, "gan", "test", (1, 0, 1))]
    expected = hashlib.sha256(b"size=8\n")   # shorter sides 8 and 12 tie once each: the smaller
    expected.update(b"a\0real\0train\0" + a.read_bytes())
    expected.update(b"b\0gan\0test\0" + b"101\0" + b.read_bytes())
    assert ImageFileDataset("files", entries).content_hash() == expected.hexdigest()[:16]


def test_not_a_folder_and_the_root_it_was_read_from(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=rf"^folder dataset: {tmp_path / 'f.png'} is not a folder$"):
        FolderDataset(img(tmp_path / "f.png"))
    root = tree(tmp_path / "d", ["real/0.png", "gan/0.png"])
    assert FolderDataset(root).root == root


def test_skipped_reasons_name_the_suffix_and_the_decoder_error(tmp_path: Path) -> None:
    root = tree(tmp_path / "d", ["real/0.png", "gan/0.png"])
    (root / "real" / "README").write_text("no suffix")
    (root / "gan" / "broken.png").write_bytes(b"not a png")
    reasons = skipped(FolderDataset(root))
    assert reasons["real/README"] == "not an image file (suffix none)"
    assert reasons["gan/broken.png"].startswith("UnidentifiedImageError: cannot identify image file")


@pytest.mark.parametrize("n_skipped, note", [
    (0, ""),
    (1, " (skipped real/0.txt: not an image file (suffix .txt))"),
    (5, " (skipped " + "; ".join(f"real/{i}.txt: not an image file (suffix .txt)" for i in range(5)) + ")"),
    (6, " (skipped " + "; ".join(f"real/{i}.txt: not an image file (suffix .txt)" for i in range(5))
     + "; and 1 more)"),
])
def test_skipped_note_lists_at_most_five(tmp_path: Path, n_skipped: int, note: str) -> None:
    root = tree(tmp_path / "d", ["gan/0.png"])
    (root / "real").mkdir()
    for i in range(n_skipped):
        (root / "real" / f"{i}.txt").write_text("x")
    with pytest.raises(DatasetError) as raised:
        FolderDataset(root)
    assert str(raised.value) == f"folder:{root}: no readable 'real' images{note}"


def test_no_readable_image_at_all(tmp_path: Path) -> None:
    root = tmp_path / "d"
    for name in ("real/a.png", "gan/b.png"):
        (root / name).parent.mkdir(parents=True)
        (root / name).write_bytes(b"not a png")
    with pytest.raises(DatasetError, match=rf"^folder:{root}: no readable images \(skipped gan/b.png: "):
        FolderDataset(root)


@pytest.mark.parametrize("files", [
    ["sd/train/nature/0.png", "sd/val/ai/0.png", "adm/val/ai/0.png"],                # generators only
    ["sd/x/train/nature/0.png", "sd/x/val/ai/0.png", "adm/y/val/ai/0.png"],          # one level below only
])
def test_genimage_with_one_kind_of_generator_folder(tmp_path: Path, files: list[str]) -> None:
    dataset = FolderDataset(tree(tmp_path / "g", files))
    assert dataset.layout == "genimage"
    assert [(r.id, r.source, r.split) for r in dataset.records()] == [
        (files[2], "adm", "test"), (files[0], "real", "train"), (files[1], "sd", "test")]
    assert skipped(dataset) == {}


def test_folder_key_of_the_root_is_its_name() -> None:
    from ganprint.datasets.tree import folder_key
    assert folder_key(Path("/data/set"), Path("/data/set")) == "set/"
    assert folder_key(Path("/data/set/a/b"), Path("/data/set")) == "a/b/"
    assert folder_key(Path("/"), Path("/")) == "//"


class FailingEntry:
    """A directory entry whose type cannot be read (an I/O error on a network file system)."""

    def __init__(self, path: Path) -> None:
        self.name, self.path = path.name, str(path)

    def is_dir(self, follow_symlinks: bool = True) -> bool:
        raise OSError(5, "Input/output error")

    is_file = is_symlink = is_dir


def test_an_entry_whose_type_cannot_be_read_is_listed_with_the_error(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from ganprint.datasets import tree as tree_module
    root = tree(tmp_path / "d", ["real/0.png", "gan/0.png"])
    listing = tree_module._visible_entries

    def visible_entries(folder: Path):
        entries = listing(folder)
        if Path(folder) in (root, root / "real"):
            entries = [*entries, FailingEntry(Path(folder) / "zz.png")]
        return entries

    monkeypatch.setattr(tree_module, "_visible_entries", visible_entries)
    dataset = FolderDataset(root)
    assert labels(dataset) == {"real/0.png": "real", "gan/0.png": "gan"}
    assert skipped(dataset) == {"zz.png": "OSError: [Errno 5] Input/output error",
                                "real/zz.png": "OSError: [Errno 5] Input/output error"}


def test_reading_uses_the_indexed_headers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Indexing reads each file's header once; reading the images does not read them again."""
    from ganprint.datasets import decode
    root = tree(tmp_path / "d", ["real/0.png", "gan/0.png"])
    dataset = FolderDataset(root)
    calls: list[Path] = []
    read_header = decode.read_header
    monkeypatch.setattr(decode, "read_header", lambda path: calls.append(path) or read_header(path))
    images, kept = dataset.read(list(dataset.records()))
    assert len(kept) == 2 and calls == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_files_below_sorts_files_by_path_and_skipped_entries_by_id(tmp_path: Path) -> None:
    from ganprint.datasets.tree import files_below
    root = tree(tmp_path / "d", ["b/1.png", "a/2.png", "a/b/3.png", "0.png"])
    os.mkfifo(root / "b" / "pipe")
    os.mkfifo(root / "a" / "pipe")      # found after b/pipe: the walk takes the last folder first
    files, passed_over = files_below(root, root)
    assert [f.relative_to(root).as_posix() for f in files] == ["0.png", "a/2.png", "a/b/3.png", "b/1.png"]
    assert [s.id for s in passed_over] == ["a/pipe", "b/pipe"]
