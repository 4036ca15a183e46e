"""Datasets of image files on disk (``folder:PATH``, ``manifest:FILE.csv``): an index, read by a size policy.

- Index: the files' headers only (:mod:`ganprint.datasets.indexing`), never their pixels; a file
  without an image suffix, or whose header cannot be read (truncated, not an image, a
  decompression bomb), is skipped and listed in ``dataset.skipped`` with the reason.
- Splits: a file whose split its layout or manifest does not fix is hashed with the other files of
  its source (:func:`ganprint.dataset.assign_splits`): 60/20/20 into train / val / test, or 75/25
  into train / val for the files of a given training set. Only readable files take part.
- Size: by default the most common shorter side among the images (ties: the smaller) and the
  ``resize`` fit; any side and fit can be asked for (:mod:`ganprint.datasets.size_policy`).
- Reading: :meth:`ImageFileDataset.read` decodes any list of records, with ``workers`` threads
  (the codecs release the GIL), so a ``torch.utils.data.Dataset`` can serve batches of records
  from it; the object holds paths and headers only, so it pickles into DataLoader workers.
- Content hash: SHA-256 of the size policy's line, then, in record order, of each record's
  ``id\0source\0split\0``, its fingerprint bits as ``0``/``1`` digits and ``\0`` (when it records
  some), and its file's bytes; the first 16 hex digits.
- Sources: a dataset needs images of at least one generated source besides ``real``, and, where
  its layout has a real class, real images; anything else is a DatasetError that names what was
  skipped, never a leaderboard of one class.
"""
from __future__ import annotations

import copy
import hashlib
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ganprint.dataset import Dataset, DatasetError, ImageRecord, SkippedImage, assign_splits
from ganprint.datasets.decode import IMAGE_SUFFIXES, ImageHeader, UnreadableImage, decode_rgb
from ganprint.datasets.indexing import read_headers
from ganprint.datasets.size_policy import DEFAULT_FIT, SizePolicy
from ganprint.interfaces import REAL

