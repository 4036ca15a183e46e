"""Tests of the artificial-fingerprint plugin (Yu et al. 2021): λ schedule, database, encoder and
decoder shapes, the attributor on a tiny trained model, model perturbations and secrecy attacks."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from ganprint import REAL
from ganprint.plugins.stega.attributor import StegaAttributor
from ganprint.plugins.stega.database import FingerprintDatabase, random_match_probability
from ganprint.plugins.stega.model import FingerprintDecoderNet, FingerprintEncoder
from ganprint.plugins.stega.perturb import WeightNoise, WeightQuantization
from ganprint.plugins.stega.secrecy import FingerprintForgery, FingerprintRemoval, estimate_fingerprint
from ganprint.plugins.stega.augment import TrainingPerturbation, gaussian_blur
from ganprint.plugins.stega.config import StegaConfig, psnr
from ganprint.plugins.stega.train import LambdaSchedule, embed, selection_score
from ganprint.testing import check_detector

TINY = StegaConfig(n_bits=8, width=8, n_train=96, n_val=32, batch_size=32, max_epochs=2, ramp_steps=3,
                   secrecy_group=8)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny model trained for a few steps on random images, saved and loaded back."""
    from ganprint.plugins.stega.train import train_stega
    from ganprint.plugins.stega.weights import StegaModel, save_model

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (TINY.n_train + TINY.n_val, 32, 32, 3), dtype=np.uint8)
    encoder, decoder, history, metrics = train_stega(TINY, images[:TINY.n_train], images[TINY.n_train:],
                                                     progress=False)
    folder = tmp_path_factory.mktemp("stega_model")
    save_model(folder, StegaModel(TINY, encoder, decoder, {"val": metrics}))
    return folder


def test_training_gives_the_same_model_whatever_the_process_drew_before():
    from ganprint.plugins.stega.train import train_stega

    config = replace(TINY, max_epochs=1, noise_std=0.2)
    images = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    first = train_stega(config, images[:32], images[32:], progress=False)[0].state_dict()
    torch.randn(100)  # global torch random state moved on, as after any other training in the process
    second = train_stega(config, images[:32], images[32:], progress=False)[0].state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_lambda_is_zero_until_accuracy_passes_then_ramps_linearly():
    schedule = LambdaSchedule(accept_acc=0.9, final=10.0, ramp_steps=4, momentum=0.0)
    assert [schedule.update(0.6) for _ in range(3)] == [0.0, 0.0, 0.0]
    ramp = [schedule.update(1.0) for _ in range(6)]
    assert ramp == [0.0, 2.5, 5.0, 7.5, 10.0, 10.0]


def test_calibrated_strength_puts_the_stego_images_at_the_target_psnr_and_is_saved(tmp_path):
    from ganprint.plugins.stega.train import calibrate_strength
    from ganprint.plugins.stega.weights import StegaModel, load_model, save_model

    torch.manual_seed(0)
    encoder = FingerprintEncoder(TINY.n_bits, 32, TINY.width).eval()
    images = np.random.default_rng(0).integers(30, 220, (16, 32, 32, 3), dtype=np.uint8)
    bits = np.random.default_rng(1).integers(0, 2, (16, TINY.n_bits), dtype=np.uint8)
    raw = psnr(embed(encoder, images, bits), images)
    for target in (raw - 6.0, raw + 6.0):
        encoder.strength = calibrate_strength(encoder, images, bits, target)
        assert abs(psnr(embed(encoder, images, bits), images) - target) < 0.1
    assert encoder.strength < 1.0  # the last target was above the raw PSNR: a fainter residual
    save_model(tmp_path, StegaModel(TINY, encoder, FingerprintDecoderNet(TINY.n_bits, 32, TINY.width), {}))
    assert load_model(tmp_path).encoder.strength == encoder.strength


