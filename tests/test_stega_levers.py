"""The training levers of the stega recipe (docs/results/stega, issue #34): a differentiable random
crop, a straight-through JPEG and a penalty on the image-independent part of the fingerprint,
between encoder and decoder; each off by default and out of the model's cache key when off."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganprint.images import jpeg_roundtrip
from ganprint.plugins.stega.augment import TrainingPerturbation, crop_resize, straight_through_jpeg
from ganprint.plugins.stega.config import StegaConfig
from ganprint.plugins.stega.train import independent_share, train_stega
from ganprint.training import to_images, to_tensor

TINY = StegaConfig(n_bits=8, width=8, n_train=64, n_val=32, batch_size=32, max_epochs=2, ramp_steps=2,
                   secrecy_weight=0.0, secrecy_group=8, accept_acc=0.0)


def _images(n: int = 4, size: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def test_levers_are_off_by_default_keyed_when_on_and_checked():
    assert not {"jpeg_min_quality", "crop_min", "independence_weight"} & set(StegaConfig().as_dict())
    on = StegaConfig(jpeg_min_quality=50, crop_min=0.67, independence_weight=2.0).as_dict()
    assert (on["jpeg_min_quality"], on["crop_min"], on["independence_weight"]) == (50, 0.67, 2.0)
    for bad in ({"jpeg_min_quality": 101}, {"crop_min": 1.0}, {"crop_min": -0.1}, {"independence_weight": -1.0}):
        with pytest.raises(ValueError):
            StegaConfig(**bad)
    assert TrainingPerturbation.of(StegaConfig(), 0) is None


def test_straight_through_jpeg_is_a_real_jpeg_forward_and_the_identity_backward():
    images = _images()
    x = to_tensor(images, torch.device("cpu")).requires_grad_(True)
    out = straight_through_jpeg(x, 50)
    expected = np.stack([jpeg_roundtrip(image, 50) for image in images])
    assert np.array_equal(to_images(out), expected) and not np.array_equal(expected, images)
    weights = torch.randn_like(x)
    (out * weights).sum().backward()
    assert torch.equal(x.grad, weights)


def test_the_random_crop_resizes_a_part_of_the_image_back_and_passes_gradients():
    x = to_tensor(_images(size=32), torch.device("cpu")).requires_grad_(True)
    rng = np.random.default_rng(0)
    out = crop_resize(x, 0.5, rng)
    assert out.shape == x.shape and not torch.allclose(out, x)
    out.sum().backward()
    assert x.grad.abs().sum() > 0 and (x.grad == 0).any()  # pixels outside the crop get none
    assert torch.equal(crop_resize(x, 1.0, rng), x)


def test_the_centre_crop_is_the_attacks_plugins_centre_window():
    """``crop_centre``: the window is the centred one the crop attack cuts at a fixed size (Yu
    2021 §4.6), here 3 of 7 pixels: rows and columns 2..4; a pixel outside it gets no gradient,
    and the random-position stream is not drawn."""
    from ganprint.plugins.attacks.crop import Crop

    x = torch.zeros(1, 1, 7, 7, requires_grad=True)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    crop_resize(x, 3 / 7, rng, centre=True).sum().backward()
    touched = (x.grad[0, 0] != 0).nonzero().tolist()
    assert {r for r, _ in touched} == {c for _, c in touched} == {2, 3, 4}
    assert rng.bit_generator.state == state
    image = _images(1, 32)[0]
    ours = to_images(crop_resize(to_tensor(image[None], torch.device("cpu")), 20 / 32, rng, centre=True))[0]
    attacked = Crop(size=20)(image[None], np.random.default_rng(1))[0]
    assert np.abs(ours.astype(int) - attacked.astype(int)).mean() < 1  # torch's and PIL's bilinear differ by rounding
    assert StegaConfig(crop_min=0.6, crop_centre=True).as_dict()["crop_centre"] is True
    assert "crop_centre" not in StegaConfig(crop_min=0.6).as_dict()
    with pytest.raises(ValueError, match="needs a crop_min"):
        StegaConfig(crop_centre=True)


def test_the_perturbation_of_blur_and_noise_alone_draws_as_before_the_new_levers():
    """A config without crop or JPEG perturbs exactly as the two-argument perturbation did, so the
    shipped models' training is unchanged."""
    x = to_tensor(_images(), torch.device("cpu"))
    config = StegaConfig(blur_sigma=1.0, noise_std=0.2)
    a, b = TrainingPerturbation(1.0, 0.2, 3), TrainingPerturbation.of(config, 3)
    for _ in range(3):
        assert torch.equal(a(x), b(x))
    with_jpeg = TrainingPerturbation.of(StegaConfig(jpeg_min_quality=30), 3)
    assert not torch.equal(with_jpeg(x), x)


