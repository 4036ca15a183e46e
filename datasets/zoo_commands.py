"""``bench zoo``: train the GAN zoo's generators and install them into the package.

- ``bench zoo train default|paper [--worker I/N] [--only NAME,...]``: trains every
  generator of the preset (or the named ones) from scratch (deterministic; checkpoints under the
  cache, so an interrupted run resumes mid-generator); ``--worker I/N`` lets N processes share
  the generators;
- ``bench zoo install default|paper``: copies every finished generator into
  ``datasets/weights`` (``datasets/weights_staged`` for a staged preset) and updates
  ``manifest.json`` there (then commit those files).

The training logic is :mod:`ganprint.datasets.zoo_train`.
"""
from __future__ import annotations

import argparse

from ganprint.commands import UsageError, names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="zoo_command", metavar="COMMAND")
    commands.required = True
    train = commands.add_parser("train", help="train (or resume) every generator of a preset")
    train.add_argument("preset", help="default or paper (smoke is trained on the fly)")
    train.add_argument("--worker", default="0/1", help="I/N: train every N-th generator starting at I")
    train.add_argument("--only", help="comma-separated generator names, e.g. dcgan-s0-d0,dcgan-s1-d0")
    train.set_defaults(handler=run_train)
    install = commands.add_parser("install", help="copy finished generators into datasets/weights")
    install.add_argument("preset", help="default or paper")
    install.set_defaults(handler=run_install)


def run(args: argparse.Namespace) -> int:
    return args.handler(args)


def _preset(name: str):
    from ganprint.datasets.zoo_presets import PRESETS

    if name not in PRESETS or not PRESETS[name].shipped:
        raise UsageError(f"unknown preset {name!r}; use one of "
                         + ", ".join(p for p, v in PRESETS.items() if v.shipped))
    return PRESETS[name]


def run_train(args: argparse.Namespace) -> int:
    import torch

    from ganprint.datasets.zoo_train import train_dir, train_preset

    preset = _preset(args.preset)
    try:
        worker, n_workers = (int(v) for v in args.worker.split("/"))
    except ValueError:
        raise UsageError(f"--worker must be I/N, e.g. 0/2; got {args.worker!r}") from None
    if not 0 <= worker < n_workers:
        raise UsageError(f"--worker I/N needs 0 <= I < N; got {args.worker!r}")
    torch.set_num_threads(1)
    print(f"checkpoints and results: {train_dir(preset.name)}", flush=True)
    try:
        train_preset(preset, worker, n_workers, only=names(args.only) or None)
    except ValueError as error:
        raise UsageError(str(error)) from None
    return 0


def run_install(args: argparse.Namespace) -> int:
    from ganprint.datasets.zoo_train import install_finished

    installed = install_finished(_preset(args.preset))
    for name in installed:
        print("installed", name)
    if not installed:
        print(f"no finished generator of preset {args.preset} yet")
    return 0