TRAIN_OR_VAL = "train|val"  # a file of a given training set: hashed 75/25 into train / val
HASHED_FRACTIONS: dict[str | None, tuple[float, float, float]] = {
    None: (0.6, 0.2, 0.2),
    TRAIN_OR_VAL: (0.75, 0.25, 0.0),
}
SKIPPED_IN_MESSAGE = 5


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file of a dataset before indexing: id, path, source, split (or how to hash it), bits."""

    key: str
    path: Path
    source: str
    split: str | None = None
    bits: tuple[int, ...] | None = None


class ImageFileDataset(Dataset):
    """Images in files, one record per readable file; see the module docstring for the rules."""

    def __init__(self, name: str, entries: Sequence[FileEntry], *, skipped: Sequence[SkippedImage] = (),
                 image_size: int | None = None, image_fit: str | None = None, workers: int | None = None,
                 require_real: bool = True) -> None:
        super().__init__()
        self.base_name = name
        self.workers = 1 if workers is None else int(workers)
        self.skipped = list(skipped)
        self._files: dict[str, tuple[str, ImageHeader]] = {}
        self._records = self._index(entries)
        self.skipped.sort(key=lambda s: s.id)
        self._check_sources(require_real)
        sides = Counter(min(h.height, h.width) for _, h in self._files.values())
        top = max(sides.values())
        default = min(side for side, n in sides.items() if n == top)
        self.policy = SizePolicy(default if image_size is None else image_size, image_fit or DEFAULT_FIT)
        explicit = image_size is not None or image_fit is not None
        self.name = name + (self.policy.suffix if explicit else "")
        self._hash: str | None = None

    @property
    def image_size(self) -> int:  # type: ignore[override]
        return self.policy.size

    def _index(self, entries: Sequence[FileEntry]) -> list[ImageRecord]:
        images = []
        for entry in entries:
            if entry.path.suffix.lower() in IMAGE_SUFFIXES:
                images.append(entry)
            else:
                self.skipped.append(SkippedImage(entry.key, f"not an image file (suffix {entry.path.suffix or 'none'})"))
        headers = read_headers([e.path for e in images], desc=f"indexing {self.base_name}")
        readable = []
        for entry, header in zip(images, headers):
            if isinstance(header, UnreadableImage):
                self.skipped.append(SkippedImage(entry.key, str(header)))
            else:
                readable.append(entry)
                self._files[entry.key] = (str(entry.path), header)
        splits = [e.split for e in readable]
        pools: dict[tuple[str, str | None], list[int]] = defaultdict(list)
        for i, entry in enumerate(readable):
            if entry.split in HASHED_FRACTIONS:
                pools[(entry.source, entry.split)].append(i)
        for (_, marker), rows in pools.items():
            for i, split in zip(rows, assign_splits([readable[i].key for i in rows], HASHED_FRACTIONS[marker])):
                splits[i] = split
        return [ImageRecord(e.key, e.source, split, e.bits) for e, split in zip(readable, splits)]

    def _check_sources(self, require_real: bool) -> None:
        sources = {r.source for r in self._records}
        if not sources:
            raise DatasetError(f"{self.base_name}: no readable images{self._skipped_note()}")
        if require_real and REAL not in sources:
            raise DatasetError(f"{self.base_name}: no readable '{REAL}' images{self._skipped_note()}")
        if not sources - {REAL}:
            raise DatasetError(f"{self.base_name}: no readable generated images, only '{REAL}' ones; a dataset "
                               f"needs the images of at least one generator{self._skipped_note()}")
        if len(sources) < 2:
            raise DatasetError(f"{self.base_name}: only one source ({', '.join(sources)}); a dataset needs "
                               f"'{REAL}' images or a second generator{self._skipped_note()}")

    def _skipped_note(self) -> str:
        if not self.skipped:
            return ""
        shown = "; ".join(f"{s.id}: {s.reason}" for s in self.skipped[:SKIPPED_IN_MESSAGE])
        more = len(self.skipped) - SKIPPED_IN_MESSAGE
        return f" (skipped {shown}" + (f"; and {more} more)" if more > 0 else ")")

    def records(self) -> Sequence[ImageRecord]:
        return self._records

    def with_image_size(self, size: int | None = None, fit: str | None = None) -> ImageFileDataset:
        """The same files read at ``size`` by ``fit``; either left None keeps the current one."""
        other = copy.copy(self)
        other.skipped = list(self.skipped)
        other.policy = SizePolicy(self.policy.size if size is None else size, fit or self.policy.fit)
        other.name = self.base_name + other.policy.suffix
        other._hash = None
        return other

    def read_one(self, record: ImageRecord, epoch: int = 0) -> np.ndarray:
        """One record's image by the size policy; raise UnreadableImage."""
        path, header = self._files[record.id]
        return self.policy.apply(decode_rgb(path, header), record.id, record.split, epoch)

    def read(self, records: Sequence[ImageRecord], *, workers: int | None = None,
             epoch: int = 0) -> tuple[np.ndarray, list[ImageRecord]]:
        """The readable ``records``' images (n, S, S, 3) and those records, decoded by ``workers``
        threads (default: the dataset's ``workers``); ``epoch`` moves the random-crop windows.

        Each image is decoded straight into its row of the batch, so reading holds the batch and
        one image per thread, however many records the dataset has."""
        workers = self.workers if workers is None else workers
        size = self.image_size
        out = np.empty((len(records), size, size, 3), np.uint8)

        def fill(row: int) -> str | None:
            try:
                out[row] = self.read_one(records[row], epoch)
            except UnreadableImage as error:
                return str(error)
            return None

        if workers > 1 and len(records) > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                errors = list(pool.map(fill, range(len(records))))
        else:
            errors = [fill(row) for row in range(len(records))]
        kept = [row for row, error in enumerate(errors) if error is None]
        for record, error in zip(records, errors):
            if error is not None:
                self.skip(record, error)
        if len(kept) < len(records):
            out = out[kept]
        return out, [records[row] for row in kept]

    def content_hash(self) -> str:
        if self._hash is None:
            digest = hashlib.sha256(self.policy.hash_line.encode())
            for record in self._records:
                digest.update(f"{record.id}\0{record.source}\0{record.split}\0".encode())
                if record.bits is not None:
                    digest.update(("".join(map(str, record.bits)) + "\0").encode())
                with open(self._files[record.id][0], "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
            self._hash = digest.hexdigest()[:16]
        return self._hash
