"""The real-photo base set: square crops of the colour photographs bundled with scikit-image and
scikit-learn, with train / val / test crops taken from disjoint regions of each photo.

Photos (all ship inside the installed packages; nothing is downloaded):

============================  =====================  ==============================================
name                          origin                 licence (as stated by the package)
============================  =====================  ==============================================
astronaut                     ``skimage.data``       NASA photograph of Eileen Collins; no known
                                                     copyright restrictions (public domain)
chelsea                       ``skimage.data``       CC0, photographer Stefan van der Walt
coffee                        ``skimage.data``       CC0, photographer Rachel Michetti
rocket                        ``skimage.data``       SpaceX photograph released into the public domain
motorcycle                    ``skimage.data``       left view of Middlebury 2014 stereo pair
                              (stereo_motorcycle)    (Scharstein et al., GCPR 2014), distributed with
                                                     scikit-image for research use; the right view is
                                                     left out (it would leak across splits)
hubble_deep_field             ``skimage.data``       NASA/HubbleSite, public domain
immunohistochemistry          ``skimage.data``       CMMI micrograph; no known copyright restrictions
retina                        ``skimage.data``       CC0 1.0 (Mikael Häggström, Wikimedia Commons)
china                         ``sklearn``            CC BY 2.0, danielbuechele (Flickr)
flower                        ``sklearn``            CC BY 2.0, vultilion (Flickr)
============================  =====================  ==============================================

Regions: each photo is first shrunk (area averaging) so that its shorter side is at most
``SCALE × crop`` pixels, so a crop holds a recognisable part of the scene rather than a flat patch.
The shrunk photo is cut into a grid of square blocks of side ``BLOCK × crop``; the blocks of each
photo are assigned to train / val / test 60/20/20 by :func:`ganprint.dataset.assign_splits` on
their key ``photo/row/col``. A crop lies entirely inside one block, so no pixel of a test crop is
in a training crop. Crops are drawn uniformly over the blocks of a split, then uniformly over the
positions inside the block, from a seeded generator.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
from PIL import Image

from ganprint.dataset import SPLITS, assign_splits

SCALE = 6
BLOCK = 2


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        image = getattr(skimage.data, name)()
        return image[0] if isinstance(image, tuple) else image
    return load


def _sklearn(index: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_images

        return load_sample_images().images[index]
    return load


PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "astronaut": _skimage("astronaut"),
    "chelsea": _skimage("chelsea"),
    "coffee": _skimage("coffee"),
    "rocket": _skimage("rocket"),
    "motorcycle": _skimage("stereo_motorcycle"),
    "hubble_deep_field": _skimage("hubble_deep_field"),
    "immunohistochemistry": _skimage("immunohistochemistry"),
    "retina": _skimage("retina"),
    "china": _sklearn(0),
    "flower": _sklearn(1),
}


@dataclass(frozen=True)
class Block:
    """A square region of one shrunk photo: its photo, top-left corner, side and split."""

    photo: str
    top: int
    left: int
    side: int
    split: str


@lru_cache(maxsize=None)
def shrunk_photo(name: str, crop: int) -> np.ndarray:
    """The photo ``name`` as uint8 RGB, shrunk so its shorter side is at most ``SCALE × crop``."""
    image = np.ascontiguousarray(PHOTOS[name]()[:, :, :3])
    h, w = image.shape[:2]
    factor = min(1.0, SCALE * crop / min(h, w))
    if factor < 1.0:
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        image = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX))
    return image


@lru_cache(maxsize=None)
def blocks(crop: int) -> tuple[Block, ...]:
    """Every block of every photo for crops of side ``crop``, each with its split."""
    side = BLOCK * crop
    out: list[Block] = []
    for name in PHOTOS:
        h, w = shrunk_photo(name, crop).shape[:2]
        corners = [(r * side, c * side) for r in range(h // side) for c in range(w // side)]
        keys = [f"{name}/{top // side}/{left // side}" for top, left in corners]
        for (top, left), split in zip(corners, assign_splits(keys)):
            out.append(Block(name, top, left, side, split))
    return tuple(out)


def sample_crops(split: str | tuple[str, ...], n: int, crop: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` crops of side ``crop`` from the blocks of ``split`` (or of several splits).

    Returns the uint8 (n, crop, crop, 3) images and their origins, an int array (n, 3) of
    (photo index in :data:`PHOTOS`, top, left) in the shrunk photo's pixels.
    """
    wanted = (split,) if isinstance(split, str) else tuple(split)
    if set(wanted) - set(SPLITS):
        raise ValueError(f"split must be among {SPLITS}; got {wanted}")
    pool = [b for b in blocks(crop) if b.split in wanted]
    names = list(PHOTOS)
    rng = np.random.default_rng([seed, crop, *(SPLITS.index(s) for s in wanted)])
    which = rng.integers(0, len(pool), size=n)
    offsets = rng.integers(0, BLOCK * crop - crop + 1, size=(n, 2))
    images = np.empty((n, crop, crop, 3), np.uint8)
    origins = np.empty((n, 3), np.int64)
    for i, (b, (dy, dx)) in enumerate(zip((pool[k] for k in which), offsets)):
        top, left = b.top + int(dy), b.left + int(dx)
        images[i] = shrunk_photo(b.photo, crop)[top:top + crop, left:left + crop]
        origins[i] = (names.index(b.photo), top, left)
    return images, origins


def describe(crop: int) -> dict[str, dict[str, int]]:
    """Blocks per photo and split, for documentation (``bench data show``)."""
    table: dict[str, dict[str, int]] = {}
    for b in blocks(crop):
        row = table.setdefault(b.photo, {s: 0 for s in SPLITS})
        row[b.split] += 1
    return table
