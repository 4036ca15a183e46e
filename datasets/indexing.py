"""Indexing image files: their headers only (size, mode, format), read in parallel, with progress.

Pillow opens a file lazily: :func:`ganprint.datasets.decode.read_header` reads the first bytes of
each file and decodes no pixel, so indexing costs one small read per file. Files are read by a pool
of threads (the work is mostly waiting on the file system), in chunks, and the result keeps the
order of the input. A progress bar shows on a terminal (tqdm; ``bench -q`` hides it).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from tqdm.auto import tqdm

from ganprint.datasets.decode import ImageHeader, UnreadableImage, read_header

CHUNK = 256


def default_workers() -> int:
    """Threads for indexing: enough to keep a slow (network) file system busy."""
    return min(16, 4 * (os.cpu_count() or 1))


def _headers(paths: Sequence[Path]) -> list[ImageHeader | UnreadableImage]:
    out: list[ImageHeader | UnreadableImage] = []
    for path in paths:
        try:
            out.append(read_header(path))
        except UnreadableImage as error:
            out.append(error)
    return out


def read_headers(paths: Sequence[Path], *, workers: int | None = None,
                 desc: str = "indexing") -> list[ImageHeader | UnreadableImage]:
    """The header of each file, or the :class:`UnreadableImage` saying why it has none, in order."""
    workers = default_workers() if workers is None else workers
    chunks = [paths[i:i + CHUNK] for i in range(0, len(paths), CHUNK)]
    out: list[ImageHeader | UnreadableImage] = []
    with tqdm(total=len(paths), desc=desc, unit="file", disable=None, leave=False) as bar:
        if workers <= 1 or len(chunks) <= 1:
            for chunk in chunks:
                out += _headers(chunk)
                bar.update(len(chunk))
            return out
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for chunk, headers in zip(chunks, pool.map(_headers, chunks)):
                out += headers
                bar.update(len(chunk))
    return out
