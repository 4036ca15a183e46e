"""A dataset's images read when they are indexed, for fits that stream their training split.

:class:`LazyImages` looks like the uint8 (N, S, S, 3) array a fit is given (``shape``, ``dtype``,
``len``, indexing with an integer, a slice, an integer array or a boolean mask returns decoded
images), but holds only the records: a network that trains on minibatches reads one batch at a
time, so its memory does not grow with the number of images. ``np.asarray(lazy)`` reads them all,
for a method that needs the whole split.

A training-time attack (immunisation) is applied to each image with a generator seeded from the
run seed, the attack name and the image's id, so an image is attacked the same way whichever
batch it is read in.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ganprint.dataset import Dataset, ImageRecord
from ganprint.interfaces import Attack


@dataclass(frozen=True)
class TrainingAttack:
    """The attack applied to training images, with what seeds it."""

    attack: Attack
    name: str
    seed: int

    def __call__(self, images: np.ndarray, ids: Sequence[str]) -> np.ndarray:
        from ganprint.protocol import attack_rng

        out = np.empty_like(images)
        for row, image_id in enumerate(ids):
            out[row] = self.attack(images[row:row + 1], attack_rng(self.seed, self.name, f"train/{image_id}"))[0]
        return out


class LazyImages:
    """The images of ``records`` of ``dataset``, read (and attacked) when indexed."""

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, dataset: Dataset, records: Sequence[ImageRecord], attack: TrainingAttack | None = None) -> None:
        self.dataset = dataset
        self.records = tuple(records)
        self.attack = attack
        size = int(dataset.image_size)
        self.shape = (len(self.records), size, size, 3)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def reads_files(self) -> bool:
        """Whether indexing decodes files (worth doing in a background worker), not memory."""
        from ganprint.dataset import ArrayDataset

        return not isinstance(self.dataset, ArrayDataset)

    def subset(self, rows: Sequence[int] | np.ndarray) -> "LazyImages":
        """The images at ``rows``, still unread."""
        return LazyImages(self.dataset, [self.records[int(i)] for i in np.asarray(rows)], self.attack)

    def _rows(self, index: Any) -> np.ndarray:
        if isinstance(index, (int, np.integer)):
            return np.array([int(index)])
        if isinstance(index, slice):
            return np.arange(len(self))[index]
        index = np.asarray(index)
        return np.flatnonzero(index) if index.dtype == bool else index.astype(np.int64)

    def __getitem__(self, index: Any) -> np.ndarray:
        rows = self._rows(index)
        chosen = [self.records[int(i)] for i in rows]
        images, kept = self.dataset.read(chosen)
        if len(kept) != len(chosen):
            lost = sorted({r.id for r in chosen} - {r.id for r in kept})
            raise ValueError(f"images {lost[:3]} of dataset {self.dataset.name!r} could not be read any more "
                             "(changed on disk during the fit?)")
        if self.attack is not None:
            images = self.attack(images, [r.id for r in chosen])
        return images[0] if isinstance(index, (int, np.integer)) else images

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        images = self[:] if len(self) else np.empty(self.shape, np.uint8)
        return images if dtype is None else images.astype(dtype)

    def content_key(self) -> str:
        """What the images are, without reading them: the dataset's content hash, the records and
        the attack (for fitted-weights cache keys)."""
        digest = hashlib.sha256(f"{self.dataset.content_hash()}\0{self.shape}".encode())
        for record in self.records:
            digest.update(f"{record.id}\0".encode())
        if self.attack is not None:
            digest.update(f"{self.attack.name}\0{self.attack.seed}\0{self.attack.attack!r}".encode())
        return digest.hexdigest()[:16]


def readable(dataset: Dataset, records: Sequence[ImageRecord], batch_size: int = 256) -> list[ImageRecord]:
    """The records among ``records`` whose images can be read (each read once, a batch at a time;
    the others are listed in ``dataset.skipped`` by the dataset's ``read``)."""
    kept: list[ImageRecord] = []
    for start in range(0, len(records), batch_size):
        kept += dataset.read(records[start:start + batch_size])[1]
    return kept


def take(images: np.ndarray | LazyImages, rows: np.ndarray) -> np.ndarray | LazyImages:
    """``images[rows]``, left unread when ``images`` is lazy."""
    return images.subset(rows) if isinstance(images, LazyImages) else images[rows]