def test_the_decoder_phase_leaves_the_encoder_and_its_crops_as_they_were():
    from ganprint.plugins.stega.train import train_stega

    images = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    plain = replace(TINY, max_epochs=1, noise_std=0.2, psnr_target=30.0)
    phased = replace(plain, decoder_epochs=1, attenuation=0.3)
    enc_a, dec_a, _, _ = train_stega(plain, images[:32], images[32:], progress=False)
    enc_b, dec_b, history, _ = train_stega(phased, images[:32], images[32:], progress=False)
    assert enc_a.strength == enc_b.strength
    assert all(torch.equal(a, b) for a, b in zip(enc_a.state_dict().values(), enc_b.state_dict().values()))
    assert not all(torch.equal(a, b) for a, b in zip(dec_a.state_dict().values(), dec_b.state_dict().values()))
    assert history.losses[-1]["decoder_phase"] == 1.0 and "val_noisy_bitwise" in history.losses[-1]
    bits = np.ones(TINY.n_bits, np.uint8)
    assert np.array_equal(embed(enc_a, images[:4], bits), embed(enc_b, images[:4], bits))


def test_selection_with_a_psnr_target_prefers_the_fingerprint_that_survives_noise():
    targeted = StegaConfig(secrecy_weight=0.0, psnr_target=35.0)
    robust = {"bitwise_acc": 0.99, "noisy_bitwise": 0.95, "psnr": 35.2, "forged_bitwise": 0.9}
    fragile = {"bitwise_acc": 1.0, "noisy_bitwise": 0.90, "psnr": 37.0, "forged_bitwise": 0.9}
    too_loud = {"bitwise_acc": 1.0, "noisy_bitwise": 0.99, "psnr": 34.0, "forged_bitwise": 0.9}
    assert selection_score(robust, True, targeted) > selection_score(fragile, True, targeted)
    assert selection_score(robust, True, targeted) > selection_score(too_loud, True, targeted)
    # without a target, the fainter fingerprint wins, as before
    assert selection_score(fragile, True, StegaConfig(secrecy_weight=0.0)) > selection_score(
        robust, True, StegaConfig(secrecy_weight=0.0))
    assert "psnr_target" not in StegaConfig().as_dict() and targeted.as_dict()["psnr_target"] == 35.0


def test_selection_never_keeps_a_model_that_lost_its_fingerprint():
    plain, secret = StegaConfig(secrecy_weight=0.0), StegaConfig(secrecy_weight=1.0)
    faint = {"bitwise_acc": 0.51, "psnr": 66.0, "forged_bitwise": 0.4}
    good = {"bitwise_acc": 0.98, "psnr": 36.0, "forged_bitwise": 0.9}
    assert selection_score(faint, True, plain) < selection_score(good, True, plain)
    assert selection_score(good, False, plain) < selection_score(good, True, plain)
    # forgery only counts against a model trained for secrecy
    assert selection_score(good, True, secret) < selection_score(good, True, plain)
    # switched-off perturbations are left out of the key, so models trained before them keep theirs
    assert "noise_std" not in StegaConfig().as_dict() and "blur_sigma" not in StegaConfig().as_dict()
    assert StegaConfig(noise_std=0.1).as_dict()["noise_std"] == 0.1


def test_training_warns_when_the_model_never_reaches_the_acceptance_accuracy():
    from ganprint.plugins.stega.train import train_stega

    images = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    with pytest.warns(RuntimeWarning, match="below the acceptance accuracy"):
        train_stega(replace(TINY, max_epochs=1, accept_acc=1.01), images[:32], images[32:], progress=False)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        train_stega(replace(TINY, max_epochs=1, accept_acc=0.0), images[:32], images[32:], progress=False)


def test_the_he_initialisation_is_a_keyed_option_that_keeps_each_layer_s_signal():
    assert "decoder_init" not in StegaConfig().as_dict() and StegaConfig(decoder_init="he").as_dict()["decoder_init"] == "he"
    with pytest.raises(ValueError, match="decoder_init"):
        StegaConfig(decoder_init="xavier")
    torch.manual_seed(0)
    images = torch.randn(16, 3, 64, 64)
    default = FingerprintDecoderNet(8, image_size=64)
    he = FingerprintDecoderNet(8, image_size=64)
    he.he_init()
    # torch's default shrinks the activations layer by layer; He's normal keeps their scale
    assert he.features(images).std() > 4 * default.features(images).std()


def test_training_blur_keeps_flat_images_and_smooths_a_checkerboard():
    flat = torch.full((1, 3, 16, 16), 0.3)
    assert torch.allclose(gaussian_blur(flat, 1.0), flat, atol=1e-6)
    checker = (torch.arange(16)[:, None] + torch.arange(16)[None]) % 2 * 2.0 - 1
    blurred = gaussian_blur(checker.expand(1, 3, 16, 16).float(), 1.0)
    assert blurred.abs().max() < 0.2
    first, second = TrainingPerturbation(1.0, 0.1, seed=3), TrainingPerturbation(1.0, 0.1, seed=3)
    x = torch.zeros(2, 3, 8, 8)
    assert torch.equal(first(x), second(x)) and first(x).std() > 0


