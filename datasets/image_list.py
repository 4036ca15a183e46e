"""Images named one by one (files, and folders searched at any depth), read at a fixed size.

For applying a saved detector to new images (``bench predict``). Files are decoded by
:mod:`ganprint.datasets.decode` (grayscale, palette and 16-bit images converted to RGB as the
folder datasets convert them) and brought to the detector's size by its size policy
(:mod:`ganprint.datasets.size_policy`; ``random-crop`` takes the centred window, as for test
images), with a note saying when an image had to be resized or cropped. Folders are listed by
:func:`ganprint.datasets.tree.files_below` (hidden entries ignored, links to folders not
followed). A file without an image suffix, or one that cannot be decoded, is skipped with its
reason, never a crash.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ganprint.dataset import SkippedImage
from ganprint.datasets.decode import IMAGE_SUFFIXES, UnreadableImage, decode_rgb
from ganprint.datasets.size_policy import SizePolicy
from ganprint.datasets.tree import files_below


def list_images(paths: Sequence[Path | str]) -> tuple[list[Path], list[SkippedImage]]:
    """The image files among ``paths`` and below the folders among them (in the order given,
    each folder's files by path, each file once), and the entries skipped with their reason. A
    path that does not exist is skipped too; the caller may refuse it before."""
    files: list[Path] = []
    skipped: list[SkippedImage] = []
    for given in map(Path, paths):
        if given.is_dir():
            found, passed_over = files_below(given, given)
            skipped += [SkippedImage(str(given / s.id), s.reason) for s in passed_over]
        elif given.exists():
            found = [given]
        else:
            skipped.append(SkippedImage(str(given), "no such file or folder"))
            continue
        for file in found:
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append(SkippedImage(str(file), f"not an image file (suffix {file.suffix or 'none'})"))
            elif file not in files:
                files.append(file)
    return files, skipped


@dataclass(frozen=True)
class FittedImage:
    """One image at the policy's size, and what was done to get it there ('' when nothing)."""

    image: np.ndarray
    note: str


def read_fitted(path: Path | str, policy: SizePolicy) -> FittedImage:
    """Decode ``path`` and bring it to ``policy.size`` by ``policy.fit``; raise UnreadableImage."""
    rgb = decode_rgb(path)
    height, width = rgb.shape[:2]
    image = policy.apply(rgb, str(path), "test")
    return FittedImage(image, fit_note(height, width, policy))


def fit_note(height: int, width: int, policy: SizePolicy) -> str:
    """What ``policy`` does to a ``width`` x ``height`` image, in a few words ('' for nothing)."""
    size = policy.size
    if (height, width) == (size, size):
        return ""
    if policy.fit == "resize":
        square = "" if height == width else f", its centred {min(height, width)}px square"
        return f"resized from {width}x{height}{square}"
    enlarged = ", enlarged first" if min(height, width) < size else ""
    return f"centre-cropped from {width}x{height}{enlarged}"


def read_batch(paths: Sequence[Path], policy: SizePolicy) -> tuple[np.ndarray, list[int], list[str],
                                                                    list[SkippedImage]]:
    """(images (n, S, S, 3), the positions in ``paths`` they come from, their notes, and the
    files that could not be read with their reason)."""
    images, rows, notes, skipped = [], [], [], []
    for row, path in enumerate(paths):
        try:
            fitted = read_fitted(path, policy)
        except UnreadableImage as error:
            skipped.append(SkippedImage(str(path), str(error)))
            continue
        except OSError as error:
            skipped.append(SkippedImage(str(path), f"{type(error).__name__}: {error.strerror or error}"))
            continue
        images.append(fitted.image)
        rows.append(row)
        notes.append(fitted.note)
    batch = np.stack(images) if images else np.empty((0, policy.size, policy.size, 3), np.uint8)
    return batch, rows, notes, skipped
