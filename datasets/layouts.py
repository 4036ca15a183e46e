"""The folder layouts ``folder:PATH`` recognises, and the source and split each gives a file.

Real images become the source ``real``, generated ones a source named after their generator's
folder. Tried in this order:

``sources`` (ganprint's own; whenever ``PATH/real/`` exists)::

    PATH/real/...                 real images (any depth below)
    PATH/<generator>/...          one folder per generator

``splits`` (the dataset's own split; whenever PATH holds exactly ``train/``, ``test/`` and
optionally ``val/``)::

    PATH/{train,val,test}/<a sources or wang2020 tree>

``wang2020`` (Wang et al. 2020, CNNDetection / ForenSynths)::

    PATH/<generator>/[<category>/]{0_real,1_fake}/...

``0_real`` images are ``real``, ``1_fake`` images the source ``<generator>``.

``genimage`` (GenImage, Zhu et al. 2023; one optional folder level under the generator, as the
published archives have)::

    PATH/<generator>/[<folder>/]{train,val}/{nature,ai}/...

``nature`` images are ``real``, ``ai`` images the source ``<generator>``; GenImage's ``val`` is
the evaluation set, so it becomes the test split.

Splits: a layout without its own split hashes each source's files 60/20/20 into train / val /
test (:func:`ganprint.dataset.assign_splits`); where a layout gives a train set but no
validation set (``splits`` without ``val/``, ``genimage``), each source's training files are
hashed 75/25 into train / val.

Folders that fit no part of the recognised layout, and image files outside any source folder,
are listed as skipped (a folder as one line); a tree that fits no layout is a
:class:`ganprint.dataset.DatasetError` showing the expected trees (:data:`EXPECTED_TREES`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ganprint.dataset import DatasetError, SkippedImage
from ganprint.datasets.decode import IMAGE_SUFFIXES
from ganprint.datasets.image_files import TRAIN_OR_VAL, FileEntry
from ganprint.datasets.tree import cannot_list, children, files_below, folder_key, relative_key
from ganprint.interfaces import REAL

SPLIT_FOLDERS = ("train", "val", "test")
WANG_REAL, WANG_FAKE = "0_real", "1_fake"
GENIMAGE_SPLITS = {"train": TRAIN_OR_VAL, "val": "test"}
GENIMAGE_REAL, GENIMAGE_FAKE = "nature", "ai"

EXPECTED_TREES = """\
expected one of these trees:
  PATH/real/...                                   real images
  PATH/<generator>/...                            one folder per generator
or PATH/{train,val,test}/ each holding such a tree (val/ optional), or the next one
or PATH/<generator>/[<category>/]{0_real,1_fake}/...    (Wang et al. 2020, CNNDetection)
or PATH/<generator>/[<folder>/]{train,val}/{nature,ai}/... (GenImage)
or use manifest:FILE.csv with the columns path,source[,split][,bits]"""


@dataclass
class Layout:
    """What a folder holds: the layout's name, its files, and what was skipped."""

    name: str
    entries: list[FileEntry] = field(default_factory=list)
    skipped: list[SkippedImage] = field(default_factory=list)

    def add_files(self, folder: Path, root: Path, source: str, split: str | None) -> None:
        files, skipped = files_below(folder, root)
        self.entries += [FileEntry(relative_key(f, root), f, source, split) for f in files]
        self.skipped += skipped

    def skip_folder(self, folder: Path, root: Path, reason: str) -> None:
        self.skipped.append(SkippedImage(folder_key(folder, root), reason))

    def skip_stray_images(self, files: list[Path], root: Path, where: str) -> None:
        self.skipped += [SkippedImage(relative_key(f, root), f"outside the layout ({where})")
                         for f in files if f.suffix.lower() in IMAGE_SUFFIXES]


def _listing(folder: Path, root: Path, layout: Layout) -> tuple[list[Path], list[Path]] | None:
    """(sub-folders, files) of ``folder``; None, with the folder reported, when it cannot be listed."""
    try:
        folders, files, skipped = children(folder, root)
    except OSError as error:
        layout.skipped.append(cannot_list(folder, root, error))
        return None
    layout.skipped += skipped
    return folders, files


