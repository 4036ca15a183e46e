"""Artificial GAN fingerprints (Yu et al. 2021, "Artificial GAN Fingerprints: Rooting Deepfake
Attribution in Training Data"), end to end.

- ``model``, ``train``, ``weights``: the steganography encoder/decoder (§3, App. A.1), trained
  with the λ schedule and a secrecy term, shipped as safetensors;
- ``database``: one fingerprint per GAN publisher (§3, §4.4–4.5);
- ``attributor``: the ``stega`` plugin, decoding bits and attributing them to registered
  fingerprints;
- ``pipeline``: fingerprinted copies of the training data, zoo GANs trained on them, the
  ``zoo:stega`` dataset (§3);
- ``perturb``: model perturbations ``weight_quantize`` and ``weight_noise`` (§4.6);
- ``secrecy``: ``fingerprint_removal`` and ``fingerprint_forgery`` (averaging attacks);
- ``ats``: the paper's own secrecy test (App. A.2), the ATS steganalysis attack;
- ``evaluation``: Tables 1–2, the robustness sweeps of Fig. 3 and the secrecy results;
- ``commands``: ``bench stega`` (build, eval, ats, recipe) and ``bench stega-ship``.
"""
from __future__ import annotations

from typing import Any, Iterable

from ganprint import AttackSpec, CommandSpec, DatasetSpec, DetectorSpec, hookimpl
from ganprint.commands import command_from_module


def _attributor(**params: Any):
    from ganprint.plugins.stega.attributor import StegaAttributor

    return StegaAttributor(**params)


def _quantize(**params: Any):
    from ganprint.plugins.stega.perturb import WeightQuantization

    return WeightQuantization(**params)


def _weight_noise(**params: Any):
    from ganprint.plugins.stega.perturb import WeightNoise

    return WeightNoise(**params)


def _removal(**params: Any):
    from ganprint.plugins.stega.secrecy import FingerprintRemoval

    return FingerprintRemoval(**params)


def _forgery(**params: Any):
    from ganprint.plugins.stega.secrecy import FingerprintForgery

    return FingerprintForgery(**params)


def _dataset(preset: str = "default"):
    from ganprint.plugins.stega.pipeline import stega_dataset

    return stega_dataset(preset or "default")


@hookimpl
def ganprint_detectors() -> Iterable[DetectorSpec]:
    yield DetectorSpec("stega", _attributor, "Decode artificial fingerprints, attribute to registered ones (Yu 2021)")


@hookimpl
def ganprint_attacks() -> Iterable[AttackSpec]:
    yield AttackSpec("weight_quantize", _quantize, "Generator weights rounded to a decimal precision (model attack, Yu 2021 §4.6)")
    yield AttackSpec("weight_noise", _weight_noise, "Gaussian noise on generator weights (model attack, Yu 2021 §4.6)")
    yield AttackSpec("fingerprint_removal", _removal, "Subtract the mean noise residual of the images (secrecy attack, Yu 2021)")
    yield AttackSpec("fingerprint_forgery", _forgery, "Add a publisher's estimated fingerprint to images (secrecy attack, Yu 2021)")


@hookimpl
def ganprint_datasets() -> Iterable[DatasetSpec]:
    yield DatasetSpec("zoo.stega", _dataset, "Zoo GANs trained on fingerprinted crops, with their bits (Yu 2021 §3)")


def _add_ship_arguments(parser: Any) -> None:
    from ganprint.plugins.stega.commands import add_ship_arguments

    add_ship_arguments(parser)


def _ship(args: Any) -> int:
    from ganprint.plugins.stega.commands import run_ship

    return run_ship(args)


@hookimpl
def ganprint_commands() -> Iterable[CommandSpec]:
    yield command_from_module("stega", "artificial GAN fingerprints (Yu et al. 2021): build, evaluate, recipe trials",
                              "ganprint.plugins.stega.commands")
    yield CommandSpec("stega-ship", "copy the trained fingerprinted generators into the package",
                      _add_ship_arguments, _ship, group="maintenance")