def test_encoder_output_and_decoder_logits_have_the_right_shapes():
    encoder, decoder = FingerprintEncoder(12, 32, 8), FingerprintDecoderNet(12, 32, 8)
    x = torch.zeros(2, 3, 32, 32)
    bits = torch.ones(2, 12, dtype=torch.uint8)
    assert encoder(x, bits).shape == x.shape
    assert decoder(x).shape == (2, 12)
    with pytest.raises(ValueError, match="multiple of 8"):
        FingerprintEncoder(12, 30)


def test_database_keeps_fingerprints_apart_and_matches_the_nearest():
    db = FingerprintDatabase.allocate(["a", "b", "c"], 32, seed=1)
    m = db.matrix
    assert m.shape == (3, 32) and m.dtype == np.uint8
    assert min(np.sum(m[i] != m[j]) for i in range(3) for j in range(i + 1, 3)) >= 8
    noisy = m[[2, 0]].copy()
    noisy[:, :3] ^= 1
    names, agree = db.match(noisy)
    assert names.tolist() == ["c", "a"] and np.allclose(agree, 29 / 32)
    assert FingerprintDatabase.allocate(["a", "b", "c"], 32, seed=1).matrix.tolist() == m.tolist()


def test_database_round_trips_through_json(tmp_path):
    db = FingerprintDatabase.allocate(["x", "y"], 16, seed=0)
    db.save(tmp_path / "db.json")
    assert FingerprintDatabase.load(tmp_path / "db.json").matrix.tolist() == db.matrix.tolist()


def test_random_match_probability_is_a_binomial_tail():
    assert random_match_probability(4, 1.0) == 1 / 16
    assert random_match_probability(4, 0.75) == 5 / 16
    assert random_match_probability(32, 0.75) < random_match_probability(16, 0.75)


def test_tiny_model_embeds_and_the_attributor_conforms(tiny_model):
    from ganprint.plugins.stega.weights import load_model

    model = load_model(tiny_model)
    rng = np.random.default_rng(0)
    covers = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    stego = embed(model.encoder, covers, np.ones(TINY.n_bits, np.uint8))
    assert stego.shape == covers.shape and stego.dtype == np.uint8
    assert 0 < psnr(stego, covers) < 100
    assert 0.0 <= model.manifest["val"]["bitwise_acc"] <= 1.0
    check_detector(lambda: StegaAttributor(model=str(tiny_model)))


def test_a_changed_weight_file_is_refused(tiny_model, tmp_path):
    import shutil

    from ganprint.plugins.stega.weights import load_model

    copy = tmp_path / "model"
    shutil.copytree(tiny_model, copy)
    with open(copy / "decoder.safetensors", "r+b") as f:
        f.seek(-1, 2)
        f.write(b"\x00" if f.read(1) != b"\x00" else b"\x01")
    with pytest.raises(ValueError, match="sha256"):
        load_model(copy)


class ParityAttributor(StegaAttributor):
    """The attributor with a stand-in decoder: bit k is the parity of pixel k's red value (logit
    +1 for odd, -1 for even)."""

    def decode_logits(self, X: np.ndarray) -> np.ndarray:
        return (X[:, 0, :8, 0] % 2).astype(np.float64) * 2 - 1


def _carrying(bits: np.ndarray, n: int, rng: np.random.Generator, flips: int = 0) -> np.ndarray:
    X = rng.integers(0, 128, (n, 32, 32, 3), dtype=np.uint8) * 2
    X[:, 0, :8, 0] += np.broadcast_to(bits, (n, 8)).astype(np.uint8)
    X[:, 0, :flips, 0] ^= 1
    return X


