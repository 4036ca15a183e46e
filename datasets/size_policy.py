"""How images of any size become ``size`` × ``size``: the size policy of datasets read from files.

Three fits:

- ``resize`` (the default): the centred square of the shorter side, resized to ``size`` (area
  averaging when shrinking, bicubic when enlarging; :func:`ganprint.datasets.decode.fit_to_size`),
  in every split;
- ``crop``: the centred ``size`` × ``size`` window of the image at its own resolution, in every
  split, so no pixel is resampled;
- ``random-crop``: training images give a ``size`` × ``size`` window at a position drawn from the
  image's id and the epoch (a learned method then trains on crops of large images, as Yu et al.
  2019 train at 128 px); validation and test images give the centred window.

In ``crop`` and ``random-crop`` an image whose shorter side is under ``size`` is first enlarged
(bicubic, aspect ratio kept) until its shorter side is ``size``.

The policy is written after a dataset's argument as ``:size=N`` and ``:fit=F``
(``folder:PATH:size=128:fit=random-crop``), or given to ``bench run`` as ``--image-size N
--image-fit F``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ganprint.dataset import DatasetError
from ganprint.datasets.decode import fit_to_size

FITS = ("resize", "crop", "random-crop")
DEFAULT_FIT = "resize"
MAX_SIZE = 1 << 15
_OPTION = re.compile(r"^(size|fit)=(.*)$")


@dataclass(frozen=True)
class SizePolicy:
    """Side of the square images and the fit that gets them there."""

    size: int
    fit: str = DEFAULT_FIT

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 1 <= self.size <= MAX_SIZE:
            raise DatasetError(f"image size must be an integer from 1 to {MAX_SIZE}; got {self.size!r}")
        if self.fit not in FITS:
            raise DatasetError(f"image fit must be one of {', '.join(FITS)}; got {self.fit!r}")

    @property
    def suffix(self) -> str:
        """The policy as it is written after a dataset argument, e.g. ``:size=128:fit=crop``."""
        return f":size={self.size}" + ("" if self.fit == DEFAULT_FIT else f":fit={self.fit}")

    @property
    def hash_line(self) -> str:
        """What a content hash records of the policy (``size=S`` alone for the default fit)."""
        return f"size={self.size}\n" if self.fit == DEFAULT_FIT else f"size={self.size} fit={self.fit}\n"

    def apply(self, rgb: np.ndarray, image_id: str, split: str, epoch: int = 0) -> np.ndarray:
        """One decoded uint8 (H, W, 3) image as (size, size, 3) by this policy."""
        if self.fit == DEFAULT_FIT:
            return fit_to_size(rgb, self.size)
        rgb = _enlarge_to(rgb, self.size)
        h, w = rgb.shape[:2]
        if self.fit == "random-crop" and split == "train":
            draw = hashlib.sha256(f"{image_id}\0{epoch}".encode()).digest()
            top = int.from_bytes(draw[:8], "big") % (h - self.size + 1)
            left = int.from_bytes(draw[8:16], "big") % (w - self.size + 1)
        else:
            top, left = (h - self.size) // 2, (w - self.size) // 2
        return np.ascontiguousarray(rgb[top:top + self.size, left:left + self.size])


def _enlarge_to(rgb: np.ndarray, size: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    if min(h, w) >= size:
        return rgb
    scale = size / min(h, w)
    shape = (max(size, round(w * scale)), max(size, round(h * scale)))
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize(shape, Image.Resampling.BICUBIC))


def split_options(argument: str) -> tuple[str, int | None, str | None]:
    """``'PATH:size=128:fit=crop'`` → ``('PATH', 128, 'crop')``; an option not given is None.

    Options are the trailing ``:size=N`` and ``:fit=F`` parts; whatever comes before them (a
    path, which may itself hold ``:``) is returned as it is. A bad value is a DatasetError.
    """
    options: dict[str, str] = {}
    rest = argument
    while True:
        head, sep, tail = rest.rpartition(":")
        match = _OPTION.match(tail) if sep else None
        if match is None:
            break
        if match.group(1) in options:
            raise DatasetError(f"{match.group(1)}= is given twice in {argument!r}")
        options[match.group(1)] = match.group(2).strip()
        rest = head
    size, fit = options.get("size"), options.get("fit")
    if size is not None and not re.fullmatch(r"[0-9]+", size):
        raise DatasetError(f"size= must be a whole number of pixels; got {size!r}")
    if fit is not None and fit not in FITS:
        raise DatasetError(f"fit= must be one of {', '.join(FITS)}; got {fit!r}")
    return rest, None if size is None else int(size), fit
