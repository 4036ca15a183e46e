"""ganprint: tell real images from GAN-generated ones, attribute them, read artificial fingerprints.

The public names of DESIGN.md are importable from here; heavy modules (torch, the benchmark) are
not imported by this package.
"""
from ganprint.hookspecs import hookimpl
from ganprint.interfaces import (
    REAL,
    UNKNOWN,
    Attack,
    Attributor,
    Detector,
    FingerprintDecoder,
    NotFittedError,
    check_is_fitted,
    check_known_labels,
)
from ganprint.saving import create, load, save
from ganprint.specs import AttackSpec, CommandSpec, DatasetSpec, DetectorSpec

__version__ = "0.1.0"

__all__ = [
    "hookimpl",
    "Detector",
    "Attributor",
    "FingerprintDecoder",
    "Attack",
    "DetectorSpec",
    "AttackSpec",
    "DatasetSpec",
    "CommandSpec",
    "NotFittedError",
    "check_is_fitted",
    "check_known_labels",
    "REAL",
    "UNKNOWN",
    "save",
    "load",
    "create",
]
