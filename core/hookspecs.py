"""The hooks a ganprint plugin implements (pluggy project name ``ganprint``).

Each returns an iterable of spec records. A plugin module decorates plain functions with
``@ganprint.hookimpl`` and is declared under the ``ganprint`` entry-point group.
"""
from __future__ import annotations

from typing import Iterable

import pluggy

from ganprint.specs import AttackSpec, CommandSpec, DatasetSpec, DetectorSpec

PROJECT = "ganprint"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ganprint_detectors() -> Iterable[DetectorSpec]:
    """Detectors, Attributors and FingerprintDecoders this plugin provides."""


@hookspec
def ganprint_attacks() -> Iterable[AttackSpec]:
    """Image (or model) perturbations this plugin provides."""


@hookspec
def ganprint_datasets() -> Iterable[DatasetSpec]:
    """Datasets this plugin provides."""


@hookspec
def ganprint_commands() -> Iterable[CommandSpec]:
    """``bench`` sub-commands this plugin provides (a paper's analyses, its models' maintenance)."""
