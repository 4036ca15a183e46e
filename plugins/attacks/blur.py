"""Gaussian blur (Yu et al. 2019 §4.4; Yu et al. 2021 §4.6).

Random mode follows Yu 2019: a Gaussian filter whose kernel size is drawn per image from
{1, 3, 5, 7, 9}. Fixed mode (``kernel_size``) uses one size. The standard deviation follows the
kernel size as OpenCV's ``getGaussianKernel`` does, σ = 0.3·((k − 1)/2 − 1) + 0.8, and borders are
mirrored (OpenCV's default), so kernel size 1 leaves the image unchanged. The separable filter runs
in OpenCV on float64 pixels, rounded to uint8 once at the end.
"""
from __future__ import annotations

import cv2
import numpy as np

from ganprint.plugins.attacks.base import ImageAttack, check_number, to_uint8

MAX_KERNEL = 99


def gaussian_kernel(size: int) -> np.ndarray:
    """The normalised 1-D Gaussian kernel of odd length ``size`` (OpenCV's σ for that size)."""
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = np.arange(size) - (size - 1) / 2
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def _check_kernel_size(name: str, size: object) -> None:
    check_number(name, size, 1, MAX_KERNEL, integer=True)
    if size % 2 == 0:
        raise ValueError(f"{name} must be odd; got {size}")


class GaussianBlur(ImageAttack):
    """Gaussian filtering; kernel size drawn from ``kernel_sizes`` unless ``kernel_size`` is set."""

    strength_param = "kernel_size"

    def __init__(self, kernel_sizes: tuple[int, ...] = (1, 3, 5, 7, 9), kernel_size: int | None = None) -> None:
        self.kernel_sizes = kernel_sizes
        self.kernel_size = kernel_size
        if not isinstance(kernel_sizes, (tuple, list)) or not kernel_sizes:
            raise ValueError(f"kernel_sizes must be a non-empty tuple of odd sizes; got {kernel_sizes!r}")
        for size in kernel_sizes:
            _check_kernel_size("kernel_sizes", size)
        if kernel_size is not None:
            _check_kernel_size("kernel_size", kernel_size)

    def _attack_image(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        size = self.kernel_size if self.kernel_size is not None else int(rng.choice(self.kernel_sizes))
        if size == 1:
            return image.copy()
        kernel = gaussian_kernel(size)
        blurred = cv2.sepFilter2D(image.astype(np.float64), cv2.CV_64F, kernel, kernel,
                                  borderType=cv2.BORDER_REFLECT_101)
        return to_uint8(blurred)
