"""Datasets: labelled images with deterministic per-source train / val / test splits.

A dataset is an index of :class:`ImageRecord` (id, source, split, optional fingerprint bits) and
a way to read the images of some records. Reading goes batch by batch, so scoring a test set never
holds more than one batch of images; an image that cannot be read is skipped and listed in
``dataset.skipped`` with the reason, never a crash.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from ganprint.interfaces import REAL

SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.6, 0.2, 0.2)


class DatasetError(ValueError):
    """A dataset that cannot be opened at all (missing path, no images, no real class...)."""


@dataclass(frozen=True)
class ImageRecord:
    """One image of a dataset: a unique id, its source label, its split, its fingerprint bits."""

    id: str
    source: str
    split: str
    bits: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Batch:
    """Images read from a dataset with their records (only those that could be read)."""

    images: np.ndarray
    records: tuple[ImageRecord, ...]

    @property
    def labels(self) -> np.ndarray:
        return np.array([r.source for r in self.records], dtype=str)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.records]

    @property
    def bits(self) -> np.ndarray | None:
        """(n, n_bits) uint8 when every image records bits, else None."""
        if not self.records or any(r.bits is None for r in self.records):
            return None
        return np.array([r.bits for r in self.records], dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.records)


@dataclass(frozen=True)
class SkippedImage:
    id: str
    reason: str


class Dataset(ABC):
    """Base class: a subclass gives ``name``, ``image_size``, ``records()`` and ``read()``."""

    name: str
    image_size: int

    def __init__(self) -> None:
        self.skipped: list[SkippedImage] = []

    @abstractmethod
    def records(self) -> Sequence[ImageRecord]:
        """Every image of the dataset, in a fixed order."""

    @abstractmethod
    def read(self, records: Sequence[ImageRecord]) -> tuple[np.ndarray, list[ImageRecord]]:
        """The uint8 (n, S, S, 3) images of the readable ``records`` and those records.

        An unreadable image is left out of both and reported through :meth:`skip`.
        """

    @abstractmethod
    def content_hash(self) -> str:
        """A hash of the images and labels: results are keyed by it."""

    def with_image_size(self, size: int | None = None, fit: str | None = None) -> "Dataset":
        """The same images read at ``size`` × ``size`` by ``fit`` (``resize``, ``crop`` or
        ``random-crop``; :mod:`ganprint.datasets.size_policy`). Datasets read from files offer it;
        others have a fixed size and raise :class:`DatasetError`."""
        raise DatasetError(f"dataset {self.name!r} has a fixed image size ({self.image_size} px); "
                           "an image size or fit applies to datasets read from files (folder:, manifest:)")

    def skip(self, record: ImageRecord, reason: str) -> None:
        if all(s.id != record.id for s in self.skipped):
            self.skipped.append(SkippedImage(record.id, reason))

    @property
    def sources(self) -> list[str]:
        """Source labels, real first, then in sorted order."""
        names = sorted({r.source for r in self.records()})
        return sorted(names, key=lambda s: (s != REAL, s))

    @property
    def n_bits(self) -> int | None:
        """Length of the recorded fingerprints, or None when the dataset records none.

        Images without a fingerprint (real ones, in a dataset of fingerprinted GANs) record None."""
        for r in self.records():
            if r.bits is not None:
                return len(r.bits)
        return None

    def select(self, split: str, sources: Sequence[str] | None = None) -> list[ImageRecord]:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}; got {split!r}")
        wanted = None if sources is None else set(sources)
        return [r for r in self.records() if r.split == split and (wanted is None or r.source in wanted)]

    def batches(
        self, split: str, batch_size: int = 256, sources: Sequence[str] | None = None
    ) -> Iterator[Batch]:
        """The images of ``split`` (optionally only some sources), ``batch_size`` at a time."""
        chosen = self.select(split, sources)
        for start in range(0, len(chosen), batch_size):
            images, kept = self.read(chosen[start:start + batch_size])
            if kept:
                yield Batch(images, tuple(kept))

    def load(self, split: str, sources: Sequence[str] | None = None) -> Batch:
        """All images of ``split`` in memory (used for fitting), read 1024 at a time."""
        parts = list(self.batches(split, batch_size=1024, sources=sources))
        if not parts:
            raise ValueError(f"dataset {self.name!r} has no readable {split} images"
                             + (f" of sources {list(sources)}" if sources else ""))
        return Batch(np.concatenate([p.images for p in parts]), sum((p.records for p in parts), ()))

    def count(self, split: str) -> dict[str, int]:
        """Number of images per source in ``split``."""
        counts: dict[str, int] = {}
        for r in self.select(split):
            counts[r.source] = counts.get(r.source, 0) + 1
        return counts


class ArrayDataset(Dataset):
    """A dataset held in memory: images, labels and splits as arrays (zoo presets, tests).

    Records are read by id, so ``ids`` (default ``label/split/row``) must be unique: ValueError
    otherwise, as for arrays of different lengths.
    """

    def __init__(
        self,
        name: str,
        images: np.ndarray,
        labels: Sequence[str],
        splits: Sequence[str],
        bits: np.ndarray | Sequence[np.ndarray | None] | None = None,
        ids: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 (N, S, S, 3); got {images.dtype} {images.shape}")
        if images.shape[1] != images.shape[2]:
            raise ValueError(f"images must be square; got {images.shape[1]}x{images.shape[2]}")
        n = len(images)
        if (len(labels) != n or len(splits) != n or (bits is not None and len(bits) != n)
                or (ids is not None and len(ids) != n)):
            raise ValueError("images, labels, splits (and bits, ids) must have the same length")
        bad = set(splits) - set(SPLITS)
        if bad:
            raise ValueError(f"unknown splits {sorted(bad)}; use {SPLITS}")
        self.name = name
        self.image_size = int(images.shape[1])
        self.images = images
        ids = list(ids) if ids is not None else [f"{labels[i]}/{splits[i]}/{i:06d}" for i in range(n)]
        repeated = sorted({i for i, count in Counter(ids).items() if count > 1})
        if repeated:
            raise ValueError(f"ids must be unique; given more than once: {', '.join(repeated)}")
        self._records = [
            ImageRecord(ids[i], str(labels[i]), str(splits[i]),
                        None if bits is None or bits[i] is None else tuple(int(b) for b in bits[i]))
            for i in range(n)
        ]
        self._row = {r.id: i for i, r in enumerate(self._records)}
        self._hash: str | None = None

    def records(self) -> Sequence[ImageRecord]:
        return self._records

    def read(self, records: Sequence[ImageRecord]) -> tuple[np.ndarray, list[ImageRecord]]:
        rows = [self._row[r.id] for r in records]
        return self.images[rows], list(records)

    def content_hash(self) -> str:
        if self._hash is None:
            digest = hashlib.sha256(np.ascontiguousarray(self.images).tobytes())
            for r in self._records:
                digest.update(f"{r.id}\0{r.source}\0{r.split}\0{r.bits}\n".encode())
            self._hash = digest.hexdigest()[:16]
        return self._hash


def assign_splits(keys: Sequence[str], fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> list[str]:
    """Splits for the keys of one source: ordered by key hash, cut at the fractions.

    The keys are ordered by the SHA-256 hex digest of each key (so the result does not depend on
    their order) and cut into train, val, test in that order: a split with a non-zero fraction
    ``f`` takes ``round(f * n)`` keys (Python's ``round``, half to even: 75% of 6 keys is 4), the
    last such split takes what the others leave. A split whose fraction is 0 gets no key. A
    source with at least as many keys as there are non-zero fractions gets at least one key in
    each of those splits (3 keys at 60/20/20 are 1/1/1); with fewer, a split may be empty (2 keys
    at 60/20/20 are 1 train, 0 val, 1 test). ``fractions`` are three non-negative numbers that
    sum to 1, else ValueError.
    """
    if len(fractions) != len(SPLITS) or min(fractions) < 0 or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"split fractions must be {len(SPLITS)} non-negative numbers (train, val, test) "
                         f"summing to 1; got {tuple(fractions)}")
    order = sorted(range(len(keys)), key=lambda i: hashlib.sha256(keys[i].encode()).hexdigest())
    n = len(keys)
    used = [(split, fraction) for split, fraction in zip(SPLITS, fractions) if fraction > 0]
    counts, left = [], n
    for position, (_, fraction) in enumerate(used[:-1]):
        count = int(round(fraction * n))
        if n >= len(used):
            count = min(max(count, 1), left - (len(used) - 1 - position))
        counts.append(min(count, left))
        left -= counts[-1]
    counts.append(left)
    out = [""] * n
    ranked = iter(order)
    for (split, _), count in zip(used, counts):
        for _ in range(count):
            out[next(ranked)] = split
    return out
