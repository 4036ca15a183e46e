"""``bench stega``: the artificial-fingerprint pipeline of Yu et al. 2021 on the GAN zoo.

- ``bench stega build [--preset default] [--families dcgan,...] [--controls dcgan]``: trains (or
  resumes) the steganography model, the fingerprinted generators and the clean controls, and
  builds the ``zoo:stega`` dataset; each step is cached, an interrupted run continues;
- ``bench stega eval --out DIR``: Tables 1–2, secrecy, and the robustness sweeps (PNGs) into DIR;
- ``bench stega ship``: copies the trained fingerprinted generators into the package.

The pipeline belongs to the ``stega`` plugin; benchmark/ never imports ganprint.plugins, so the
plugin is reached through the registry (the module of its registered factory).
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tabulate import tabulate

from ganprint.benchmark.errors import UsageError
from ganprint.registry import UnknownNameError, load_registry

PLUGIN = "stega"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stega", help="artificial GAN fingerprints (Yu et al. 2021): build, evaluate")
    commands = parser.add_subparsers(dest="stega_command", metavar="COMMAND")
    commands.required = True
    build = commands.add_parser("build", help="train / resume the pipeline and build zoo:stega")
    build.add_argument("--preset", default="default", help="zoo:stega preset (default: default)")
    build.add_argument("--families", default=None, help="comma list of families to train (default: all)")
    build.add_argument("--controls", default="", help="comma list of families whose clean control to train")
    build.add_argument("--no-dataset", action="store_true", help="train only, do not sample the dataset")
    build.set_defaults(func=run_build)
    evaluate = commands.add_parser("eval", help="Tables 1-2, secrecy and robustness sweeps")
    evaluate.add_argument("--preset", default="default", help="zoo:stega preset (default: default)")
    evaluate.add_argument("--out", type=Path, required=True, help="folder for stega_report.json and the PNGs")
    evaluate.add_argument("--n", type=int, default=500, help="images per source and table (default: 500)")
    evaluate.set_defaults(func=run_eval)
    ship = commands.add_parser("ship", help="copy the trained fingerprinted generators into the package")
    ship.add_argument("--preset", default="default", help="zoo:stega preset (default: default)")
    ship.set_defaults(func=run_ship)


def plugin_submodule(name: str) -> ModuleType:
    """A submodule of the registered ``stega`` plugin's package."""
    try:
        spec = load_registry().get("detectors", PLUGIN)
    except UnknownNameError as error:
        raise UsageError(f"the {PLUGIN!r} plugin is not installed") from error
    return importlib.import_module(f"{sys.modules[spec.factory.__module__].__name__}.{name}")


def _preset(name: str) -> Any:
    pipeline = plugin_submodule("pipeline")
    try:
        return pipeline.preset(name)
    except ValueError as error:
        raise UsageError(str(error)) from error


def _names(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def run_build(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)
    pipeline = plugin_submodule("pipeline")
    p = _preset(args.preset)
    for family in _names(args.families) or list(p.families):
        _, meta = pipeline.fingerprinted_generator(p, family)
        print(f"{family}: fingerprinted generator ready ({meta['config']['iterations']} iterations)")
    for family in _names(args.controls):
        pipeline.clean_generator(p, family)
        print(f"{family}: clean control ready")
    if not args.no_dataset:
        dataset = pipeline.stega_dataset(p.name)
        print(f"{dataset.name}: {len(dataset.records())} images, hash {dataset.content_hash()}")
    return 0


def run_ship(args: argparse.Namespace) -> int:
    folder = plugin_submodule("pipeline").ship(_preset(args.preset))
    print(f"shipped generators and manifest in {folder}")
    return 0


def _table(rows: list[dict[str, Any]]) -> str:
    return tabulate(rows, headers="keys", floatfmt=".3f", tablefmt="github")


def run_eval(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)
    report = plugin_submodule("report").full_report(_preset(args.preset), args.out, n=args.n)
    print("Table 1 (transfer and fidelity)\n" + _table(report["table1"]))
    table2 = report["table2"]
    print("\nTable 2 (by fingerprint)\n" + _table([{"protocol": k, **{m: v for m, v in d.items() if m != "held_out"}}
                                                 for k, d in table2.items()]))
    print("\nSecrecy\n" + _table(report["secrecy"]))
    for name, curve in report["model_sweeps"].items():
        print(f"\n{name}: working range {curve['working_range']}; bitwise {curve['bitwise_acc']}; swd {curve['swd']}")
    for name, curves in report["image_sweeps"].items():
        for curve in curves:
            print(f"{name} [{curve['label']}]: {curve['working_range']}; values {curve['values']}")
    print(f"\nwritten to {args.out}")
    return 0
