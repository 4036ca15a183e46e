"""Learned GAN fingerprints: the attribution network of Yu et al. 2019, "Attributing Fake Images to
GANs: Learning and Analyzing GAN Fingerprints" (§3.1), and its component-analysis variants (§3.2).

Registered detectors (torch is imported only when one is built):

- ``cnn``: the attribution network (Fig. 2a);
- ``cnn.low8``, ``cnn.low16``: pre-downsampling network, the low band at 8×8 / 16×16 (Fig. 2b);
- ``cnn.high8``, ``cnn.high16``: pre-downsampling residual network, the Laplacian band between
  8×8 (16×16) and its half (Fig. 2c);
- ``cnn.patch6``, ``cnn.patch16``: post-pooling network, statistics of 6×6 / 16×16 patches
  (Fig. 2d; patch sizes are the receptive fields of this network's stages).

Other resolutions and patch sizes are hyperparameters of the same class (``band``, ``resolution``,
``patch_size``), as ``bench cnn`` uses for the Table 4 and 5 analogues.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Iterable

from ganprint import CommandSpec, DetectorSpec, hookimpl
from ganprint.commands import command_from_module

VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "cnn": ({}, "Yu et al. 2019 attribution network, learned GAN fingerprints (§3.1)"),
    "cnn.low8": ({"band": "low", "resolution": 8}, "Yu 2019 §3.2 pre-downsampling network: low band at 8x8"),
    "cnn.low16": ({"band": "low", "resolution": 16}, "Yu 2019 §3.2 pre-downsampling network: low band at 16x16"),
    "cnn.high8": ({"band": "high", "resolution": 8},
                  "Yu 2019 §3.2 pre-downsampling residual network: band between 8x8 and 4x4"),
    "cnn.high16": ({"band": "high", "resolution": 16},
                   "Yu 2019 §3.2 pre-downsampling residual network: band between 16x16 and 8x8"),
    "cnn.patch6": ({"patch_size": 6}, "Yu 2019 §3.2 post-pooling network: 6x6 patch statistics"),
    "cnn.patch16": ({"patch_size": 16}, "Yu 2019 §3.2 post-pooling network: 16x16 patch statistics"),
}


def make_cnn(**params: Any) -> Any:
    """A new :class:`~ganprint.plugins.cnn.attributor.CNNAttributor` (imports torch)."""
    from ganprint.plugins.cnn.attributor import CNNAttributor

    return CNNAttributor(**params)


@hookimpl
def ganprint_detectors() -> Iterable[DetectorSpec]:
    for name, (params, summary) in VARIANTS.items():
        yield DetectorSpec(name, partial(make_cnn, **params), summary)


@hookimpl
def ganprint_commands() -> Iterable[CommandSpec]:
    yield command_from_module("cnn", "Yu et al. 2019 analyses of the cnn detector (Tables 4-6, FD ratios, t-SNE)",
                              "ganprint.plugins.cnn.commands")
