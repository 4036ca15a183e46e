"""The BFR-VAE network and loss of Ding, Thakur and Li, "Does a GAN leave distinct model-specific
fingerprints?" (§3, Fig. 1, eqs. 1-4), for 32×32 images.

The encoder E gives, per latent dimension, the hyper-parameters of a Normal-Gamma distribution:
Ga(α_t, β_t) over σ′ and N(μ_t, n_t) over μ′ (eq. 1 conditions μ′ on σ′, which with the paper's
"conjugate distributions" is the Normal-Gamma: σ′ is the precision of the latent Gaussian). σ′ and
μ′ are drawn by reparameterisation (``Gamma.rsample``, ``Normal.rsample``), the decoder input
e_latent is drawn from N(μ′, 1/σ′) and the decoder D reconstructs the image. The loss is
λ1·(MSE + KL) + λ2·triplet (eqs. 3 and 4); the KL is the closed form from q = NG(μ_t, n_t, α_t, β_t)
to a fixed standard Normal-Gamma hyper-prior, and the triplet loss of eq. 4 gets a hinge with a
margin so it is bounded below and is taken on the expected fingerprint (E[μ′], E[σ′]).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.distributions import Gamma, Normal
from torch.nn import functional as F

# The fixed hyper-prior NG(μ0=0, κ0=1, a0=1, b0=1): E[σ′] = 1, so e_latent is standard normal on average.
PRIOR_KAPPA, PRIOR_SHAPE, PRIOR_RATE = 1.0, 1.0, 1.0
MIN_POSITIVE = 1e-3


@dataclass
class Posterior:
    """The encoder's Normal-Gamma hyper-parameters for a batch, each (N, latent_dim)."""

    mu_t: torch.Tensor
    n_t: torch.Tensor
    alpha: torch.Tensor
    beta: torch.Tensor

    def sample(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(μ′, σ′, e_latent) drawn by reparameterisation, eq. (1)."""
        sigma = Gamma(self.alpha, self.beta).rsample().clamp_min(MIN_POSITIVE)
        mu = Normal(self.mu_t, (self.n_t * sigma).rsqrt()).rsample()
        latent = Normal(mu, sigma.rsqrt()).rsample()
        return mu, sigma, latent

    def mean(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The expected fingerprint (E[μ′], E[σ′]) = (μ_t, α_t/β_t)."""
        return self.mu_t, self.alpha / self.beta

    def kl_to_prior(self) -> torch.Tensor:
        """KL(NG(μ_t, n_t, α_t, β_t) ‖ NG(0, κ0, a0, b0)) per image, summed over latent dimensions."""
        a, b = self.alpha, self.beta
        kl_gamma = ((a - PRIOR_SHAPE) * torch.digamma(a) - torch.lgamma(a)
                    + torch.lgamma(torch.tensor(PRIOR_SHAPE)) + PRIOR_SHAPE * (torch.log(b) - torch.log(torch.tensor(PRIOR_RATE)))
                    + a * (PRIOR_RATE - b) / b)
        # E over σ′ ~ Ga(α, β) of KL(N(μ_t, 1/(n_t σ′)) ‖ N(0, 1/(κ0 σ′))); E[σ′] = α/β.
        kl_normal = 0.5 * (PRIOR_KAPPA / self.n_t + PRIOR_KAPPA * (a / b) * self.mu_t ** 2
                           - 1.0 + torch.log(self.n_t / PRIOR_KAPPA))
        return (kl_gamma + kl_normal).sum(dim=1)


def _down(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))


def _up(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU())


