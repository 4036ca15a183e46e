"""``bench data``: build a dataset into the cache, or describe it.

- ``bench data build NAME``: opens (so builds and caches) the dataset, with progress;
- ``bench data show NAME [--out DIR]``: sources, counts per split, image size, content hash, the
  SWD (Karras et al. 2018, ×10³) of each source's training images to the real training images
  (for ``real`` itself: its test images), and a PNG grid of 64 samples per source in DIR.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from tabulate import tabulate

from ganprint.benchmark.cmd_run import DEFAULT_DATASET, open_dataset
from ganprint.dataset import SPLITS
from ganprint.interfaces import REAL
from ganprint.registry import load_registry

SWD_IMAGES = 1000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="build or describe a dataset")
    commands = parser.add_subparsers(dest="data_command", metavar="COMMAND")
    commands.required = True
    build = commands.add_parser("build", help="build and cache a dataset")
    build.add_argument("name", nargs="?", default=DEFAULT_DATASET, help=f"dataset (default: {DEFAULT_DATASET})")
    build.set_defaults(func=run_build)
    show = commands.add_parser("show", help="sources, counts, hash, SWD per source, sample grids")
    show.add_argument("name", nargs="?", default=DEFAULT_DATASET, help=f"dataset (default: {DEFAULT_DATASET})")
    show.add_argument("--out", type=Path, default=Path("data-show"), help="folder for the PNG grids")
    show.set_defaults(func=run_show)


def run_build(args: argparse.Namespace) -> int:
    dataset = open_dataset(load_registry(), args.name)
    print(f"{dataset.name}: {len(dataset.records())} images of {dataset.image_size}x{dataset.image_size}, "
          f"content hash {dataset.content_hash()}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ganprint.datasets.grid import save_grid
    from ganprint.datasets.swd import swd

    dataset = open_dataset(load_registry(), args.name)
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
