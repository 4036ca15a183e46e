"""BFR-VAE (Ding, Thakur and Li, "Does a GAN leave distinct model-specific fingerprints?"): a VAE
with a hierarchical Bayesian (Normal-Gamma) latent whose μ′ distributions are GAN fingerprints.

``model`` holds the network and loss (§3), ``attributor`` the plugin's Attributor (§4-5, and the
list of deviations from the paper), ``simulation`` the sine-wave simulation of §4, ``analysis`` the
JSD/correlation comparisons and plots of §5, ``experiments`` the Tables 1-3 driver, ``commands``
``bench bfrvae analyse``. Registered as ``bfrvae``.
"""
from __future__ import annotations

from typing import Any, Iterable

from ganprint import CommandSpec, DetectorSpec, hookimpl
from ganprint.commands import command_from_module


def _factory(**params: Any) -> Any:
    from ganprint.plugins.bfrvae.attributor import BFRVAEAttributor

    return BFRVAEAttributor(**params)


@hookimpl
def ganprint_detectors() -> Iterable[DetectorSpec]:
    yield DetectorSpec("bfrvae", _factory,
                       "BFR-VAE: hierarchical Bayesian VAE fingerprints, per-source likelihood of mu' (Ding et al.)")


@hookimpl
def ganprint_commands() -> Iterable[CommandSpec]:
    yield command_from_module("bfrvae", "BFR-VAE fingerprint-distribution analyses (Ding et al., Tables 1-3, Fig. 5)",
                              "ganprint.plugins.bfrvae.commands")