def _subfolder_names(folder: Path) -> set[str] | OSError:
    """Names of the visible sub-folders of ``folder``, or the error that stopped listing it."""
    try:
        return {f.name for f in children(folder, folder)[0]}
    except OSError as error:
        return error


def _holds(folder: Path, names: set[str] | dict[str, str]) -> bool:
    found = _subfolder_names(folder)
    return not isinstance(found, OSError) and bool(found & set(names))


def _expected(layout: Layout, folder: Path, root: Path, names: set[str] | dict[str, str], where: str,
              listing: tuple[list[Path], list[Path]] | None = None) -> list[Path]:
    """The sub-folders of ``folder`` named in ``names``; other folders and images are reported.

    ``listing`` is ``folder``'s listing when the caller has it already."""
    listing = listing if listing is not None else _listing(folder, root, layout)
    if listing is None:
        return []
    folders, files = listing
    layout.skip_stray_images(files, root, where)
    for sub in folders:
        if sub.name not in names:
            layout.skip_folder(sub, root, f"not part of the {where}")
    return [sub for sub in folders if sub.name in names]


def _read_unit(layout: Layout, unit: Path, root: Path, parts: dict[str, str], split: str | None,
               where: str, listing: tuple[list[Path], list[Path]] | None = None) -> None:
    """Files of the sub-folders ``parts`` (folder name → source) of ``unit``; the rest reported."""
    for sub in _expected(layout, unit, root, parts, where, listing):
        layout.add_files(sub, root, parts[sub.name], split)


def _top_folders(layout: Layout, folder: Path, root: Path, where: str) -> list[Path]:
    """The sub-folders of ``folder`` (sources or generators); images beside them are reported."""
    listing = _listing(folder, root, layout)
    if listing is None:
        return []
    folders, files = listing
    layout.skip_stray_images(files, root, where)
    return folders


def _read_sources(layout: Layout, folder: Path, root: Path, split: str | None) -> None:
    for sub in _top_folders(layout, folder, root, "not in a source folder"):
        layout.add_files(sub, root, sub.name, split)


def _fits_wang(generator: Path) -> bool:
    parts = {WANG_REAL, WANG_FAKE}
    if _holds(generator, parts):
        return True
    found = _subfolder_names(generator)
    return not isinstance(found, OSError) and any(_holds(generator / c, parts) for c in found)


def _read_wang(layout: Layout, folder: Path, root: Path, split: str | None) -> None:
    where = "wang2020 layout"
    for generator in _top_folders(layout, folder, root, "not in a generator folder"):
        parts = {WANG_REAL: REAL, WANG_FAKE: generator.name}
        listing = _listing(generator, root, layout)
        if listing is None:
            continue
        categories, stray = listing
        if {c.name for c in categories} & set(parts):
            _read_unit(layout, generator, root, parts, split, where, listing)
            continue
        found = {c: _subfolder_names(c) for c in categories}
        if not any(isinstance(n, OSError) or n & set(parts) for n in found.values()):
            layout.skip_folder(generator, root, f"holds no {WANG_REAL}/ or {WANG_FAKE}/ folders ({where})")
            continue
        layout.skip_stray_images(stray, root, where)
        for category, names in found.items():
            if isinstance(names, OSError):
                layout.skipped.append(cannot_list(category, root, names))
            elif names & set(parts):
                _read_unit(layout, category, root, parts, split, where)
            else:
                layout.skip_folder(category, root, f"holds no {WANG_REAL}/ or {WANG_FAKE}/ folder ({where})")


def _genimage_base(folder: Path) -> bool:
    """True when ``folder`` holds ``train/`` or ``val/`` with ``nature/`` or ``ai/`` inside."""
    found = _subfolder_names(folder)
    return not isinstance(found, OSError) and any(
        _holds(folder / s, {GENIMAGE_REAL, GENIMAGE_FAKE}) for s in found & set(GENIMAGE_SPLITS))


