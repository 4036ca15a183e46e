"""Registers the built-in datasets (``ganprint_datasets``) and ``bench zoo`` (``ganprint_commands``)."""
from __future__ import annotations

from typing import Iterable

from ganprint import CommandSpec, DatasetSpec, hookimpl
from ganprint.commands import command_from_module
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


@hookimpl
def ganprint_commands() -> Iterable[CommandSpec]:
    yield command_from_module("zoo", "train the GAN zoo's generators and install finished ones into the package",
                              "ganprint.datasets.zoo_commands", group="maintenance")
