"""``bench data``: build a dataset into the cache, or describe it.

- ``bench data build [--dataset NAME]``: opens (so builds and caches) the dataset, with progress;
- ``bench data show [--dataset NAME] [--out DIR]``: sources, counts per split, image size, content hash, the
  SWD (Karras et al. 2018, ×10³) of each source's training images to the real training images
  (for ``real`` itself: its test images), and a PNG grid of 64 samples per source in DIR.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from tabulate import tabulate

from ganprint.commands import DEFAULT_DATASET, add_dataset_argument, check_output_dir, open_dataset
from ganprint.dataset import SPLITS
from ganprint.interfaces import REAL

SWD_IMAGES = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="data_command", metavar="COMMAND")
    commands.required = True
    build = commands.add_parser("build", help="build and cache a dataset")
    _dataset_arguments(build)
    build.set_defaults(handler=run_build)
    show = commands.add_parser("show", help="sources, counts, hash, SWD per source, sample grids")
    _dataset_arguments(show)
    show.add_argument("--out", type=Path, default=Path("data-show"), help="folder for the PNG grids")
    show.set_defaults(handler=run_show)


def _dataset_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dataset NAME``, and the dataset as a positional word as well (``bench data build NAME``)."""
    add_dataset_argument(parser)
    parser.add_argument("name", nargs="?", default=None, help=f"the dataset, as --dataset (default: {DEFAULT_DATASET})")


def run(args: argparse.Namespace) -> int:
    if args.name is not None:
        args.dataset = args.name
    return args.handler(args)


def run_build(args: argparse.Namespace) -> int:
    dataset = open_dataset(args.dataset)
    print(f"{dataset.name}: {len(dataset.records())} images of {dataset.image_size}x{dataset.image_size}, "
          f"content hash {dataset.content_hash()}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ganprint.datasets.grid import save_grid
    from ganprint.datasets.swd import swd

    check_output_dir(args.out)
    dataset = open_dataset(args.dataset)
    counts = {split: dataset.count(split) for split in SPLITS}
    real_train = dataset.load("train", [REAL]).images
    rows = []
    for source in dataset.sources:
        images = dataset.load("test" if source == REAL else "train", [source]).images
        n = min(len(images), len(real_train), SWD_IMAGES)
        distance = swd(images[:n], real_train[:n]) if n >= 2 else float("nan")
        grid = save_grid(dataset.load("test", [source]).images[:64], args.out / f"{source}.png")
        rows.append([source, *(counts[s].get(source, 0) for s in SPLITS), f"{distance:.1f}", grid])
    print(f"{dataset.name}: image size {dataset.image_size}, content hash {dataset.content_hash()}")
    print(tabulate(rows, headers=["source", *SPLITS, "SWD x1e3 to real train", "grid"]))
    return 0
