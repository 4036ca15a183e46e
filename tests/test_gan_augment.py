"""The zoo's training-recipe options: DiffAugment of the discriminator's inputs, generator EMA,
bfloat16 arithmetic, Adam settings."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from ganprint.datasets.gan_augment import augment, parse_policy
from ganprint.datasets.gan_families import FAMILIES
from ganprint.datasets.gan_training import GeneratorConfig, sample, train_generator
from ganprint.datasets.zoo_presets import PRESETS
from ganprint.training import torch_threads

TINY = GeneratorConfig("dcgan", image_size=16, width=4, iterations=6, batch_size=8, n_train=64)


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


def test_policy_names_are_checked_and_ordered_colour_first():
    assert parse_policy("") == ()
    assert parse_policy("cutout, translation,color") == ("color", "translation", "cutout")
    with pytest.raises(ValueError, match="rotation"):
        parse_policy("translation,rotation")
    with pytest.raises(ValueError, match="rotation"):
        GeneratorConfig("dcgan", 16, 4, 2, augment="rotation")


def test_translation_shifts_each_image_by_at_most_an_eighth_with_zero_padding():
    torch.manual_seed(0)
    x = torch.rand(16, 3, 32, 32) + 1  # no zeros inside, so padding is recognisable
    y = augment(x, ("translation",))
    shifts = set()
    for a, b in zip(x, y):
        matches = [(dy, dx) for dy in range(-4, 5) for dx in range(-4, 5)
                   if torch.equal(b[:, 4:28, 4:28], torch.roll(a, (dy, dx), (1, 2))[:, 4:28, 4:28])]
        assert len(matches) == 1
        dy, dx = matches[0]
        shifts.add((dy, dx))
        # what was shifted in from outside the image is zero, and nothing else is
        inside = torch.zeros(32, 32, dtype=torch.bool)
        inside[max(dy, 0):32 + min(dy, 0), max(dx, 0):32 + min(dx, 0)] = True
        assert (b[:, ~inside] == 0).all() and (b[:, inside] != 0).all()
    assert len(shifts) > 4  # fresh parameters per image


def test_cutout_zeroes_at_most_a_quarter_and_leaves_the_rest():
    torch.manual_seed(0)
    x = torch.rand(32, 3, 16, 16) + 1
    y = augment(x, ("cutout",))
    zero = (y == 0).all(1)
    assert ((y == x) | (y == 0)).all()
    share = zero.float().mean((1, 2))
    assert (share > 0).all() and (share <= 0.25).all() and (share == 0.25).any()


def test_colour_changes_images_differently_and_passes_gradients():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 8, 8, requires_grad=True)
    y = augment(x, parse_policy("color,translation,cutout"))
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    ratios = (y.detach() / x.detach()).flatten(1).mean(1)
    assert len(set(np.round(ratios.numpy(), 4))) == 4


def test_recipe_options_left_at_defaults_keep_old_configs_equal():
    assert "augment" not in TINY.as_dict() and "ema" not in TINY.as_dict()
    assert GeneratorConfig(**TINY.as_dict()) == TINY
    changed = replace(TINY, augment="translation", ema=0.99)
    assert changed.as_dict()["augment"] == "translation" and GeneratorConfig(**changed.as_dict()) == changed
    # the presets trained without the options keep their keys; default is the one that uses them
    assert all("augment" not in PRESETS[name].template.as_dict() for name in ("smoke", "paper"))
    assert PRESETS["default"].template.as_dict()["augment"] == "translation"
    with pytest.raises(ValueError, match="ema"):
        replace(TINY, ema=1.0)


def test_augmented_training_with_ema_is_deterministic_and_changes_the_generator():
    config = replace(TINY, augment="translation,cutout", ema=0.9)
    a = sample(train_generator(config, progress=False)[0], 8, seed=1)
    b = sample(train_generator(config, progress=False)[0], 8, seed=1)
    np.testing.assert_array_equal(a, b)
    plain = sample(train_generator(replace(config, augment=""), progress=False)[0], 8, seed=1)
    no_ema = sample(train_generator(replace(config, ema=0.0), progress=False)[0], 8, seed=1)
    assert not np.array_equal(a, plain) and not np.array_equal(a, no_ema)


def test_bf16_precision_is_keyed_only_when_set_and_checked():
    assert "precision" not in TINY.as_dict()
    fast = replace(TINY, precision="bf16")
    assert fast.as_dict()["precision"] == "bf16" and GeneratorConfig(**fast.as_dict()) == fast
    with pytest.raises(ValueError, match="precision"):
        replace(TINY, precision="fp8")


@pytest.mark.parametrize("family", ["dcgan", "sngan", "cramergan"])
def test_bf16_training_is_deterministic_keeps_float32_weights_and_only_rounds_differently(family):
    config = replace(TINY, family=family, precision="bf16")
    generator = train_generator(config, progress=False)[0]
    assert all(p.dtype == torch.float32 for p in generator.parameters())
    a = sample(generator, 8, seed=1)
    np.testing.assert_array_equal(a, sample(train_generator(config, progress=False)[0], 8, seed=1))
    exact = sample(train_generator(replace(config, precision=""), progress=False)[0], 8, seed=1)
    difference = np.abs(a.astype(int) - exact.astype(int))
    # the same six steps from the same initialisation: bfloat16 changes the rounding, not the training
    assert difference.max() > 0 and difference.mean() < 0.1


def test_adam_settings_are_keyed_only_when_set_survive_json_and_are_checked():
    assert "lr" not in TINY.as_dict() and "betas" not in TINY.as_dict()
    ttur = replace(TINY, lr=(1e-4, 4e-4), betas=(0.0, 0.9))
    as_json = json.loads(json.dumps(ttur.as_dict()))
    assert as_json["lr"] == [1e-4, 4e-4] and GeneratorConfig(**as_json) == ttur
    for bad in ({"lr": (1e-4,)}, {"lr": (0.0, 1e-4)}, {"betas": (0.5, 1.0)}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            replace(TINY, **bad)


def test_adam_settings_replace_the_familys():
    family = FAMILIES[TINY.family]
    plain = sample(train_generator(TINY, progress=False)[0], 8, seed=1)
    spelled_out = replace(TINY, lr=family.lr, betas=family.betas)
    np.testing.assert_array_equal(plain, sample(train_generator(spelled_out, progress=False)[0], 8, seed=1))
    faster_critic = replace(TINY, lr=(family.lr[0], 4 * family.lr[1]))
    assert not np.array_equal(plain, sample(train_generator(faster_critic, progress=False)[0], 8, seed=1))
