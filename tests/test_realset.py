"""The real base set: crops of each split come from disjoint regions of the photos."""
from __future__ import annotations

import numpy as np
import pytest

from ganprint.datasets import realset


@pytest.mark.parametrize("crop", [16, 32])
def test_no_pixel_of_a_test_crop_is_in_a_training_crop(crop):
    train_images, train_origins = realset.sample_crops("train", 3000, crop, seed=0)
    _, test_origins = realset.sample_crops("test", 1000, crop, seed=1)
    covered = {name: np.zeros(realset.shrunk_photo(name, crop).shape[:2], bool) for name in realset.PHOTOS}
    names = list(realset.PHOTOS)
    for photo, top, left in train_origins:
        covered[names[photo]][top:top + crop, left:left + crop] = True
    overlap = sum(int(covered[names[p]][t:t + crop, l:l + crop].sum()) for p, t, l in test_origins)
    assert overlap == 0
    assert train_images.shape == (3000, crop, crop, 3) and train_images.dtype == np.uint8


def test_every_photo_gives_blocks_to_every_split_and_crops_match_their_origin():
    table = realset.describe(32)
    assert set(table) == set(realset.PHOTOS)
    assert all(row["train"] and row["val"] and row["test"] for row in table.values())
    images, origins = realset.sample_crops("val", 5, 32, seed=3)
    names = list(realset.PHOTOS)
    for image, (p, t, l) in zip(images, origins):
        np.testing.assert_array_equal(image, realset.shrunk_photo(names[p], 32)[t:t + 32, l:l + 32])


def test_crops_are_a_function_of_the_seed():
    a, _ = realset.sample_crops("train", 20, 16, seed=5)
    b, _ = realset.sample_crops("train", 20, 16, seed=5)
    c, _ = realset.sample_crops("train", 20, 16, seed=6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_shrunk_photos_keep_content_at_crop_scale():
    for name in realset.PHOTOS:
        h, w = realset.shrunk_photo(name, 32).shape[:2]
        assert min(h, w) <= realset.SCALE * 32
        assert min(h, w) >= realset.BLOCK * 32
