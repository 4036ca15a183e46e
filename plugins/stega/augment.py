"""What the decoder reads stego images through in training: random crop, blur, JPEG and noise
(StegaStamp's augmentations; the crop and JPEG of Yu et al. 2021 §4.6 as training-time
perturbations), each differentiable or straight-through, so the encoder learns a fingerprint that
survives them.
"""
from __future__ import annotations


import numpy as np
import torch
from torch.nn import functional as F

from ganprint.plugins.stega.config import JPEG_MAX_QUALITY, StegaConfig
from ganprint.training import to_tensor


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Differentiable per-channel Gaussian blur of (N, C, H, W) images (reflect padding)."""
    if sigma <= 0:
        return images
    radius = max(1, int(round(2.5 * sigma)))
    x = torch.arange(-radius, radius + 1, dtype=images.dtype)
    kernel = torch.exp(-x ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    c = images.shape[1]
    out = F.pad(images, (radius, radius, 0, 0), mode="reflect")
    out = F.conv2d(out, kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    out = F.pad(out, (0, 0, radius, radius), mode="reflect")
    return F.conv2d(out, kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def crop_resize(images: torch.Tensor, fraction: float, rng: np.random.Generator, centre: bool = False
                ) -> torch.Tensor:
    """Differentiable crop and resize back (StegaStamp's geometric augmentation, the crop of Yu 2021
    §4.6): one square of side ``fraction`` × the image side per batch, at a random position, or
    with ``centre`` centred as Yu 2021's centre cropping (the attacks plugin's fixed-size crop),
    bilinearly resized to the full size."""
    n, c, h, w = images.shape
    side = max(2, int(round(fraction * min(h, w))))
    if side >= min(h, w):
        return images
    if centre:
        top, left = (h - side) // 2, (w - side) // 2
    else:
        top, left = (int(v) for v in rng.integers(0, [h - side + 1, w - side + 1]))
    crop = images[:, :, top:top + side, left:left + side]
    return F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False)


def straight_through_jpeg(images: torch.Tensor, quality: int) -> torch.Tensor:
    """A real JPEG round trip (OpenCV, ``ganprint.images.jpeg_roundtrip``) of [−1, 1] images at
    ``quality`` in the forward pass, the identity in the backward pass (the straight-through
    estimator): the decoder reads true JPEG artefacts, and the encoder's gradient passes as if
    the compression were not there (Shin & Song 2017's JPEG-Mask is the smooth alternative)."""
    from ganprint.images import jpeg_roundtrip
    from ganprint.training import to_images

    with torch.no_grad():
        decoded = np.stack([jpeg_roundtrip(image, quality) for image in to_images(images.detach())])
        compressed = to_tensor(decoded, images.device).to(images.dtype)
    return images + (compressed - images).detach()


class TrainingPerturbation:
    """The random crop, blur, JPEG and noise the decoder reads stego images through in training, in
    that order, each switched on by its setting (see module): a crop of a side fraction uniform in
    [``crop_min``, 1] (centred with ``crop_centre``, else at a random position), a blur of σ
    uniform in [0, ``blur_sigma``], JPEG (straight-through) at a quality uniform in
    [``jpeg_min_quality``, 95], Gaussian noise of std uniform in [0, ``noise_std``]."""

    def __init__(self, blur_sigma: float, noise_std: float, seed: int, jpeg_min_quality: int = 0,
                 crop_min: float = 0.0, crop_centre: bool = False) -> None:
        self.blur_sigma, self.noise_std = blur_sigma, noise_std
        self.jpeg_min_quality, self.crop_min, self.crop_centre = jpeg_min_quality, crop_min, crop_centre
        self.rng = np.random.default_rng([seed, 3])
        self.torch_rng = torch.Generator().manual_seed(int(self.rng.integers(2 ** 31)))
        # the crop and JPEG draw from their own streams, so the blur and noise of a config without
        # them are drawn as they were before these options existed
        self.geometry_rng = np.random.default_rng([seed, 6])

    @classmethod
    def of(cls, config: "StegaConfig", seed: int) -> "TrainingPerturbation | None":
        """The perturbation of ``config`` (None if every setting is off)."""
        if not (config.blur_sigma > 0 or config.noise_std > 0 or config.jpeg_min_quality or config.crop_min):
            return None
        return cls(config.blur_sigma, config.noise_std, seed, config.jpeg_min_quality, config.crop_min,
                   config.crop_centre)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        if self.crop_min > 0:
            images = crop_resize(images, float(self.geometry_rng.uniform(self.crop_min, 1.0)), self.geometry_rng,
                                 self.crop_centre)
        if self.blur_sigma > 0:
            images = gaussian_blur(images, float(self.rng.uniform(0, self.blur_sigma)))
        if self.jpeg_min_quality:
            quality = int(self.geometry_rng.integers(self.jpeg_min_quality, JPEG_MAX_QUALITY, endpoint=True))
            images = straight_through_jpeg(images, quality)
        if self.noise_std > 0:
            std = float(self.rng.uniform(0, self.noise_std))
            images = images + std * torch.randn(images.shape, generator=self.torch_rng)
        return images
