"""Spec records the hooks return: a name, a factory and a one-line summary (DESIGN.md, Hooks)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

NAME_PATTERN = re.compile(r"^[a-z0-9_.-]+$")


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
