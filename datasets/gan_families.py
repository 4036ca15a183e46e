"""The five GAN families of the zoo, each reduced to its paper's defining choices (Yu et al. 2019,
§4.1 trains ProGAN, SNGAN, CramerGAN and MMDGAN; DCGAN is added for transposed convolutions).

============  ==========================================================================  ===============
family        what makes it that family                                                    paper
============  ==========================================================================  ===============
``progan``    generator of nearest-neighbour upsampling + 3×3 convolutions, pixel norm,    Karras et al.
              equalised learning rate (weights N(0,1) scaled at run time by He's            2018, §3–4
              constant), minibatch-stddev layer in the discriminator, WGAN-GP loss with
              drift term, Adam(0, 0.99), exponential moving average of the generator.
              Not done, for the CPU budget: progressive growing (every run trains at its
              final resolution) and the second 3×3 convolution of each resolution.
``sngan``     spectral normalisation of every discriminator layer, hinge loss, the          Miyato et al.
              "standard CNN" of the paper (generator of 4×4 stride-2 transposed             2018, §4, tab. 3
              convolutions + batch norm), Adam setting C (2e-4, 0.5, 0.999, n_dis = 1)
``cramergan`` critic h: x → R^256 and the Cramér (energy-distance) generator loss            Bellemare et al.
              ‖h(x_r)−h(x_g)‖ + ‖h(x_r)−h(x_g')‖ − ‖h(x_g)−h(x_g')‖, critic               2017, alg. 1
              f(x) = ‖h(x)−h(x_g')‖ − ‖h(x)‖ trained on the surrogate with a gradient
              penalty (λ = 10); DCGAN generator
``mmdgan``    squared MMD on critic features, generator minimises and critic maximises      Li et al. 2017
              it, with Bińkowski et al.'s choices: their rq* kernel (rational-quadratic     (+ Bińkowski et
              mixture, α ∈ {0.2, 0.5, 1, 2, 5}, plus 0.1 × a linear kernel) and a gradient  al. 2018, §4–5)
              penalty on the MMD witness in place of weight clipping and the autoencoder;
              DCGAN generator. Without the linear part (Li et al.'s Gaussian mixture, or
              the RQ mixture alone) the critic's features drifted apart until every
              kernel was flat and the generator kept a lattice (datasets/README.md).
``dcgan``     all-convolutional generator of transposed convolutions + batch norm + ReLU,  Radford et al.
              discriminator of strided convolutions + LeakyReLU(0.2), non-saturating        2016, §3
              cross-entropy loss, Adam(2e-4, 0.5)
============  ==========================================================================  ===============

Every network works at 16, 32 or 64 pixels (a power of two ≥ 8): the generator starts at 4×4 and
doubles ``log2(size / 4)`` times. ``width`` sets the channel count (the finest layers have
``width`` channels, each coarser one twice as many, capped at ``8 × width``).

A family is a :class:`Family`: it builds the generator and discriminator, their optimisers, and
gives one training ``step`` (one discriminator update then one generator update, on a real
minibatch and latent vectors drawn from torch's global generator, which the training loop seeds
and checkpoints).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ganprint.gradient_penalty import gradient_penalty, interpolate

Z_DIM = 128


def _channels(size: int, width: int) -> list[int]:
    """Channels from 4×4 to ``size``×``size``: width·2^k at each resolution, capped at 8·width."""
    n_up = int(math.log2(size // 4))
    if 4 * 2 ** n_up != size or n_up < 1:
        raise ValueError(f"image size must be a power of two ≥ 8; got {size}")
    return [min(8, 2 ** (n_up - i)) * width for i in range(n_up + 1)]


# --------------------------------------------------------------------------- ProGAN building blocks
class EqualizedConv(nn.Conv2d):
    """Convolution whose weights are N(0, 1) and scaled at run time by sqrt(2 / fan_in)."""

    def __init__(self, cin: int, cout: int, kernel: int, padding: int = 0) -> None:
        super().__init__(cin, cout, kernel, padding=padding)
        nn.init.normal_(self.weight)
        nn.init.zeros_(self.bias)
        self.scale = math.sqrt(2.0 / (cin * kernel * kernel))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


class EqualizedLinear(nn.Linear):
    def __init__(self, cin: int, cout: int, gain: float = math.sqrt(2.0)) -> None:
        super().__init__(cin, cout)
        nn.init.normal_(self.weight)
        nn.init.zeros_(self.bias)
        self.scale = gain / math.sqrt(cin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


def pixel_norm(x: torch.Tensor) -> torch.Tensor:
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """Append the mean over features of the per-group standard deviation as one more channel."""
    n, c, h, w = x.shape
    g = min(group, n)
    if n % g:
        g = 1
    y = x.reshape(g, -1, c, h, w)
    y = (y - y.mean(dim=0)).pow(2).mean(dim=0).add(1e-8).sqrt().mean(dim=(1, 2, 3))
    y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], dim=1)


class ProGenerator(nn.Module):
    def __init__(self, size: int, width: int) -> None:
        super().__init__()
        ch = _channels(size, width)
        self.first = EqualizedLinear(Z_DIM, ch[0] * 16, gain=math.sqrt(2.0) / 4)
        self.first_conv = EqualizedConv(ch[0], ch[0], 3, padding=1)
        self.blocks = nn.ModuleList(EqualizedConv(a, b, 3, padding=1) for a, b in zip(ch[:-1], ch[1:]))
        self.to_rgb = EqualizedConv(ch[-1], 3, 1)
        self.to_rgb.scale = 1.0 / math.sqrt(ch[-1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.first(pixel_norm(z)).reshape(len(z), -1, 4, 4)
        x = pixel_norm(F.leaky_relu(x, 0.2))
        x = pixel_norm(F.leaky_relu(self.first_conv(x), 0.2))
        for conv in self.blocks:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = pixel_norm(F.leaky_relu(conv(x), 0.2))
        return self.to_rgb(x)


class ProDiscriminator(nn.Module):
    def __init__(self, size: int, width: int) -> None:
        super().__init__()
        ch = _channels(size, width)[::-1]
        self.from_rgb = EqualizedConv(3, ch[0], 1)
        self.blocks = nn.ModuleList(EqualizedConv(a, b, 3, padding=1) for a, b in zip(ch[:-1], ch[1:]))
        self.last_conv = EqualizedConv(ch[-1] + 1, ch[-1], 3, padding=1)
        self.last_dense = EqualizedConv(ch[-1], ch[-1], 4)
        self.out = EqualizedLinear(ch[-1], 1, gain=1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.from_rgb(x), 0.2)
        for conv in self.blocks:
            x = F.avg_pool2d(F.leaky_relu(conv(x), 0.2), 2)
        x = F.leaky_relu(self.last_conv(minibatch_stddev(x)), 0.2)
        x = F.leaky_relu(self.last_dense(x), 0.2).flatten(1)
        return self.out(x).squeeze(1)


# --------------------------------------------------------------------- DCGAN-style building blocks
class DeconvGenerator(nn.Module):
    """z → 4×4 (transposed conv from 1×1) → stride-2 4×4 transposed convs with BN + ReLU → tanh.

    ``final_conv`` ends with a 3×3 convolution at full resolution (SNGAN's standard CNN) instead
    of a transposed convolution straight to RGB (DCGAN).
    """

    def __init__(self, size: int, width: int, final_conv: bool = False) -> None:
        super().__init__()
        ch = _channels(size, width)
        layers: list[nn.Module] = [nn.ConvTranspose2d(Z_DIM, ch[0], 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(ch[0]), nn.ReLU(True)]
        outs = ch[1:] if final_conv else ch[1:-1]
        for a, b in zip(ch, outs):
            layers += [nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False), nn.BatchNorm2d(b), nn.ReLU(True)]
        if final_conv:
            layers.append(nn.Conv2d(ch[-1], 3, 3, 1, 1))
        else:
            layers.append(nn.ConvTranspose2d(ch[-2], 3, 4, 2, 1))
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.reshape(len(z), -1, 1, 1))


class ConvCritic(nn.Module):
    """Strided 4×4 convolutions + LeakyReLU(0.2) down to 4×4, then a linear map to ``out`` values.

    ``batch_norm`` follows DCGAN (not on the first layer); critics trained with a gradient penalty
    use none, as the penalty is per sample.
    """

    def __init__(self, size: int, width: int, out: int = 1, batch_norm: bool = False) -> None:
        super().__init__()
        ch = _channels(size, width)[::-1]
        layers: list[nn.Module] = [nn.Conv2d(3, ch[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for a, b in zip(ch[:-2], ch[1:-1]):
            layers.append(nn.Conv2d(a, b, 4, 2, 1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(b))
            layers.append(nn.LeakyReLU(0.2, True))
        self.features = nn.Sequential(*layers)
        self.final = nn.Linear(ch[-2] * 16, out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.final(self.features(x).flatten(1))
        return y.squeeze(1) if y.shape[1] == 1 else y


class SNCritic(nn.Module):
    """SNGAN's standard CNN discriminator: pairs of 3×3 and 4×4-stride-2 convolutions,
    LeakyReLU(0.1), every layer spectrally normalised."""

    def __init__(self, size: int, width: int) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        ch = _channels(size, width)[::-1]
        layers: list[nn.Module] = [sn(nn.Conv2d(3, ch[0], 3, 1, 1)), nn.LeakyReLU(0.1)]
        for a, b in zip(ch[:-1], ch[1:]):
            layers += [sn(nn.Conv2d(a, a, 4, 2, 1)), nn.LeakyReLU(0.1),
                       sn(nn.Conv2d(a, b, 3, 1, 1)), nn.LeakyReLU(0.1)]
        self.features = nn.Sequential(*layers)
        self.final = sn(nn.Linear(ch[-1] * 16, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final(self.features(x).flatten(1)).squeeze(1)


# ------------------------------------------------------------------------------------------ losses
def _sq_dist(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pairwise squared Euclidean distances (twice differentiable, unlike ``torch.cdist``)."""
    return (x.pow(2).sum(1, keepdim=True) + y.pow(2).sum(1) - 2 * x @ y.T).clamp_min(0)


RQ_ALPHAS = (0.2, 0.5, 1.0, 2.0, 5.0)
LINEAR_WEIGHT = 0.1


def _kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bińkowski et al.'s rq* kernel between feature sets: a mixture of rational-quadratic kernels
    (1 + d²/2α)^-α plus a weighted linear kernel x·y. The linear part keeps the witness's gradient
    alive when the critic's features drift so far apart that every RQ kernel is flat."""
    d2 = _sq_dist(x, y)
    return sum((1 + d2 / (2 * a)).pow(-a) for a in RQ_ALPHAS) + LINEAR_WEIGHT * (x @ y.T)


def _mmd2(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Unbiased squared MMD between feature sets with the rq* kernel."""
    xy = torch.cat([x, y])
    k = _kernel(xy, xy)
    n, m = len(x), len(y)
    kxx, kyy, kxy = k[:n, :n], k[n:, n:], k[:n, n:]
    return ((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
            + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean())


@dataclass(frozen=True)
class Family:
    """A GAN family: networks, optimiser settings, and its discriminator / generator losses.

    ``d_loss(D, real, fake, fake2)`` and ``g_loss(D, real, fake, fake2)`` get two independent
    fake batches (only the Cramér GAN uses the second).
    """

    name: str
    generator: Callable[[int, int], nn.Module]
    discriminator: Callable[[int, int], nn.Module]
    d_loss: Callable[..., torch.Tensor]
    g_loss: Callable[..., torch.Tensor]
    lr: tuple[float, float]
    betas: tuple[float, float]
    ema: float = 0.0
    second_fake: bool = False
    summary: str = ""


def _progan_d(D, real, fake, fake2):
    d_real, d_fake = D(real), D(fake.detach())
    point = interpolate(real, fake)
    return d_fake.mean() - d_real.mean() + 10 * gradient_penalty(D(point), point) + 1e-3 * d_real.pow(2).mean()


def _wgan_g(D, real, fake, fake2):
    return -D(fake).mean()


def _hinge_d(D, real, fake, fake2):
    return F.relu(1 - D(real)).mean() + F.relu(1 + D(fake.detach())).mean()


def _bce_d(D, real, fake, fake2):
    d_real, d_fake = D(real), D(fake.detach())
    return (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
            + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))


def _bce_g(D, real, fake, fake2):
    d_fake = D(fake)
    return F.binary_cross_entropy_with_logits(d_fake, torch.ones_like(d_fake))


def _cramer_critic(h: Callable, x: torch.Tensor, h_fake2: torch.Tensor) -> torch.Tensor:
    hx = h(x)
    return (hx - h_fake2).norm(dim=1) - hx.norm(dim=1)


def _cramer_d(D, real, fake, fake2):
    fake, fake2 = fake.detach(), fake2.detach()
    h_fake2 = D(fake2)
    surrogate = (_cramer_critic(D, real, h_fake2) - _cramer_critic(D, fake, h_fake2)).mean()
    point = interpolate(real, fake)
    return -surrogate + 10 * gradient_penalty(_cramer_critic(D, point, h_fake2), point)


def _cramer_g(D, real, fake, fake2):
    h_real, h_fake, h_fake2 = D(real), D(fake), D(fake2)
    return ((h_real - h_fake).norm(dim=1) + (h_real - h_fake2).norm(dim=1)
            - (h_fake - h_fake2).norm(dim=1)).mean()


def _mmd_d(D, real, fake, fake2):
    f_real, f_fake = D(real), D(fake.detach())
    point = interpolate(real, fake)
    f_point = D(point)
    witness = (_kernel_mean(f_point, f_real.detach()) - _kernel_mean(f_point, f_fake.detach()))
    return -_mmd2(f_real, f_fake) + 1.0 * gradient_penalty(witness, point)


def _kernel_mean(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return _kernel(x, y).mean(dim=1)


def _mmd_g(D, real, fake, fake2):
    return _mmd2(D(real), D(fake))


FAMILIES: Mapping[str, Family] = {
    "progan": Family("progan", ProGenerator, ProDiscriminator, _progan_d, _wgan_g,
                     lr=(1e-3, 1e-3), betas=(0.0, 0.99), ema=0.999,
                     summary="ProGAN-like: nearest upsampling, pixel norm, equalised lr, minibatch stddev, WGAN-GP"),
    "sngan": Family("sngan", lambda s, w: DeconvGenerator(s, w, final_conv=True), SNCritic, _hinge_d, _wgan_g,
                    lr=(2e-4, 2e-4), betas=(0.5, 0.999),
                    summary="SNGAN-like: spectral-norm discriminator, hinge loss"),
    "cramergan": Family("cramergan", DeconvGenerator, lambda s, w: ConvCritic(s, w, out=256), _cramer_d, _cramer_g,
                        lr=(2e-4, 2e-4), betas=(0.5, 0.999), second_fake=True,
                        summary="CramerGAN-like: energy-distance critic with gradient penalty"),
    "mmdgan": Family("mmdgan", DeconvGenerator, lambda s, w: ConvCritic(s, w, out=64), _mmd_d, _mmd_g,
                     lr=(2e-4, 2e-4), betas=(0.5, 0.999),
                     summary="MMDGAN-like: MMD (rational-quadratic + linear kernel) on critic features, witness penalty"),
    "dcgan": Family("dcgan", DeconvGenerator, lambda s, w: ConvCritic(s, w, batch_norm=True), _bce_d, _bce_g,
                    lr=(2e-4, 2e-4), betas=(0.5, 0.999),
                    summary="DCGAN: transposed convolutions, batch norm, cross-entropy loss"),
}
