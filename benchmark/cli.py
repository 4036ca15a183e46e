"""The ``bench`` command. Each sub-command lives in its own module listed in ``COMMANDS``; a module
defines ``register(subparsers)``, which adds its parser and sets ``func(args) -> exit code``."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ganprint.benchmark.errors import UsageError

COMMANDS = [
    "ganprint.benchmark.cmd_list",
    "ganprint.benchmark.cmd_run",
    "ganprint.benchmark.cmd_prnu",
    "ganprint.benchmark.cmd_bfrvae",
    "ganprint.benchmark.cmd_visnet",
    "ganprint.benchmark.cmd_sweep",
    "ganprint.benchmark.cmd_stega",
    "ganprint.benchmark.cmd_export",
    "ganprint.benchmark.cmd_cnn",
    "ganprint.benchmark.cmd_zoo",
    "ganprint.benchmark.cmd_data",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bench", description="Benchmark GAN-image forensics methods: detection, attribution, fingerprints.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
