"""``manifest:FILE.csv``: a dataset listed in a CSV file, for trees no folder layout describes.

The first row names the columns, in any order:

- ``path`` (required): the image file, relative to the CSV file's folder or absolute; as written,
  it is the image's id;
- ``source`` (required): ``real`` for real images, otherwise the name of the generator;
- ``split`` (optional): ``train``, ``val`` or ``test`` on every row; without the column each
  source's files are hashed 60/20/20 into train / val / test;
- ``bits`` (optional): the image's fingerprint as a string of 0s and 1s (e.g. ``0110``), empty
  for an image without one (real images among fingerprinted GANs); every fingerprint has the same
  length.

Any other column is refused (a misspelt ``split`` column must not pass for a missing one), and so
is a path listed twice. A listed file that is missing or unreadable is skipped, like any
unreadable image (:mod:`ganprint.datasets.image_files`). The dataset needs images of at least one
generated source and of at least two sources; ``real`` images are optional (without them,
detection does not apply and attribution is among generators).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from ganprint.dataset import SPLITS, DatasetError
from ganprint.datasets.image_files import FileEntry, ImageFileDataset

REQUIRED = ("path", "source")
OPTIONAL = ("split", "bits")


def _bits(text: str, where: str) -> tuple[int, ...] | None:
    text = text.strip()
    if not text:
        return None
    if not re.fullmatch(r"[01]+", text):
        raise DatasetError(f"{where}: bits must be a string of 0s and 1s; got {text!r}")
    return tuple(int(c) for c in text)


def read_manifest(file: Path) -> list[FileEntry]:
    """The rows of a manifest as file entries; DatasetError naming the line of any bad row."""
    try:
        handle = open(file, newline="", encoding="utf-8-sig")
    except OSError as error:
        raise DatasetError(f"manifest {file} cannot be read: {type(error).__name__}: {error.strerror}") from error
    with handle:
        reader = csv.DictReader(handle)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in columns]
        unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
        if missing or unknown:
            raise DatasetError(f"manifest {file}: the first row must name the columns path,source[,split][,bits]; "
                               + (f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(unknown)}"))
        reader.fieldnames = columns
        entries: list[FileEntry] = []
        seen: dict[Path, int] = {}
        lengths: set[int] = set()
        try:
            for row in reader:
                where = f"manifest {file}, line {reader.line_num}"
                if None in row or any(row.get(c) is None for c in columns):
                    raise DatasetError(f"{where}: expected {len(columns)} fields")
                name, source = row["path"].strip(), row["source"].strip()
                if not name or not source:
                    raise DatasetError(f"{where}: path and source must not be empty")
                split = row["split"].strip() if "split" in columns else None
                if "split" in columns and split not in SPLITS:
                    raise DatasetError(f"{where}: split must be one of {', '.join(SPLITS)}; got {split!r}")
                bits = _bits(row["bits"], where) if "bits" in columns else None
                if bits is not None:
                    lengths.add(len(bits))
                path = Path(name).expanduser()
                path = path if path.is_absolute() else file.parent / path
                key = path.resolve()
                if key in seen:
                    raise DatasetError(f"{where}: {name} is listed already on line {seen[key]}")
                seen[key] = reader.line_num
                entries.append(FileEntry(name, path, source, split, bits))
        except csv.Error as error:
            raise DatasetError(f"manifest {file}, line {reader.line_num}: {error}") from error
    if len(lengths) > 1:
        raise DatasetError(f"manifest {file}: fingerprints of different lengths {sorted(lengths)}")
    return entries


class ManifestDataset(ImageFileDataset):
    """The images a CSV manifest lists (see the module docstring for its columns)."""

    def __init__(self, path: str | Path, image_size: int | None = None, image_fit: str | None = None,
                 workers: int | None = None) -> None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise DatasetError(f"manifest {file} does not exist or is not a file")
        entries = read_manifest(file)
        if not entries:
            raise DatasetError(f"manifest {file} lists no images")
        self.file = file
        super().__init__(f"manifest:{file}", entries, image_size=image_size, image_fit=image_fit,
                         workers=workers, require_real=False)
