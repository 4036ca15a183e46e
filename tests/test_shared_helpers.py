"""The helpers several plugins and datasets share (ganprint.pyramid, ganprint.gradient_penalty,
ganprint.cache's config keys), on cases small enough to work out by hand."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

from ganprint.cache import config_key, without_defaults
from ganprint.gradient_penalty import gradient_penalty, interpolate, wgan_gradient_penalty
from ganprint.pyramid import BINOMIAL, binomial_blur, expand, laplacian_pyramid, reduce


def test_blur_keeps_a_constant_and_spreads_an_impulse_as_the_binomial_outer_product() -> None:
    flat = np.full((2, 8, 8), 0.7)
    np.testing.assert_allclose(binomial_blur(flat), flat)
    np.testing.assert_allclose(binomial_blur(flat, "symmetric"), flat)
    impulse = np.zeros((9, 9))
    impulse[4, 4] = 1.0
    expected = np.zeros((9, 9))
    expected[2:7, 2:7] = np.outer([1, 4, 6, 4, 1], [1, 4, 6, 4, 1]) / 256
    np.testing.assert_allclose(binomial_blur(impulse), expected)


def test_borders_mirror_about_or_repeat_the_edge_sample() -> None:
    # constant down the rows, so only the column filter acts: x = [1, 0, 0, 0, 0, 0] per row
    x = np.zeros((6, 6))
    x[:, 0] = 1.0
    # reflect pads 0 0 | 1 0 0 ...: out[0] = 6/16, out[1] = 4/16; symmetric pads 0 1 | 1 0 0 ...:
    # out[0] = (4 + 6)/16, out[1] = (1 + 4)/16
    np.testing.assert_allclose(binomial_blur(x, "reflect")[0, :3], [6 / 16, 4 / 16, 1 / 16])
    np.testing.assert_allclose(binomial_blur(x, "symmetric")[0, :3], [10 / 16, 5 / 16, 1 / 16])
    with pytest.raises(ValueError, match="border"):
        binomial_blur(x, "wrap")


def test_pyramid_levels_collapse_back_to_the_image_and_keep_the_dtype() -> None:
    x = np.random.default_rng(0).uniform(0, 1, (2, 3, 32, 32)).astype(np.float32)
    levels = laplacian_pyramid(x, 4)
    assert [level.shape[-1] for level in levels] == [32, 16, 8, 4]
    assert all(level.dtype == np.float32 for level in levels)
    collapsed = levels[-1]
    for band in reversed(levels[:-1]):
        collapsed = band + expand(collapsed, band.shape)
    np.testing.assert_allclose(collapsed, x, atol=1e-5)
    assert len(laplacian_pyramid(x, 16)) == 2
    assert reduce(x).shape == (2, 3, 16, 16)


def test_expand_of_a_constant_is_the_constant_away_from_the_border() -> None:
    up = expand(np.full((1, 4, 4), 2.0), (1, 8, 8))
    np.testing.assert_allclose(up[:, 2:-2, 2:-2], 2.0)
    assert BINOMIAL.sum() == 1.0


def test_penalty_of_a_linear_critic_is_its_gradient_norm_minus_one_squared() -> None:
    w = torch.tensor([3.0, 4.0]).view(1, 1, 1, 2)  # |w| = 5, so the penalty is (5 - 1)^2 = 16
    critic = lambda x: (x * w).sum(dim=(1, 2, 3))  # noqa: E731
    real, fake = torch.zeros(4, 1, 1, 2), torch.ones(4, 1, 1, 2)
    assert wgan_gradient_penalty(critic, real, fake).item() == pytest.approx(16.0)
    point = interpolate(real, fake, torch.Generator().manual_seed(0))
    assert point.is_leaf and point.requires_grad
    assert ((point >= 0) & (point <= 1)).all() and (point[:, :, :, 0] == point[:, :, :, 1]).all()
    again = interpolate(real, fake, torch.Generator().manual_seed(0))
    assert torch.equal(point, again)
    unit = gradient_penalty(critic(point) / 5, point)  # gradient of norm 1: no penalty
    assert unit.item() == pytest.approx(0.0, abs=1e-12)


def test_config_key_is_the_sha256_of_the_sorted_json_cut_to_length() -> None:
    config = {"b": 1, "a": [1, 2]}
    digest = hashlib.sha256(json.dumps({"a": [1, 2], "b": 1}).encode()).hexdigest()
    assert config_key(config) == digest[:16]
    assert config_key(config, length=24) == digest[:24]
    assert config_key({"a": [1, 2], "b": 1}) == config_key(config)


def test_without_defaults_drops_only_entries_equal_to_their_default() -> None:
    config = {"n": 3, "ema": None, "precision": "bf16", "augment": ""}
    defaults = {"ema": None, "precision": "", "augment": "", "absent": 1}
    assert without_defaults(config, defaults) == {"n": 3, "precision": "bf16"}
    assert list(without_defaults(config, {})) == ["n", "ema", "precision", "augment"]