def test_attributor_attributes_to_the_nearest_registered_fingerprint():
    rng = np.random.default_rng(1)
    a, b = np.array([1, 1, 1, 1, 0, 0, 0, 0]), np.array([0, 1, 0, 1, 0, 1, 0, 1])
    real = rng.integers(0, 256, (60, 32, 32, 3), dtype=np.uint8)
    X = np.concatenate([real, _carrying(a, 30, rng), _carrying(b, 30, rng)])
    y = np.array([REAL] * 60 + ["a"] * 30 + ["b"] * 30)
    method = ParityAttributor().fit(X, y)
    assert method.fingerprints_[1].tolist() == a.tolist() and method.fingerprints_[2].tolist() == b.tolist()
    test = np.concatenate([_carrying(a, 5, rng, flips=1), _carrying(b, 5, rng, flips=1)])
    assert method.predict(test).tolist() == ["a"] * 5 + ["b"] * 5
    assert np.allclose(method.score(test), 7 / 8) and np.allclose(method.confidence(test), 7 / 8)
    assert method.score(real).mean() < 7 / 8
    assert np.allclose(method.predict_proba(test).sum(axis=1), 1)


def test_weight_quantization_rounds_a_copy_and_noise_is_seeded():
    model = torch.nn.Linear(4, 3)
    before = [p.detach().clone() for p in model.parameters()]
    quantized = WeightQuantization(precision=0.1)(model, np.random.default_rng(0))
    for p, q in zip(before, quantized.parameters()):
        assert torch.allclose(q, torch.round(p * 10) / 10)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))
    a = WeightNoise(std=0.5)(model, np.random.default_rng(3))
    b = WeightNoise(std=0.5)(model, np.random.default_rng(3))
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert not torch.equal(next(a.parameters()), before[0])


def test_model_perturbations_refuse_images_and_bad_strengths():
    with pytest.raises(TypeError, match="generator"):
        WeightNoise()(np.zeros((1, 8, 8, 3), np.uint8), np.random.default_rng(0))
    with pytest.raises(ValueError):
        WeightQuantization(precision=0)
    with pytest.raises(ValueError):
        WeightNoise(std=-1)


def test_removal_subtracts_a_fixed_pattern_and_forgery_adds_it():
    rng = np.random.default_rng(0)
    pattern = np.where(rng.random((32, 32, 3)) < 0.5, -6.0, 6.0)
    clean = np.full((64, 32, 32, 3), 128, np.uint8) + rng.integers(-3, 4, (64, 32, 32, 3)).astype(np.uint8)
    marked = np.clip(clean + pattern, 0, 255).astype(np.uint8)
    estimate = estimate_fingerprint(marked)
    assert np.corrcoef(estimate.ravel(), pattern.ravel())[0, 1] > 0.5
    removed = FingerprintRemoval()(marked, rng)
    assert np.abs(removed.astype(float) - clean).mean() < np.abs(marked.astype(float) - clean).mean()
    forgery = FingerprintForgery().fit_estimate(marked)
    forged = forgery(clean, rng)
    assert np.corrcoef((forged.astype(float) - clean).mean(axis=0).ravel(), pattern.ravel())[0, 1] > 0.5
    assert marked.dtype == np.uint8 and forged.dtype == np.uint8


def test_forgery_needs_an_estimate_first():
    from ganprint import NotFittedError

    with pytest.raises(NotFittedError):
        FingerprintForgery()(np.zeros((2, 32, 32, 3), np.uint8), np.random.default_rng(0))


def test_protocol_scores_bits_only_on_images_that_record_them():
    from ganprint import protocol
    from ganprint.dataset import ArrayDataset

    rng = np.random.default_rng(2)
    a = np.array([1, 0, 1, 0, 1, 0, 1, 0])
    real = rng.integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    X = np.concatenate([real, _carrying(a, 30, rng)])
    labels = [REAL] * 30 + ["a"] * 30
    splits = (["train"] * 10 + ["val"] * 10 + ["test"] * 10) * 2
    dataset = ArrayDataset("mixed", X, labels, splits, bits=[None] * 30 + [a] * 30)
    assert dataset.n_bits == 8
    fitted = protocol.prepare(ParityAttributor, dataset, seed=0)
    results, outputs = protocol.evaluate(fitted, dataset, seed=0, batch_size=7)
    assert results["fingerprint"]["bitwise_acc"] == 1.0
    per_image = np.array(outputs.bits_correct)
    assert len(per_image) == 20 and np.isnan(per_image[:10]).all() and (per_image[10:] == 1.0).all()
    assert results["closed_world"]["acc"] > 0.5