def test_independent_share_is_one_for_a_fixed_pattern_and_small_for_independent_residuals():
    torch.manual_seed(0)
    pattern = torch.randn(1, 3, 16, 16)
    assert float(independent_share(pattern.repeat(16, 1, 1, 1))) == pytest.approx(1.0)
    independent = torch.randn(16, 3, 16, 16)
    assert float(independent_share(independent)) == pytest.approx(1 / 16, rel=0.2)
    mixed = pattern + 0.5 * torch.randn(16, 3, 16, 16)
    assert 1 / 16 < float(independent_share(mixed)) < 1.0


def test_the_independence_penalty_changes_training_and_lowers_the_share():
    """With the penalty the encoder is pushed away from a fixed pattern: the same tiny training
    with and without it ends at different weights, and the penalised residuals share less."""
    images = _images(TINY.n_train + TINY.n_val, 16, 1)
    config = StegaConfig(**(TINY.as_dict() | {"image_size": 16}))
    shares = {}
    for weight in (0.0, 50.0):
        trained = StegaConfig(**(config.as_dict() | {"independence_weight": weight}))
        encoder, _, history, _ = train_stega(trained, images[:TINY.n_train], images[TINY.n_train:], progress=False)
        x = to_tensor(images[TINY.n_train:], torch.device("cpu"))
        bits = torch.ones(len(x), trained.n_bits, dtype=torch.uint8)
        with torch.no_grad():
            shares[weight] = float(independent_share(encoder(x, bits) - x))
        assert ("independence" in history.losses[0]) == (weight > 0) and "forgery" not in history.losses[0]
    assert shares[50.0] < shares[0.0]


def test_the_default_is_the_noisy64_recipe_plus_the_blur_and_the_crop() -> None:
    """The default adapts noisy64's stage-1 model to a blur and a crop between encoder and decoder,
    then fine-tunes it as noisy64's is; the two presets differ in their steganography model only."""
    from dataclasses import replace

    from ganprint.cache import config_key
    from ganprint.plugins.stega.presets import NOISY64, NOISY64_PLAIN, PRESETS, ROBUST64, ROBUST64_PLAIN, recipe_chain

    levers_off = dict(blur_sigma=0.0, crop_min=0.0, jpeg_min_quality=0)
    assert (ROBUST64_PLAIN.blur_sigma, ROBUST64_PLAIN.crop_min, ROBUST64_PLAIN.jpeg_min_quality) == (2.0, 0.9, 0)
    assert ROBUST64_PLAIN.base == config_key(NOISY64_PLAIN.as_dict())
    assert replace(ROBUST64_PLAIN, base="", max_epochs=NOISY64_PLAIN.max_epochs, **levers_off) == NOISY64_PLAIN
    assert ROBUST64.base == config_key(ROBUST64_PLAIN.as_dict())
    assert replace(ROBUST64, base=NOISY64.base, **levers_off) == NOISY64
    default, noisy = PRESETS["default"], PRESETS["noisy64"]
    assert recipe_chain(default) == [NOISY64_PLAIN, ROBUST64_PLAIN, ROBUST64]  # without any trained model
    assert default.stega_base == ROBUST64_PLAIN and default.stega == ROBUST64
    assert replace(default, name="noisy64", stega=NOISY64, stega_base=NOISY64_PLAIN) == noisy
    assert recipe_chain(noisy) == [NOISY64_PLAIN, NOISY64]
    assert "robust64" not in PRESETS


