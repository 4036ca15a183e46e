"""The gradient penalty of WGAN-GP (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
§4, eq. 3): (‖∇ₓ̂ D(x̂)‖₂ − 1)² averaged over points x̂ drawn uniformly on the segments between
real and generated samples.

Shared by the zoo's critics (:mod:`ganprint.datasets.gan_families`, where the penalised value can
be a critic other than D itself) and visNet's reconstruction critic. This module imports torch.
"""
from __future__ import annotations

from typing import Callable

import torch


def interpolate(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """x̂ = α·real + (1 − α)·fake with one α ~ U(0, 1) per sample, as a leaf that requires grad
    (``fake`` is detached: the penalty trains the critic only)."""
    alpha = torch.rand(len(real), 1, 1, 1, generator=generator).to(real.device)
    return (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)


def gradient_penalty(value: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """(‖∇ value(point)‖ − 1)², the gradient taken per sample and flattened, averaged over the batch;
    differentiable (``create_graph``) so the critic can be trained through it."""
    grad, = torch.autograd.grad(value.sum(), point, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def wgan_gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                          fake: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """The penalty of ``critic`` on random interpolations of ``real`` and ``fake``."""
    point = interpolate(real, fake, generator)
    return gradient_penalty(critic(point), point)
