"""Image attacks of Yu et al. 2019 §4.4, registered through the ``ganprint_attacks`` hook.

``noise``, ``blur``, ``crop``, ``jpeg``, ``relight`` (a smooth illumination field standing in
for the paper's SfSNet relighting) and ``combo`` (each of the five with probability 0.5). Each
spec's factory takes keyword arguments overriding the attack's defaults, e.g.
``registry.attacks["jpeg"].factory(quality=30)`` for a fixed-strength attack in a sweep
(Yu et al. 2021 §4.6); the class attribute ``strength_param`` names that parameter.
"""
from __future__ import annotations

from typing import Iterable

from ganprint import AttackSpec, hookimpl
from ganprint.specs import lazy_factory

PACKAGE = "ganprint.plugins.attacks"


@hookimpl
def ganprint_attacks() -> Iterable[AttackSpec]:
    yield AttackSpec("noise", lazy_factory(f"{PACKAGE}.noise:GaussianNoise"),
                     "Gaussian noise, variance ~ U[5, 20] (fixed: std=)")
    yield AttackSpec("blur", lazy_factory(f"{PACKAGE}.blur:GaussianBlur"),
                     "Gaussian blur, kernel size in {1,3,5,7,9} (fixed: kernel_size=)")
    yield AttackSpec("crop", lazy_factory(f"{PACKAGE}.crop:Crop"),
                     "Random crop of 5-20% resized back (fixed: centre crop size=)")
    yield AttackSpec("jpeg", lazy_factory(f"{PACKAGE}.jpeg:JPEGCompression"),
                     "JPEG encode/decode, quality ~ U[10, 75] (fixed: quality=)")
    yield AttackSpec("relight", lazy_factory(f"{PACKAGE}.relight:Relight"),
                     "Smooth random illumination field, SfSNet stand-in (fixed: strength=)")
    yield AttackSpec("combo", lazy_factory(f"{PACKAGE}.combo:Combination"),
                     "Relight, crop, blur, jpeg, noise each with p=0.5 (fixed: probability=)")
