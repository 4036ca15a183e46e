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
from ganprint.plugins.attacks.blur import GaussianBlur
from ganprint.plugins.attacks.combo import Combination
from ganprint.plugins.attacks.crop import Crop
from ganprint.plugins.attacks.jpeg import JPEGCompression
from ganprint.plugins.attacks.noise import GaussianNoise
from ganprint.plugins.attacks.relight import Relight


@hookimpl
def ganprint_attacks() -> Iterable[AttackSpec]:
    yield AttackSpec("noise", GaussianNoise, "Gaussian noise, variance ~ U[5, 20] (fixed: std=)")
    yield AttackSpec("blur", GaussianBlur, "Gaussian blur, kernel size in {1,3,5,7,9} (fixed: kernel_size=)")
    yield AttackSpec("crop", Crop, "Random crop of 5-20% resized back (fixed: centre crop size=)")
    yield AttackSpec("jpeg", JPEGCompression, "JPEG encode/decode, quality ~ U[10, 75] (fixed: quality=)")
    yield AttackSpec("relight", Relight, "Smooth random illumination field, SfSNet stand-in (fixed: strength=)")
    yield AttackSpec("combo", Combination, "Relight, crop, blur, jpeg, noise each with p=0.5 (fixed: probability=)")
