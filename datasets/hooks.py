"""Registers the built-in datasets (``ganprint_datasets``) and ``bench zoo`` (``ganprint_commands``)."""
from __future__ import annotations

from typing import Iterable

from ganprint import CommandSpec, DatasetSpec, hookimpl
from ganprint.commands import command_from_module
from ganprint.dataset import DatasetError


def _folder(argument: str | None = None):
    from ganprint.datasets.folder import FolderDataset
    from ganprint.datasets.size_policy import split_options

    path, size, fit = split_options(argument or "")
    if not path:
        raise DatasetError("the folder dataset needs a path: --dataset folder:PATH[:size=N][:fit=F]")
    return FolderDataset(path, image_size=size, image_fit=fit)


def _manifest(argument: str | None = None):
    from ganprint.datasets.manifest import ManifestDataset
    from ganprint.datasets.size_policy import split_options

    path, size, fit = split_options(argument or "")
    if not path:
        raise DatasetError("the manifest dataset needs a CSV file: --dataset manifest:FILE.csv[:size=N][:fit=F]")
    return ManifestDataset(path, image_size=size, image_fit=fit)


def _zoo(argument: str | None = None):
    from ganprint.datasets.zoo import open_zoo

    return open_zoo(argument)


@hookimpl
def ganprint_datasets() -> Iterable[DatasetSpec]:
    yield DatasetSpec("folder", _folder, "Images under PATH: real/ + <generator>/, train/val/test/, Wang 2020 "
                      "or GenImage trees (folder:PATH[:size=N][:fit=F])")
    yield DatasetSpec("manifest", _manifest, "Images listed in a CSV: path,source[,split][,bits] "
                      "(manifest:FILE.csv[:size=N][:fit=F])")
    yield DatasetSpec("zoo", _zoo, "Real photo crops + GAN zoo samples: zoo:smoke|default|paper[/architectures|seeds|trainsets]")


@hookimpl
def ganprint_commands() -> Iterable[CommandSpec]:
    yield command_from_module("zoo", "train the GAN zoo's generators and install finished ones into the package",
                              "ganprint.datasets.zoo_commands", group="maintenance")
