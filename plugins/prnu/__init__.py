"""PRNU-style residual fingerprints of GANs: Marra, Gragnaniello, Verdoliva and Poggi, "Do GANs
leave artificial fingerprints?" (MIPR 2019).

- :mod:`.residual`: noise residuals by wavelet-domain adaptive Wiener filtering (§3, eq. 1);
- :mod:`.similarity`: fingerprints as mean residuals (eq. 3), normalised correlation (eq. 5), PCE;
- :mod:`.attributor`: the Detector / open-world Attributor built on them (§4);
- :mod:`.analysis`: the analyses of Figs. 2–6.

This module is the plugin registered under the ``ganprint`` entry-point group. It imports nothing
heavy: the public names below are loaded on first access.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable

from ganprint import CommandSpec, DetectorSpec, hookimpl
from ganprint.commands import command_from_module

_PUBLIC = {
    "residuals": "residual",
    "fingerprint": "similarity",
    "correlation": "similarity",
    "pce": "similarity",
    "PRNUAttributor": "attributor",
    "analyse": "analysis",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _factory(**params: Any) -> Callable[[], Any]:
    def make() -> Any:
        from ganprint.plugins.prnu.attributor import PRNUAttributor

        return PRNUAttributor(**params)

    return make


VARIANTS = {
    "prnu": ({}, "residual fingerprints, correlation attribution (Marra et al. 2019)"),
    "prnu.zm": ({"zero_mean": True}, "prnu with residuals zero-meaned on the 2x2 lattices"),
    "prnu.dft": ({"wiener_dft": True}, "prnu with residuals Wiener-filtered in the DFT domain"),
    "prnu.pce": ({"similarity": "pce"}, "prnu scored by peak-to-correlation energy instead of correlation"),
}


@hookimpl
def ganprint_detectors() -> Iterable[DetectorSpec]:
    for name, (params, summary) in VARIANTS.items():
        yield DetectorSpec(name, _factory(**params), summary)


@hookimpl
def ganprint_commands() -> Iterable[CommandSpec]:
    yield command_from_module("prnu", "PRNU residual-fingerprint analyses (Marra et al. 2019, Figs. 2-6)",
                              "ganprint.plugins.prnu.commands")
