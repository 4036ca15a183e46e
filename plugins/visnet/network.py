"""The networks of the fingerprint visualisation model, visNet (Yu et al. 2019, §3.3, Fig. 3).

- :class:`Reconstructor` R, an encoder–decoder (AutoEncoder) without skip connections: its
  bottleneck keeps it from copying the image, so the residual R(I) − I, the *image fingerprint*,
  holds what it cannot or is taught not to reconstruct;
- :class:`FingerprintModel`: R plus one freely trainable *model fingerprint* per source, of the
  image's size; the logit of source y is the correlation index of the image fingerprint and the
  model fingerprint of y, divided by a temperature;
- :class:`ReconstructionCritic` D_rec, the discriminator of the adversarial reconstruction loss,
  trained with gradient penalty (WGAN-GP, Gulrajani et al. 2017; :mod:`ganprint.gradient_penalty`).

Images are float tensors (N, 3, H, W) in [−1, 1] (``ganprint.training.to_tensor``).
"""
from __future__ import annotations

import torch
from torch import nn


def correlation(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """The correlation index of §3.3 between every row of ``a`` (N, ...) and of ``b`` (K, ...).

    Each image is vectorised, made zero-mean and unit-norm; the result (N, K) is the inner product
    of those vectors, so it lies in [−1, 1] and ignores the residual's scale.
    """
    def normalised(x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(1)
        flat = flat - flat.mean(dim=1, keepdim=True)
        return flat / flat.norm(dim=1, keepdim=True).clamp_min(eps)

    return normalised(a) @ normalised(b).T


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    kernel = 4 if stride == 2 else 3
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, padding=1), nn.LeakyReLU(0.2))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv(c_in, c_out))


class Reconstructor(nn.Module):
    """R: ``depth`` stride-2 convolutions down, as many nearest upsamplings back, no skips."""

    def __init__(self, width: int = 32, depth: int = 2) -> None:
        super().__init__()
        widths = [width * 2 ** i for i in range(depth + 1)]
        down = [_conv(3, widths[0])] + [_conv(widths[i], widths[i + 1], stride=2) for i in range(depth)]
        up = [_up(widths[i + 1], widths[i]) for i in reversed(range(depth))]
        self.encoder = nn.Sequential(*down)
        self.decoder = nn.Sequential(*up, nn.Conv2d(widths[0], 3, 3, padding=1), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


class FingerprintModel(nn.Module):
    """R and the model fingerprints: ``forward`` gives (reconstruction, image fingerprint, logits)."""

    def __init__(self, n_sources: int, image_size: tuple[int, int], temperature: float,
                 width: int = 32, depth: int = 2) -> None:
        super().__init__()
        self.reconstructor = Reconstructor(width, depth)
        self.model_fingerprints = nn.Parameter(0.01 * torch.randn(n_sources, 3, *image_size))
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        reconstruction = self.reconstructor(x)
        image_fingerprint = reconstruction - x
        logits = correlation(image_fingerprint, self.model_fingerprints) / self.temperature
        return reconstruction, image_fingerprint, logits


class ReconstructionCritic(nn.Module):
    """D_rec: stride-2 convolutions to 4×4 or smaller, then one linear score (no normalisation,
    as the gradient penalty asks)."""

    def __init__(self, image_size: tuple[int, int], width: int = 32) -> None:
        super().__init__()
        layers, channels, size = [], 3, min(image_size)
        while size > 4:
            layers.append(_conv(channels, width, stride=2))
            channels, width, size = width, min(width * 2, 256), size // 2
        self.features = nn.Sequential(*layers)
        shrink = 2 ** len(layers)
        self.score = nn.Linear(channels * (image_size[0] // shrink) * (image_size[1] // shrink), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(x).flatten(1)).squeeze(1)

