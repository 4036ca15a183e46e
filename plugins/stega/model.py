"""The steganography encoder and decoder of Yu et al. 2021, App. A.1 (after StegaStamp, Tancik et
al. 2020), sized for small square images.

Encoder: the fingerprint bits go through a fully connected layer, are reshaped to one channel at
half the image side and upsampled to the image size, concatenated with the image, and a U-Net
(Ronneberger et al. 2015) produces a residual; the stego image is the cover plus that residual.
Decoder: strided 3×3 convolutions, two dense layers, one logit per bit; the dense layers read the
flattened 4×4 feature map (each bit from fixed places), or, with the ``pool`` head (this
project's, not the paper's), the feature map averaged over its positions, so a bit can be read
from wherever it is (a fully convolutional decoder, for fingerprints that survive a crop at a
random place: docs/results/stega).

Images are tensors in [−1, 1] (``ganprint.training.to_tensor``).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ganprint.plugins.stega.config import DECODER_HEADS


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.ReLU(inplace=True))


class FingerprintEncoder(nn.Module):
    """E(x, w) → stego image: bits → dense → spatial map → concat with the image → U-Net.

    ``strength`` scales the residual the U-Net adds (1 in training); a model trained with a PSNR
    target stores the strength that puts its val stego images at that target (see ``train``)."""

    def __init__(self, n_bits: int, image_size: int = 32, width: int = 16) -> None:
        super().__init__()
        if image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8; got {image_size}")
        self.n_bits, self.image_size = n_bits, image_size
        self.map_side = image_size // 2
        self.dense = nn.Linear(n_bits, self.map_side * self.map_side)
        w = width
        self.down0 = _conv(4, w)
        self.down1 = nn.Sequential(_conv(w, 2 * w, 2), _conv(2 * w, 2 * w))
        self.down2 = nn.Sequential(_conv(2 * w, 4 * w, 2), _conv(4 * w, 4 * w))
        self.up1 = nn.Sequential(_conv(4 * w + 2 * w, 2 * w), _conv(2 * w, 2 * w))
        self.up0 = _conv(2 * w + w + 4, w)
        self.residual = nn.Conv2d(w, 3, 1)
        self.strength = 1.0

    def fingerprint_map(self, bits: torch.Tensor) -> torch.Tensor:
        """(N, n_bits) → (N, 1, S, S): the dense layer's output upsampled to the image size."""
        side = self.map_side
        spatial = F.relu(self.dense(bits.float() * 2 - 1)).view(-1, 1, side, side)
        return F.interpolate(spatial, scale_factor=self.image_size // side, mode="nearest")

    def forward(self, images: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
        inputs = torch.cat([images, self.fingerprint_map(bits)], dim=1)
        d0 = self.down0(inputs)
        d1 = self.down1(d0)
        d2 = self.down2(d1)
        u1 = self.up1(torch.cat([F.interpolate(d2, scale_factor=2, mode="nearest"), d1], dim=1))
        u0 = self.up0(torch.cat([F.interpolate(u1, scale_factor=2, mode="nearest"), d0, inputs], dim=1))
        return images + self.strength * self.residual(u0)


class FingerprintDecoderNet(nn.Module):
    """D(x) → bit logits: strided 3×3 convolutions down to 4×4, two dense layers reading the 4×4
    map flattened (``head="dense"``) or averaged over its positions (``head="pool"``)."""

    def __init__(self, n_bits: int, image_size: int = 32, width: int = 16, head: str = "dense") -> None:
        super().__init__()
        if head not in DECODER_HEADS:
            raise ValueError(f"head must be one of {DECODER_HEADS}; got {head!r}")
        layers: list[nn.Module] = [_conv(3, width, 2)]
        side, channels = image_size // 2, width
        while side > 4:
            layers += [_conv(channels, channels), _conv(channels, 2 * channels, 2)]
            side, channels = side // 2, 2 * channels
        self.features = nn.Sequential(*layers)
        if head == "pool":
            layers_in: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            inputs = channels
        else:
            layers_in, inputs = [nn.Flatten()], channels * side * side
        self.dense = nn.Sequential(*layers_in, nn.Linear(inputs, 128), nn.ReLU(inplace=True), nn.Linear(128, n_bits))

    def he_init(self) -> None:
        """Redraw the convolutions from He et al.'s (2015) normal for ReLU layers, biases zero."""
        for module in self.features.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.dense(self.features(images))