def test_the_pool_candidate_is_the_default_with_the_pool_head_trained_from_scratch() -> None:
    """``pool64`` is the default's levers and fine-tune on a pool-head model trained from scratch
    (the dense head's stage-1 weights do not fit it), with the default's publishers and GAN settings."""
    from dataclasses import replace

    from ganprint.cache import config_key
    from ganprint.plugins.stega.presets import (NOISY64_PLAIN, POOL64, POOL64_PLAIN, PRESETS, ROBUST64,
                                                ROBUST64_PLAIN, recipe_chain)

    assert POOL64_PLAIN.base == "" and POOL64_PLAIN.decoder_head == "pool"
    assert replace(POOL64_PLAIN, decoder_head="dense", max_epochs=ROBUST64_PLAIN.max_epochs,
                   base=ROBUST64_PLAIN.base) == ROBUST64_PLAIN
    assert replace(NOISY64_PLAIN, decoder_head="pool", blur_sigma=2.0, crop_min=0.9, max_epochs=32) == POOL64_PLAIN
    assert POOL64.base == config_key(POOL64_PLAIN.as_dict())
    assert replace(POOL64, base=ROBUST64.base, decoder_head="dense") == ROBUST64
    pool, default = PRESETS["pool64"], PRESETS["default"]
    assert recipe_chain(pool) == [POOL64_PLAIN, POOL64]
    assert replace(pool, name="default", stega=ROBUST64, stega_base=ROBUST64_PLAIN) == default


def test_the_pool_head_is_off_by_default_keyed_when_on_and_checked():
    from ganprint.plugins.stega.model import FingerprintDecoderNet

    assert "decoder_head" not in StegaConfig().as_dict()
    assert StegaConfig(decoder_head="pool").as_dict()["decoder_head"] == "pool"
    with pytest.raises(ValueError, match="decoder_head"):
        StegaConfig(decoder_head="flat")
    with pytest.raises(ValueError, match="head"):
        FingerprintDecoderNet(8, 16, 4, "flat")


def test_the_pool_head_reads_the_feature_map_averaged_over_positions():
    """The pool head's logits are its dense layers applied to the mean of the last feature map,
    so they do not depend on where the features are: the same map with its positions permuted
    gives the same logits, while the dense head's change."""
    from ganprint.plugins.stega.model import FingerprintDecoderNet

    torch.manual_seed(0)
    features = torch.randn(2, 8, 4, 4)  # a 16 px decoder of width 4 ends at 8 channels of 4x4
    permuted = features.flatten(2)[:, :, torch.randperm(16)].view(2, 8, 4, 4)
    pool, dense = FingerprintDecoderNet(8, 16, 4, "pool"), FingerprintDecoderNet(8, 16, 4, "dense")
    assert pool.dense[2].in_features == 8 and dense.dense[1].in_features == 8 * 16
    mean = features.mean(dim=(2, 3))
    by_hand = pool.dense[4](torch.relu(pool.dense[2](mean)))
    torch.testing.assert_close(pool.dense(features), by_hand)
    torch.testing.assert_close(pool.dense(permuted), by_hand)
    assert not torch.allclose(dense.dense(features), dense.dense(permuted))
    assert pool(torch.zeros(3, 3, 24, 24)).shape == (3, 8)  # any size: nothing is tied to positions


def test_a_pool_head_model_trains_saves_and_loads(tmp_path):
    from ganprint.plugins.stega.weights import StegaModel, load_model, save_model

    config = TINY.__class__(**(TINY.as_dict() | {"decoder_head": "pool", "max_epochs": 1}))
    images = _images(96, 32)
    encoder, decoder, _, _ = train_stega(config, images[:64], images[64:], progress=False)
    save_model(tmp_path, StegaModel(config, encoder, decoder, {}))
    loaded = load_model(tmp_path)
    assert loaded.config.decoder_head == "pool"
    x = to_tensor(images[:4], torch.device("cpu"))
    torch.testing.assert_close(loaded.decoder(x), decoder(x))


def test_a_pool_head_model_is_not_fine_tuned_from_a_dense_head_base(tmp_path, monkeypatch):
    """The dense head's weights do not fit the pool head's: a clear ValueError before any
    training, not torch's key error from deep inside it."""
    from ganprint.cache import config_key
    from ganprint.plugins.stega.model import FingerprintDecoderNet, FingerprintEncoder
    from ganprint.plugins.stega.weights import StegaModel, get_model, model_dir, save_model

    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path))
    base = TINY
    save_model(model_dir(base), StegaModel(base, FingerprintEncoder(8, 32, 8), FingerprintDecoderNet(8, 32, 8), {}))
    with pytest.raises(ValueError, match="decoder head cannot be fine-tuned"):
        get_model(TINY.__class__(**(TINY.as_dict() | {"decoder_head": "pool", "base": config_key(base.as_dict())})),
                  progress=False)
