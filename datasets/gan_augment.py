"""Differentiable augmentation of what a zoo discriminator sees (Zhao et al., "Differentiable
Augmentation for Data-Efficient GAN Training", NeurIPS 2020, §3 and its policies).

With a few thousand training crops a discriminator learns them by heart and the generator's finest
detail turns to grain (``datasets/README.md``). DiffAugment transforms real and generated images
alike, with fresh random parameters per image, before every discriminator call of both the
discriminator's and the generator's loss; the transforms are differentiable, so the generator's
gradient passes through them. Policies, in the paper's strengths for images in [-1, 1]:

- ``translation``: shift by up to 1/8 of the side in each direction, zero padding;
- ``cutout``: zero one square of half the side at a random position (it may be clipped at the border);
- ``color``: brightness ± 0.5, saturation × [0, 2], contrast × [0.5, 1.5].

Randomness comes from torch's global generator, which the zoo's training seeds and checkpoints.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganprint.commands import names

POLICIES = ("color", "translation", "cutout")


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"translation,cutout"`` → its transforms in the order they are applied (colour first, as
    the paper); ``""`` → none. Unknown names raise ``ValueError``."""
    chosen = set(names(policy))
    unknown = chosen - set(POLICIES)
    if unknown:
        raise ValueError(f"unknown augmentation(s) {', '.join(sorted(unknown))}; known: {', '.join(POLICIES)}")
    return tuple(p for p in POLICIES if p in chosen)


def _color(x: torch.Tensor) -> torch.Tensor:
    n = len(x)
    x = x + (torch.rand(n, 1, 1, 1) - 0.5)
    mean = x.mean(1, keepdim=True)
    x = (x - mean) * (2 * torch.rand(n, 1, 1, 1)) + mean
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1) + 0.5) + mean


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    ry, rx = int(h * ratio), int(w * ratio)
    dy = torch.randint(-ry, ry + 1, (n, 1, 1))
    dx = torch.randint(-rx, rx + 1, (n, 1, 1))
    padded = F.pad(x, (rx, rx, ry, ry)).permute(0, 2, 3, 1)
    rows = torch.arange(h).view(1, h, 1) + ry - dy
    cols = torch.arange(w).view(1, 1, w) + rx - dx
    return padded[torch.arange(n).view(n, 1, 1), rows, cols].permute(0, 3, 1, 2)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    sy, sx = int(h * ratio), int(w * ratio)
    top = torch.randint(0, h + 1 - sy % 2, (n, 1, 1)) - sy // 2
    left = torch.randint(0, w + 1 - sx % 2, (n, 1, 1)) - sx // 2
    rows = torch.arange(h).view(1, h, 1) - top
    cols = torch.arange(w).view(1, 1, w) - left
    inside = (rows >= 0) & (rows < sy) & (cols >= 0) & (cols < sx)
    return x * (~inside).unsqueeze(1).to(x.dtype)


TRANSFORMS = {"color": _color, "translation": _translation, "cutout": _cutout}


def augment(x: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    """``x`` (N, C, H, W) with each transform of ``policy`` applied, fresh parameters per image."""
    for name in policy:
        x = TRANSFORMS[name](x)
    return x


class AugmentedDiscriminator(nn.Module):
    """A discriminator that sees its input through :func:`augment`; the families' losses use it
    unchanged (a gradient penalty is then taken through the augmentation)."""

    def __init__(self, discriminator: nn.Module, policy: tuple[str, ...]) -> None:
        super().__init__()
        self.discriminator = discriminator
        self.policy = policy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(augment(x, self.policy))
