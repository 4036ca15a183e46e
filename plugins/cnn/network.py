"""The attribution network of Yu et al. 2019 (§3.1, Fig. 2a) and its component-analysis variants
(§3.2, Fig. 2b–d), in PyTorch.

Full network: at each resolution from the input's down to 8×8, two 3×3 convolutions (reflect
padding, leaky ReLU 0.2) then a 2× average pool; at 4×4 one more 3×3 convolution, then a dense layer
to the 512-d image fingerprint (leaky ReLU) and a final fully connected layer whose weight rows are
the model fingerprints. Channels double at each halving of the resolution from ``width``, capped at
``max_channels`` (the paper's ProGAN-style classifier uses up to 512; CPU-sized here).

Variants, each a front end replacing part of the network:

- ``band="low"``, ``resolution=S`` (pre-downsampling, Fig. 2b): the image is Gaussian-downsampled to
  S×S (5×5 binomial filter, stride 2, repeated) and the convolutional stages start at S;
- ``band="high"``, ``resolution=S`` (pre-downsampling residual, Fig. 2c): the Laplacian-pyramid band
  of the S×S image, ``x_S − up(down(x_S))`` (``up`` is zero insertion and the binomial filter),
  times a fixed gain :data:`HIGH_BAND_GAIN`;
- ``patch_size=P`` (post-pooling, Fig. 2d): convolutional stages run only until their receptive
  field is P pixels, then the feature map is averaged over all positions (a "pixel" at that depth
  describes a P×P patch) before the fingerprint layer. Receptive fields are
  :data:`PATCH_SIZES` (1, 2, 3, 4 stages).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganprint.pyramid import BINOMIAL

BANDS = ("full", "low", "high")
PATCH_SIZES = (6, 16, 36, 76)
LEAK = 0.2
# The Laplacian band of a photograph spreads over about an eighth of the image's range; scaling it
# back keeps the first layer's inputs, and so its gradients, comparable to the low band's
# (what it changed: docs/results/cnn/README.md).
HIGH_BAND_GAIN = 8.0


def _binomial_kernel() -> torch.Tensor:
    """The 5×5 binomial filter of :mod:`ganprint.pyramid`, one per colour channel."""
    kernel = torch.from_numpy(np.outer(BINOMIAL, BINOMIAL)).float()
    return kernel.expand(3, 1, 5, 5).clone()


def _log2(n: int, what: str) -> int:
    if n < 1 or n & (n - 1):
        raise ValueError(f"{what} must be a power of two; got {n}")
    return int(math.log2(n))


class GaussianPyramid(nn.Module):
    """Fixed front end: the low band at ``resolution`` or its Laplacian (residual) band.

    The torch counterpart of :func:`ganprint.pyramid.laplacian_pyramid`'s REDUCE and EXPAND, part
    of the network so that it runs on the network's device and exports to ONNX."""

    def __init__(self, image_size: int, resolution: int, band: str) -> None:
        super().__init__()
        self.steps = _log2(image_size, "image size") - _log2(resolution, "resolution")
        self.band = band
        self.register_buffer("kernel", _binomial_kernel(), persistent=False)

    def down(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.kernel, stride=2, groups=3)

    def up(self, x: torch.Tensor) -> torch.Tensor:
        # Zero insertion plus the binomial filter (×4 keeps the mean); the 1-pixel replicate border
        # stands in for reflect padding, which a transposed convolution cannot do.
        padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
        y = F.conv_transpose2d(padded, self.kernel * 4.0, stride=2, padding=2, output_padding=1, groups=3)
        return y[:, :, 2:-2, 2:-2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(self.steps):
            x = self.down(x)
        if self.band == "high":
            x = HIGH_BAND_GAIN * (x - self.up(self.down(x)))
        return x


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3), nn.LeakyReLU(LEAK))


class AttributionNet(nn.Module):
    """Image → logits over sources; :meth:`fingerprint` gives the 512-d image fingerprint."""

    def __init__(
        self,
        image_size: int,
        n_classes: int,
        *,
        width: int = 32,
        max_channels: int = 256,
        fingerprint_dim: int = 512,
        band: str = "full",
        resolution: int | None = None,
        patch_size: int | None = None,
    ) -> None:
        super().__init__()
        top = _log2(image_size, "image size")
        if image_size < 8:
            raise ValueError(f"images must be at least 8×8; got {image_size}")
        if band not in BANDS:
            raise ValueError(f"band must be one of {BANDS}; got {band!r}")
        start = top
        if band == "full":
            self.front: nn.Module = nn.Identity()
        else:
            if resolution is None:
                raise ValueError(f"band={band!r} needs a resolution")
            start = _log2(resolution, "resolution")
            lowest = 3 if band == "high" else 2
            if not lowest <= start <= top:
                raise ValueError(f"resolution for band {band!r} must be in [{2 ** lowest}, {image_size}]; got {resolution}")
            self.front = GaussianPyramid(image_size, resolution, band)
        if patch_size is not None and band != "full":
            raise ValueError("patch_size (post-pooling) combines with band='full' only")
        n_stages = start - 2
        if patch_size is not None:
            if patch_size not in PATCH_SIZES:
                raise ValueError(f"patch_size must be one of {PATCH_SIZES}; got {patch_size}")
            n_stages = PATCH_SIZES.index(patch_size) + 1
            if n_stages > start - 2:
                raise ValueError(f"patch_size {patch_size} needs {n_stages} stages; {image_size}×{image_size} "
                                 f"images allow {start - 2} (patch sizes {PATCH_SIZES[:start - 2]})")

        def channels(stage: int) -> int:
            return min(width * 2 ** (top - stage), max_channels)

        layers: list[nn.Module] = []
        c_in = 3
        for level in range(start, start - n_stages, -1):
            layers += [_conv(c_in, channels(level)), _conv(channels(level), channels(level - 1)), nn.AvgPool2d(2)]
            c_in = channels(level - 1)
        if patch_size is None:
            layers += [_conv(c_in, c_in), nn.Flatten()]
            flat = c_in * 16
        else:
            layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            flat = c_in
        self.features = nn.Sequential(*layers)
        self.embed = nn.Sequential(nn.Linear(flat, fingerprint_dim), nn.LeakyReLU(LEAK))
        self.classifier = nn.Linear(fingerprint_dim, n_classes)

    def fingerprint(self, x: torch.Tensor) -> torch.Tensor:
        """The image fingerprint: the 512-d feature before the final fully connected layer."""
        return self.embed(self.features(self.front(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.fingerprint(x))


class Probabilities(nn.Module):
    """Softmax on top of a logits network (what ONNX export and ``predict_proba`` compute)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=1)
