"""Model perturbations of Yu et al. 2021, §4.6 (Fig. 3 f–g): attacks acting on a generator.

- ``weight_quantize``: every weight rounded to a decimal precision (1e-1 keeps one decimal);
- ``weight_noise``: i.i.d. Gaussian noise of a given standard deviation added to every weight.

Unlike image attacks, these take a ``torch.nn.Module`` (a generator) and return a perturbed copy;
the original is never changed. Given a numpy image batch they refuse with a clear error, so
``bench run --attacks`` cannot mistake them for image attacks.
"""
from __future__ import annotations

import copy
from typing import ClassVar

import numpy as np

from ganprint import Attack


class ModelPerturbation(Attack):
    """Base: ``attack(generator, rng)`` → a perturbed deep copy of the generator."""

    strength_param: ClassVar[str]

    def __call__(self, model, rng: np.random.Generator):  # type: ignore[override]
        import torch

        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"{type(self).__name__} perturbs a generator (torch.nn.Module), not "
                            f"{type(model).__name__}: use it on a model, not on images")
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
        perturbed = copy.deepcopy(model)
        generator = torch.Generator().manual_seed(int(rng.integers(0, 2**63 - 1)))
        with torch.no_grad():
            for parameter in perturbed.parameters():
                parameter.copy_(self._perturb(parameter, generator))
        return perturbed

    def _perturb(self, weight, generator):  # pragma: no cover - abstract in spirit
        raise NotImplementedError


class WeightQuantization(ModelPerturbation):
    """Round every weight to the nearest multiple of ``precision`` (a decimal precision, 0 < p ≤ 1)."""

    strength_param = "precision"

    def __init__(self, precision: float = 0.1) -> None:
        if isinstance(precision, bool) or not isinstance(precision, (int, float)) or not 0 < precision <= 1:
            raise ValueError(f"precision must be a number in (0, 1]; got {precision!r}")
        self.precision = precision

    def _perturb(self, weight, generator):
        import torch

        return torch.round(weight / self.precision) * self.precision


class WeightNoise(ModelPerturbation):
    """Add Gaussian noise of standard deviation ``std`` (0 ≤ std ≤ 10) to every weight."""

    strength_param = "std"

    def __init__(self, std: float = 0.1) -> None:
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not 0 <= std <= 10:
            raise ValueError(f"std must be a number in [0, 10]; got {std!r}")
        self.std = std

    def _perturb(self, weight, generator):
        import torch

        return weight + self.std * torch.randn(weight.shape, generator=generator, dtype=weight.dtype)
