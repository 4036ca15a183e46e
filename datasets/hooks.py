"""Registers the built-in datasets through the ``ganprint_datasets`` hook."""
from __future__ import annotations

from typing import Iterable

from ganprint import DatasetSpec, hookimpl
from ganprint.dataset import DatasetError


def _folder(path: str | None = None):
    from ganprint.datasets.folder import FolderDataset

    if not path:
        raise DatasetError("the folder dataset needs a path: --dataset folder:PATH")
    return FolderDataset(path)


def _zoo(argument: str | None = None):
    from ganprint.datasets.zoo import open_zoo

    return open_zoo(argument)


@hookimpl
def ganprint_datasets() -> Iterable[DatasetSpec]:
    yield DatasetSpec("folder", _folder, "Images under PATH/<source>/, PATH/real/ the real class (folder:PATH)")
    yield DatasetSpec("zoo", _zoo, "Real photo crops + GAN zoo samples: zoo:smoke|default|paper[/architectures|seeds|trainsets]")
