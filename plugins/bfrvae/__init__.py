"""BFR-VAE (Ding, Thakur and Li, "Does a GAN leave distinct model-specific fingerprints?"): a VAE
with a hierarchical Bayesian (Normal-Gamma) latent whose μ′ distributions are GAN fingerprints.

``model`` holds the network and loss (§3), ``attributor`` the plugin's Attributor (§4-5, and the
list of deviations from the paper), ``simulation`` the sine-wave simulation of §4, ``analysis`` the
JSD/correlation comparisons and plots of §5, ``experiments`` the Tables 1-3 driver
(:func:`analyse`, reached by ``bench bfrvae analyse`` through this entry point). Registered as
``bfrvae``.
"""
from __future__ import annotations

from typing import Any, Iterable

from ganprint import DetectorSpec, hookimpl


def analyse(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """:func:`ganprint.plugins.bfrvae.experiments.analyse`, imported on first use."""
    from ganprint.plugins.bfrvae.experiments import analyse as run

    return run(*args, **kwargs)


def _factory(**params: Any) -> Any:
    from ganprint.plugins.bfrvae.attributor import BFRVAEAttributor

    return BFRVAEAttributor(**params)


@hookimpl
def ganprint_detectors() -> Iterable[DetectorSpec]:
    yield DetectorSpec("bfrvae", _factory,
                       "BFR-VAE: hierarchical Bayesian VAE fingerprints, per-source likelihood of mu' (Ding et al.)")
