"""What every ``bench`` command uses, the harness's and the plugins' alike (``ganprint_commands``).

One convention across commands: ``--dataset NAME`` (default ``zoo:default``), ``--out DIR`` for
the files a command writes, ``--seed`` a non-negative integer. Option values are checked by the
argument types below before any work, so a bad value is exit 2 with one line, never a traceback
after an hour of fitting; a command raises :class:`UsageError` for anything else the user must
change (the ``bench`` entry point prints it as ``bench: error: ...`` and exits with status 2).
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
from pathlib import Path
from typing import Any, Callable, Iterable

from ganprint.specs import CommandSpec

DEFAULT_DATASET = "zoo:default"
# The harness's own commands (ganprint.benchmark): no plugin may register a command of these names.
HARNESS_COMMANDS = ("list", "run", "sweep", "export", "data", "report", "fit", "predict")


class UsageError(Exception):
    """A user error: a bad dataset, name, path or option (exit status 2)."""


def names(text: str | None) -> list[str]:
    """A comma list ``"a, b,,c"`` → ``["a", "b", "c"]`` (empty or None → ``[]``), order kept,
    repeats dropped."""
    if not text:
        return []
    return list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def _number(kind: Callable[[str], Any], text: str, what: str) -> Any:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not {what} (NaN and infinities are refused)")
    return value


def finite_float(text: str) -> float:
    """An argparse type: a finite float."""
    return _number(float, text, "a finite number")


def positive_float(text: str) -> float:
    """An argparse type: a finite float above 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: a finite float at or above 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 0")
    return value


def unit_interval(text: str) -> float:
    """An argparse type: a finite float in [0, 1]."""
    value = finite_float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} must lie between 0 and 1")
    return value


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = _number(int, text, "an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an integer of at least 0 (seeds, counts that may be zero)."""
    value = _number(int, text, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 0")
    return value


def add_dataset_argument(parser: argparse.ArgumentParser, default: str | None = DEFAULT_DATASET) -> None:
    """``--dataset NAME`` (``NAME``, ``NAME:ARG``, ``folder:PATH``, ``manifest:FILE.csv``)."""
    parser.add_argument("--dataset", default=default, required=default is None,
                        help="NAME, NAME:ARG or folder:PATH (see `bench list datasets`)")


def add_seed_argument(parser: argparse.ArgumentParser) -> None:
    """``--seed N``: a non-negative integer fixing every random choice (default 0)."""
    parser.add_argument("--seed", type=non_negative_int, default=0, help="fixes every random choice")


def add_out_argument(parser: argparse.ArgumentParser, help: str, default: Path | None = None) -> None:
    """``--out DIR``: the folder a command writes its files into (required unless ``default``)."""
    parser.add_argument("--out", type=Path, default=default, required=default is None, help=help)


def check_output_dir(path: Path | str | None, option: str = "--out", files: Iterable[str] = ()) -> Path | None:
    """``path`` if a folder can be created or written there, with room for the named ``files``
    (none of them an existing folder), else :class:`UsageError` (run it before any work)."""
    if path is None:
        return None
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file; it must be a folder (or not exist yet)")
    _check_writable_ancestor(path, option)
    for name in files:
        check_output_file(path / name, option)
    return path


def check_output_file(path: Path | str | None, option: str) -> Path | None:
    """``path`` if a file can be written there, else :class:`UsageError` (run it before any work)."""
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; it must be a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{option} {path} is not writable")
    _check_writable_ancestor(path.parent, option)
    return path


def _check_writable_ancestor(path: Path, option: str) -> None:
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise UsageError(f"{option}: {probe} is a file, so {path} cannot be created")
    target = path if path.exists() else probe
    if target.exists() and not os.access(target, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: {target} is not writable")


def add_image_size_arguments(parser: argparse.ArgumentParser) -> None:
    """``--image-size N`` and ``--image-fit resize|crop|random-crop`` for datasets read from files."""
    parser.add_argument("--image-size", type=positive_int, default=None,
                        help="read the dataset's images at N x N (default: the dataset's own size; "
                             "overrides DATASET:size=N)")
    parser.add_argument("--image-fit", choices=("resize", "crop", "random-crop"), default=None,
                        help="how images become N x N: resize (the default), crop (centred), random-crop "
                             "(random windows for training, centred for val/test); overrides DATASET:fit=F")


def open_dataset(text: str, registry: Any = None, *, image_size: int | None = None,
                 image_fit: str | None = None) -> Any:
    """The dataset ``text`` names, read at ``image_size`` by ``image_fit`` when given, or
    :class:`UsageError` with one line saying why it cannot be opened."""
    from ganprint.dataset import DatasetError
    from ganprint.registry import UnknownNameError, load_registry

    registry = registry if registry is not None else load_registry()
    try:
        dataset = registry.open_dataset(text)
        if image_size is None and image_fit is None:
            return dataset
        if not callable(getattr(dataset, "with_image_size", None)):
            raise DatasetError(f"dataset {text!r} has a fixed image size; --image-size and --image-fit "
                               "apply to datasets read from files (folder:, manifest:)")
        return dataset.with_image_size(image_size, image_fit)
    except (DatasetError, UnknownNameError) as error:
        raise UsageError(str(error).strip("'\"")) from error
    except (KeyboardInterrupt, UsageError):
        raise
    except BaseException as error:  # noqa: BLE001 - a dataset plugin's own failure is still one line
        raise UsageError(f"could not open dataset {text!r}: {type(error).__name__}: {error}") from error


def command_from_module(name: str, summary: str, module: str, group: str = "analysis") -> CommandSpec:
    """A :class:`CommandSpec` whose ``add_arguments`` and ``run`` are those of ``module``, imported
    only when the command is used (so that ``bench --help`` imports none of it)."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        importlib.import_module(module).add_arguments(parser)

    def run(args: argparse.Namespace) -> int:
        return importlib.import_module(module).run(args)

    return CommandSpec(name, summary, add_arguments, run, group)