def _fits_genimage(generator: Path) -> bool:
    if _genimage_base(generator):
        return True
    found = _subfolder_names(generator)
    return not isinstance(found, OSError) and any(_genimage_base(generator / f) for f in found)


def _read_genimage(layout: Layout, root: Path) -> None:
    where = "genimage layout"
    for generator in _top_folders(layout, root, root, "not in a generator folder"):
        parts = {GENIMAGE_REAL: REAL, GENIMAGE_FAKE: generator.name}
        if _genimage_base(generator):
            bases = [generator]
        else:
            listing = _listing(generator, root, layout)
            if listing is None:
                continue
            below, stray = listing
            bases = [b for b in below if _genimage_base(b)]
            if not bases:
                layout.skip_folder(generator, root, f"holds no {{train,val}}/{{nature,ai}}/ folders ({where})")
                continue
            layout.skip_stray_images(stray, root, where)
            for other in below:
                if other not in bases:
                    layout.skip_folder(other, root, f"not part of the {where}")
        for base in bases:
            for sub in _expected(layout, base, root, GENIMAGE_SPLITS, where):
                _read_unit(layout, sub, root, parts, GENIMAGE_SPLITS[sub.name], where)


def _read_split(layout: Layout, folder: Path, root: Path, split: str) -> str:
    """Read one ``PATH/<split>/`` folder of the ``splits`` layout; the name of its inner layout."""
    found = _subfolder_names(folder)
    if isinstance(found, OSError):
        raise DatasetError(f"folder dataset: {folder} cannot be listed: {type(found).__name__}: "
                           f"{found.strerror or found}")
    if REAL in found:
        _read_sources(layout, folder, root, split)
        return "sources"
    if any(_fits_wang(folder / g) for g in found):
        _read_wang(layout, folder, root, split)
        return "wang2020"
    raise DatasetError(f"folder dataset: {folder} holds neither a '{REAL}' folder nor "
                       f"{WANG_REAL}/{WANG_FAKE} folders;\n{EXPECTED_TREES}")


def recognise(root: Path) -> Layout:
    """The layout of the folder ``root`` and its files; DatasetError when it fits none."""
    try:
        top, top_files, top_skipped = children(root, root)
    except OSError as error:
        raise DatasetError(f"folder dataset: {root} cannot be listed: {type(error).__name__}: "
                           f"{error.strerror or error}") from error
    names = {f.name for f in top}
    if not top:
        raise DatasetError(f"folder dataset: {root} has no source folders "
                           f"(expected {root}/real/ and one folder per generator);\n{EXPECTED_TREES}")
    if REAL in names:
        layout = Layout("sources")
        _read_sources(layout, root, root, None)
        return layout
    if {"train", "test"} <= names <= set(SPLIT_FOLDERS):
        layout = Layout("splits")
        inner = {_read_split(layout, folder, root,
                             TRAIN_OR_VAL if folder.name == "train" and "val" not in names else folder.name)
                 for folder in top}
        layout.name = f"splits({','.join(sorted(inner))})"
        layout.skip_stray_images(top_files, root, "not in a split folder")
        layout.skipped += top_skipped
        return layout
    genimage = [g.name for g in top if _fits_genimage(g)]
    wang = [g.name for g in top if _fits_wang(g)]
    if genimage and wang:
        raise DatasetError(f"folder dataset: {root} mixes the genimage layout ({', '.join(genimage)}) and "
                           f"the wang2020 layout ({', '.join(wang)});\n{EXPECTED_TREES}")
    if genimage:
        layout = Layout("genimage")
        _read_genimage(layout, root)
        return layout
    if wang:
        layout = Layout("wang2020")
        _read_wang(layout, root, root, None)
        return layout
    raise DatasetError(f"folder dataset: {root} fits none of the known layouts (no '{REAL}' folder; "
                       f"found {', '.join(sorted(names))});\n{EXPECTED_TREES}")
