"""Listing a dataset's folder tree without losing anything silently.

Hidden entries (a name starting with ``.``) are ignored. Every other entry is either listed or
reported as a :class:`ganprint.dataset.SkippedImage` with the reason: a folder that cannot be
listed (permission, I/O error) is one line ``<folder>/`` however many images it holds; a link to
a folder below a source folder is not followed; a broken link, socket or device is not a file.
Ids are paths relative to the dataset's root, ``/``-separated.
"""
from __future__ import annotations

import os
from pathlib import Path

from ganprint.dataset import SkippedImage


def relative_key(path: Path, root: Path) -> str:
    """``path`` relative to ``root``, ``/``-separated: the id of a file or folder in a dataset."""
    return path.relative_to(root).as_posix()


def folder_key(path: Path, root: Path) -> str:
    """The id of a folder in a skipped-list line: its relative path with a trailing ``/``."""
    return f"{relative_key(path, root)}/" if path != root else f"{root.name or root}/"


def cannot_list(folder: Path, root: Path, error: OSError) -> SkippedImage:
    return SkippedImage(folder_key(folder, root), f"folder cannot be listed: {type(error).__name__}: "
                                                   f"{error.strerror or error}")


def _visible_entries(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as it:
        return sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)


def children(folder: Path, root: Path) -> tuple[list[Path], list[Path], list[SkippedImage]]:
    """(visible sub-folders, visible files, skipped entries) directly in ``folder``, by name.

    Links are followed at this level. Raises ``OSError`` when ``folder`` itself cannot be listed
    (the caller reports it, or refuses the dataset when it is the root).
    """
    folders, files, skipped = [], [], []
    for entry in _visible_entries(folder):
        path = Path(entry.path)
        try:
            if entry.is_dir():
                folders.append(path)
            elif entry.is_file():
                files.append(path)
            else:
                skipped.append(_not_a_file(path, root))
        except OSError as error:
            skipped.append(SkippedImage(relative_key(path, root), f"{type(error).__name__}: {error}"))
    return folders, files, skipped


def _not_a_file(path: Path, root: Path) -> SkippedImage:
    return SkippedImage(relative_key(path, root), "not a regular file (a broken link, socket or device)")


def files_below(folder: Path, root: Path) -> tuple[list[Path], list[SkippedImage]]:
    """Every visible file below ``folder`` (any depth), sorted by path, and what was skipped,
    sorted by id."""
    files: list[Path] = []
    skipped: list[SkippedImage] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        try:
            entries = _visible_entries(current)
        except OSError as error:
            skipped.append(cannot_list(current, root, error))
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(path)
                elif entry.is_file():
                    files.append(path)
                elif entry.is_symlink() and entry.is_dir():
                    skipped.append(SkippedImage(folder_key(path, root), "a link to a folder is not followed"))
                else:
                    skipped.append(_not_a_file(path, root))
            except OSError as error:
                skipped.append(SkippedImage(relative_key(path, root), f"{type(error).__name__}: {error}"))
    files.sort(key=lambda p: p.relative_to(folder).parts)
    skipped.sort(key=lambda s: s.id)
    return files, skipped