class BFRVAE(nn.Module):
    """Encoder → Normal-Gamma hyper-parameters → (μ′, σ′) → e_latent → decoder (Fig. 1(a)).

    Fig. 1(b)'s stack of stride-2 convolutions from 128×128 is cut to log2(size) − 2 of them
    (32→16→8→4 for 32×32 inputs, ``width``·(1, 2, 4) channels); the hyper-parameter heads and the
    decoder input are 1×1 convolutions on a ``latent_dim``×1×1 map, as the paper's "256×1×1"
    fingerprint tensors.
    """

    def __init__(self, latent_dim: int = 128, width: int = 16, image_size: int = 32) -> None:
        super().__init__()
        n_down = int(np.log2(image_size)) - 2
        if image_size < 8 or 2 ** (n_down + 2) != image_size:
            raise ValueError(f"BFR-VAE needs square images of a power-of-two side >= 8; got {image_size}")
        self.latent_dim = latent_dim
        channels = [width * 2 ** i for i in range(n_down)]
        top = channels[-1]
        self.encoder = nn.Sequential(*[_down(c_in, c_out) for c_in, c_out in zip([3] + channels, channels)],
                                     nn.Conv2d(top, top, 4), nn.LeakyReLU(0.2))
        self.heads = nn.Conv2d(top, 4 * latent_dim, 1)
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, top, 4), nn.BatchNorm2d(top), nn.ReLU(),
            *[_up(c_in, c_out) for c_in, c_out in zip(channels[::-1], channels[::-1][1:])],
            nn.ConvTranspose2d(channels[0], 3, 4, 2, 1), nn.Tanh())

    def encode(self, x: torch.Tensor) -> Posterior:
        """The Normal-Gamma hyper-parameters of ``x``, float32 even under bfloat16 autocast (the
        sampling and the KL term stay in float32; torch has no bfloat16 Gamma sampler on the CPU)."""
        h = self.heads(self.encoder(x)).flatten(1).float()
        mu_t, n_raw, a_raw, b_raw = h.chunk(4, dim=1)
        positive = lambda t: F.softplus(t) + MIN_POSITIVE  # noqa: E731
        return Posterior(mu_t, positive(n_raw), positive(a_raw), positive(b_raw))

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.decoder(latent[:, :, None, None])

    def forward(self, x: torch.Tensor) -> tuple[Posterior, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(posterior, μ′, σ′, reconstruction)."""
        posterior = self.encode(x)
        mu, sigma, latent = posterior.sample()
        return posterior, mu, sigma, self.decode(latent)


def triplet_loss(fingerprints: list[torch.Tensor], labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. (4) with a hinge: mean over every valid (anchor, positive, negative) triplet of the batch of
    Σ_p max(0, ‖p1 − p2‖² − ‖p1 − p3‖² + margin), p ranging over the fingerprint parts (μ′, σ′).

    Computed without the n³ hinge values, so that a whole validation part (n in the thousands) is
    scored in n² memory: for anchor a and positive q, the negatives r with d(a, r) < d(a, q) + margin
    are a prefix of a's sorted negative distances, and their hinges sum to
    k·(d(a, q) + margin) − (sum of those k distances). The sums are in float64 (they subtract
    numbers n times larger than a hinge); a hinge at exactly zero contributes nothing, value or
    gradient, as max(0, ·) does."""
    n = len(labels)
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(n, dtype=torch.bool, device=labels.device)
    negative = ~same
    n_valid = (positive.sum(dim=1) * negative.sum(dim=1)).sum()
    if not n_valid:
        return fingerprints[0].new_zeros(())
    total = fingerprints[0].new_zeros(())
    for p in fingerprints:
        d = torch.cdist(p.double(), p.double()).pow(2)
        negatives = torch.where(negative, d, torch.inf).sort(dim=1).values
        prefix = F.pad(negatives.nan_to_num(posinf=0.0).cumsum(dim=1), (1, 0))
        thresholds = d + margin
        active = torch.searchsorted(negatives, thresholds)  # per (a, q): negatives below the threshold
        hinge_sums = active * thresholds - prefix.gather(1, active)
        total = total + (hinge_sums[positive].sum() / n_valid).to(p.dtype)
    return total


def bfrvae_loss(model: BFRVAE, x: torch.Tensor, labels: torch.Tensor, *, lambda1: float,
                lambda2: float, margin: float) -> dict[str, torch.Tensor]:
    """The terms of L = λ1·(MSE + KL) + λ2·L_t for one batch (per image, summed over pixels/dimensions).

    The triplet term is on the expected fingerprint (E[μ′], E[σ′]), not on one draw of it: with draws
    the term is dominated by the Gamma sampling noise (see the attributor's list of deviations).
    """
    posterior, _, _, reconstruction = model(x)
    mse = (reconstruction - x).pow(2).flatten(1).sum(dim=1).mean()
    kl = posterior.kl_to_prior().mean()
    triplet = triplet_loss(list(posterior.mean()), labels, margin)
    loss = lambda1 * (mse + kl) + lambda2 * triplet
    return {"loss": loss, "mse": mse.detach(), "kl": kl.detach(), "triplet": triplet.detach()}
