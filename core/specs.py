"""Spec records the hooks return: a name, a factory and a one-line summary (DESIGN.md, Hooks)."""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

NAME_PATTERN = re.compile(r"^[a-z0-9_.-]+$")
COMMAND_GROUPS = ("analysis", "maintenance")


def lazy_factory(target: str, **fixed: Any) -> Callable[..., Any]:
    """A factory for ``"package.module:Class"`` that imports the module only when called, so a
    plugin's hook module stays light; ``fixed`` keyword arguments are passed on every call (a
    registered variant), and call-time keyword arguments are added to them."""
    module, _, name = target.partition(":")
    if not module or not name:
        raise ValueError(f"target must be 'package.module:Name'; got {target!r}")
    return partial(_construct, module, name, **fixed)


def _construct(module: str, name: str, **params: Any) -> Any:
    return getattr(importlib.import_module(module), name)(**params)


def _validate(kind: str, name: object, factory: object, summary: object) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(f"{kind} name {name!r} must be lowercase [a-z0-9_.-]+")
    if not callable(factory):
        raise TypeError(f"{kind} {name!r}: factory must be callable, got {type(factory).__name__}")
    if not isinstance(summary, str) or not summary.strip() or "\n" in summary.strip():
        raise ValueError(f"{kind} {name!r}: summary must be one non-empty line")


@dataclass(frozen=True)
class DetectorSpec:
    """A Detector, Attributor or FingerprintDecoder: ``factory()`` returns a new unfitted instance."""

    name: str
    factory: Callable[[], Any]
    summary: str

    def __post_init__(self) -> None:
        _validate("detector", self.name, self.factory, self.summary)


@dataclass(frozen=True)
class AttackSpec:
    """An Attack: ``factory(**params)`` returns a new instance (params override its defaults)."""

    name: str
    factory: Callable[..., Any]
    summary: str

    def __post_init__(self) -> None:
        _validate("attack", self.name, self.factory, self.summary)


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: ``factory()`` or, for ``--dataset NAME:ARG``, ``factory(ARG)`` returns a Dataset."""

    name: str
    factory: Callable[..., Any]
    summary: str

    def __post_init__(self) -> None:
        _validate("dataset", self.name, self.factory, self.summary)


@dataclass(frozen=True)
class CommandSpec:
    """A ``bench NAME`` sub-command a plugin contributes (after conda's ``CondaSubcommand``).

    ``add_arguments(parser)`` adds the command's options to its ``argparse.ArgumentParser`` (and
    may add sub-parsers of its own); ``run(args) -> int`` runs it and returns the exit code (0 done,
    1 nothing could be computed, 2 a usage error: raise :class:`ganprint.commands.UsageError`).
    ``group`` places it in ``bench --help``: ``analysis`` (a paper's figures and tables) or
    ``maintenance`` (training and shipping a plugin's own models). Both functions must import
    heavy libraries inside their body, so that ``bench --help`` stays fast.
    """

    name: str
    summary: str
    add_arguments: Callable[[Any], None]
    run: Callable[[Any], int]
    group: str = "analysis"

    def __post_init__(self) -> None:
        _validate("command", self.name, self.run, self.summary)
        if not callable(self.add_arguments):
            raise TypeError(f"command {self.name!r}: add_arguments must be callable")
        if self.group not in COMMAND_GROUPS:
            raise ValueError(f"command {self.name!r}: group must be one of {COMMAND_GROUPS}; got {self.group!r}")
