"""``folder:PATH``: a dataset from a folder of images, one sub-folder per source.

Layout: ``PATH/real/...`` holds real images, every other sub-folder ``PATH/<source>/...`` the
images of one generator (files may sit in nested folders below it). Hidden files are ignored.

- Splits: within each source, files are ordered by a hash of their relative path and cut 60/20/20
  into train/val/test (:func:`ganprint.dataset.assign_splits`): deterministic, independent of
  listing order, and stable for the files already there when new ones are added.
- Size: the dataset's side is the most common shorter side among the images (ties: the smaller);
  every image is centre-cropped and resized to it by the rule of :mod:`ganprint.datasets.decode`.
- Colour: grayscale, palette, RGBA and 16-bit images become uint8 RGB by the same module's rule.
- Unreadable, truncated or non-image files are skipped and listed in ``dataset.skipped`` with the
  reason; a missing path, no source folders, no ``real`` folder or no images at all is a
  :class:`ganprint.dataset.DatasetError`.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from ganprint.dataset import Dataset, DatasetError, ImageRecord, SkippedImage, assign_splits
from ganprint.datasets.decode import IMAGE_SUFFIXES, UnreadableImage, header_size, read_image
from ganprint.interfaces import REAL


def _visible_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


class FolderDataset(Dataset):
    """Images under ``PATH/<source>/``; the ``real`` folder is the real class."""

    def __init__(self, path: str | Path, image_size: int | None = None) -> None:
        super().__init__()
        root = Path(path).expanduser()
        if not root.exists():
            raise DatasetError(f"folder dataset: {root} does not exist")
        if not root.is_dir():
            raise DatasetError(f"folder dataset: {root} is not a folder")
        folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not folders:
            raise DatasetError(f"folder dataset: {root} has no source folders "
                               f"(expected {root}/real/ and one folder per generator)")
        if not (root / REAL).is_dir():
            raise DatasetError(f"folder dataset: {root} has no '{REAL}' folder "
                               f"(found {', '.join(d.name for d in folders)})")
        self.root = root
        self.name = f"folder:{root}"
        self._paths: dict[str, Path] = {}
        records: list[ImageRecord] = []
        sides: Counter[int] = Counter()
        for folder in folders:
            keys = []
            for file in _visible_files(folder):
                key = file.relative_to(root).as_posix()
                if file.suffix.lower() not in IMAGE_SUFFIXES:
                    self.skipped.append(SkippedImage(key, f"not an image file (suffix {file.suffix or 'none'})"))
                    continue
                try:
                    h, w = header_size(file)
                except UnreadableImage as error:
                    self.skipped.append(SkippedImage(key, str(error)))
                    continue
                sides[min(h, w)] += 1
                self._paths[key] = file
                keys.append(key)
            for key, split in zip(keys, assign_splits(keys)):
                records.append(ImageRecord(key, folder.name, split))
        if not records:
            raise DatasetError(f"folder dataset: no readable images under {root}")
        if not any(r.source == REAL for r in records):
            raise DatasetError(f"folder dataset: the '{REAL}' folder of {root} holds no readable images")
        self._records = records
        if image_size is None:
            top = max(sides.values())
            image_size = min(side for side, n in sides.items() if n == top)
        self.image_size = int(image_size)
        self._hash: str | None = None

    def records(self) -> Sequence[ImageRecord]:
        return self._records

    def read(self, records: Sequence[ImageRecord]) -> tuple[np.ndarray, list[ImageRecord]]:
        images, kept = [], []
        for record in records:
            try:
                images.append(read_image(self._paths[record.id], self.image_size))
            except UnreadableImage as error:
                self.skip(record, str(error))
                continue
            kept.append(record)
        if not images:
            return np.zeros((0, self.image_size, self.image_size, 3), np.uint8), []
        return np.stack(images), kept

    def content_hash(self) -> str:
        if self._hash is None:
            digest = hashlib.sha256(f"size={self.image_size}\n".encode())
            for record in self._records:
                digest.update(f"{record.id}\0{record.source}\0{record.split}\0".encode())
                with open(self._paths[record.id], "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
            self._hash = digest.hexdigest()[:16]
        return self._hash

