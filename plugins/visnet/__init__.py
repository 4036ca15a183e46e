"""The ``visnet`` plugin: the fingerprint visualisation network of Yu et al. 2019, §3.3.

torch is imported by the factory, not when the plugin is loaded.
"""
from __future__ import annotations

from typing import Any, Iterable

from ganprint import CommandSpec, DetectorSpec, hookimpl
from ganprint.commands import command_from_module


def make_visnet(**params: Any) -> Any:
    """A new, unfitted :class:`~ganprint.plugins.visnet.attributor.VisNetAttributor`."""
    from ganprint.plugins.visnet.attributor import VisNetAttributor

    return VisNetAttributor(**params)


@hookimpl
def ganprint_detectors() -> Iterable[DetectorSpec]:
    yield DetectorSpec("visnet", make_visnet,
                       "visNet: reconstruction residuals correlated with learned model fingerprints (Yu et al. 2019 §3.3)")


@hookimpl
def ganprint_commands() -> Iterable[CommandSpec]:
    yield command_from_module("visnet", "visNet fingerprint pictures (Yu et al. 2019, Fig. 7)",
                              "ganprint.plugins.visnet.commands")
