"""The ATS secrecy test of Yu et al. 2021, App. A.2 (plugins/stega/ats.py): SPAM features, and an
attack that finds a fingerprint it can see and stays at chance when there is nothing to see."""
from __future__ import annotations

import numpy as np
import pytest

from ganprint.plugins.stega.ats import ats_attack, spam_features


def smooth_images(n: int, size: int, seed: int) -> np.ndarray:
    """Random smooth colour images (a sum of a few random gradients and blobs), uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        image = np.zeros((size, size, 3))
        for _ in range(4):
            cy, cx, width = rng.uniform(0, 1, 2).tolist() + [rng.uniform(0.1, 0.5)]
            blob = np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * width ** 2))
            image += rng.uniform(-80, 80, 3) * blob[..., None]
        image += 128 + rng.uniform(-40, 40, 3) * (x + y)[..., None] + rng.normal(0, 1.5, image.shape)
        out[i] = np.clip(np.rint(image), 0, 255)
    return out


def test_spam_of_a_flat_image_is_all_on_zero_differences():
    features = spam_features(np.full((2, 8, 8, 3), 77, np.uint8))
    assert features.shape == (2, 3 * 2 * 343)
    blocks = features.reshape(2, 6, 7, 7, 7)
    assert np.all(blocks[:, :, 3, 3, 3] == 1.0)  # P(d3 = 0 | d1 = 0, d2 = 0) = 1
    assert blocks.sum() == 2 * 6


def test_spam_transition_probabilities_sum_to_one_where_defined():
    features = spam_features(smooth_images(3, 16, 0)).reshape(3, 6, 49, 7)
    sums = features.sum(axis=-1)
    assert np.all((np.abs(sums - 1) < 1e-5) | (sums < 1 + 1e-5))
    assert np.all(features >= 0) and np.any(np.abs(sums - 1) < 1e-5)


def test_spam_sees_the_direction_of_a_pattern():
    """A vertical stripe pattern changes the horizontal differences, not the vertical ones."""
    images = smooth_images(4, 16, 1)
    stripes = images.astype(np.int16)
    stripes[:, :, ::2] += 3
    stripes = np.clip(stripes, 0, 255).astype(np.uint8)
    a, b = spam_features(images), spam_features(stripes)
    assert not np.allclose(a, b)


def _pattern(size: int, amplitude: int) -> np.ndarray:
    checker = (np.indices((size, size)).sum(axis=0) % 2) * 2 - 1
    return (amplitude * checker)[..., None].repeat(3, axis=-1)


def _add(images: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    return np.clip(images.astype(np.int16) + pattern, 0, 255).astype(np.uint8)


def test_ats_finds_a_fingerprint_its_encoder_reproduces():
    """The publisher's and the attacker's encoders add the same visible pattern: the artificial
    training set teaches the SVM the count of patterns, and the attack is far above chance."""
    n, size = 40, 16
    pattern = _pattern(size, 1)
    clean = smooth_images(2 * n, size, 2)
    images = np.concatenate([_add(clean[:n], pattern), clean[n:]])
    truth = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    result = ats_attack(images, truth, lambda x, rng: _add(x, pattern), seed=0)
    assert result["accuracy"] > 0.9
    assert result["supervised_acc"] > 0.9 and result["artificial_cv_acc"] > 0.9
    assert result["n_fingerprinted"] == result["n_clean"] == n


def test_ats_is_at_chance_when_the_attacker_s_encoder_does_not_reproduce_the_fingerprint():
    """The fingerprint is plainly visible (a supervised SVM finds it), but the attacker's encoder
    adds nothing: the artificial training set's two classes are the same images, nothing can be
    learnt from them, and the attack scores about 0.5 (the paper's 0.502 is this case: an
    independently trained encoder that does not couple with the publisher's)."""
    n, size = 100, 16
    clean = smooth_images(2 * n, size, 3)
    images = np.concatenate([_add(clean[:n], _pattern(size, 1)), clean[n:]])
    truth = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    result = ats_attack(images, truth, lambda x, rng: x.copy(), seed=0)
    assert result["supervised_acc"] > 0.9
    assert abs(result["accuracy"] - 0.5) < 0.12
    assert result["artificial_cv_acc"] < 0.65


def test_ats_refuses_a_test_set_of_one_class_and_a_wrong_encoder():
    images = smooth_images(6, 8, 4)
    with pytest.raises(ValueError, match="both"):
        ats_attack(images, np.ones(6, bool), lambda x, rng: x)
    with pytest.raises(ValueError, match="one bool per image"):
        ats_attack(images, np.ones(5, bool), lambda x, rng: x)
    with pytest.raises(ValueError, match="uint8"):
        ats_attack(images, np.r_[np.ones(3, bool), np.zeros(3, bool)], lambda x, rng: x.astype(np.float32))


def test_bench_stega_ats_reports_the_attack_beside_the_averaging_attacks(tmp_path, monkeypatch, capsys):
    """End to end on the smoke preset: the attacker's encoder is trained from another seed (its
    config differs from the publisher's only by the seed and the decoder phase), and the command
    prints and writes the ATS rows and both averaging attacks."""
    import json

    import torch

    from ganprint.benchmark.cli import main
    from ganprint.cache import config_key
    from ganprint.plugins.stega import pipeline

    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    torch.set_num_threads(1)
    p = pipeline.preset("smoke")
    [attacker] = pipeline.independent_configs(p, 1)
    assert attacker.seed == 1 and attacker.as_dict() | {"seed": p.stega.seed} == p.stega.as_dict()
    with pytest.raises(ValueError, match="seed other than"):
        pipeline.independent_configs(p, p.stega.seed)
    assert main(["stega", "ats", "--preset", "smoke", "--n", "8", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "ATS attack" in printed and "Averaging attacks" in printed
    report = json.loads((tmp_path / "out" / "stega_ats.json").read_text())
    assert report["attacker"]["config"] == attacker.as_dict()
    assert config_key(report["attacker"]["config"]) != config_key(p.stega.as_dict())
    rows = report["rows"]
    assert [r["images"].split()[0] for r in rows] == ["dcgan", "real"]
    assert all(0 <= r["accuracy"] <= 1 and r["n_fingerprinted"] == r["n_clean"] == 8 for r in rows)
    assert {row["family"] for row in report["averaging_gan"]} == set(p.families)
    assert main(["stega", "ats", "--preset", "smoke", "--seed", "0"]) == 2
    assert report["attacker"]["recipe"] == "full" and report["attacker"]["psnr_on_test_crops"] > 0


def test_the_base_attacker_is_the_preset_s_stage_one_from_another_seed_at_the_preset_s_fidelity(tmp_path, monkeypatch):
    """The cheaper attacker: the base model of the independent configs, its residual strength
    calibrated to the preset's PSNR target (a tiny fine-tuned preset)."""
    from dataclasses import replace

    import torch

    from ganprint.cache import config_key
    from ganprint.plugins.stega import pipeline
    from ganprint.plugins.stega.config import psnr, random_bits
    from ganprint.plugins.stega.train import embed
    from ganprint.plugins.stega.weights import real_crops

    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    torch.set_num_threads(1)
    smoke = pipeline.preset("smoke")
    base = replace(smoke.stega, noise_std=0.1)
    p = replace(smoke, name="tiny-tuned", stega=pipeline.refined(base, max_epochs=1, psnr_target=30.0),
                stega_base=base)
    model = pipeline.independent_model(p, 1, recipe="base", progress=False)
    attacker_base, _ = pipeline.independent_configs(p, 1)
    assert config_key(model.config.as_dict()) == config_key(attacker_base.as_dict()) and model.config.seed == 1
    _, val = real_crops(attacker_base)
    bits = random_bits(len(val), base.n_bits, np.random.default_rng(5))
    assert psnr(embed(model.encoder, val, bits), val) == pytest.approx(30.0, abs=0.5)
    with pytest.raises(ValueError, match="recipe"):
        pipeline.independent_model(p, 1, recipe="half")


def test_a_shorter_clean_control_continues_into_the_longer_one_and_never_passes_for_shorter(tmp_path, monkeypatch,
                                                                                            capsys):
    """--clean-iterations: a control trained for fewer iterations shares the full control's
    checkpoint; asking for fewer iterations than a checkpoint holds is refused (it would return
    the longer-trained generator under the shorter name)."""
    import json

    import torch

    from ganprint.benchmark.cli import main
    from ganprint.plugins.stega import pipeline

    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    torch.set_num_threads(1)
    p = pipeline.preset("smoke")
    _, short = pipeline.clean_generator(p, "dcgan", progress=False, iterations=2)
    _, full = pipeline.clean_generator(p, "dcgan", progress=False)
    assert short["config"]["iterations"] == 2 and full["config"]["iterations"] == p.iterations == 3
    with pytest.raises(ValueError, match="more than"):
        pipeline.clean_generator(p, "dcgan", progress=False, iterations=1)
    assert main(["stega", "ats", "--preset", "smoke", "--n", "6", "--clean-iterations", "1", "--no-averaging"]) == 2
    assert "more than" in capsys.readouterr().err
    out = tmp_path / "out"
    assert main(["stega", "ats", "--preset", "smoke", "--n", "6", "--clean-iterations", "2", "--no-averaging",
                 "--publisher-control", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ATS attack" in printed and "Averaging" not in printed
    rows = json.loads((out / "stega_ats.json").read_text())["rows"]
    assert [(r["images"].split()[0], r["encoder"]) for r in rows] == [
        ("dcgan", "independent"), ("dcgan", "publisher's"), ("real", "independent"), ("real", "publisher's")]
    assert rows[0]["clean_iterations"] == 2


def test_every_stage_of_a_three_stage_recipe_is_re_seeded_for_the_attacker(tmp_path, monkeypatch, capsys) -> None:
    """A preset whose base is itself fine-tuned (the default's shape, in smoke size): its model trains
    through the whole chain; the attacker's chain has one stage per stage of the publisher's,
    each from the attacker's seed and each fine-tuned from the attacker's stage before, so none
    starts from the publisher's weights; the ATS command trains all three and reports their
    time."""
    import json
    from dataclasses import replace

    import torch

    from ganprint.benchmark.cli import main
    from ganprint.cache import config_key
    from ganprint.plugins.stega import pipeline, presets, weights
    from ganprint.plugins.stega.weights import MANIFEST, get_model, load_model, model_dir

    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    torch.set_num_threads(1)
    smoke = pipeline.preset("smoke")
    root = replace(smoke.stega, noise_std=0.1)
    middle = pipeline.refined(root, blur_sigma=1.0)
    p = replace(smoke, name="three-stage", stega=pipeline.refined(middle, decoder_epochs=1, attenuation=0.3),
                stega_base=middle)
    with pytest.raises(FileNotFoundError, match="train it first"):
        pipeline.independent_configs(p, 1)  # no preset names the root, and it is not trained
    publisher = [root, middle, p.stega]
    monkeypatch.setitem(presets.PRESETS, "holder", replace(smoke, name="holder", stega=middle, stega_base=root))
    assert presets.recipe_chain(p) == publisher
    pipeline.steganography_model(p, progress=False)  # trains the whole chain, the root first
    assert all((model_dir(c) / MANIFEST).exists() for c in publisher)
    loaded = []
    monkeypatch.setattr(weights, "load_model", lambda folder: loaded.append(folder) or load_model(folder))
    pipeline.steganography_model(p, progress=False)
    assert loaded == [model_dir(p.stega)]  # a trained model is read alone, not its stages again
    chain = pipeline.independent_configs(p, 1)
    assert len(chain) == 3 and [c.seed for c in chain] == [1, 1, 1]
    assert chain[0].base == "" and [c.base for c in chain[1:]] == [config_key(c.as_dict()) for c in chain[:-1]]
    for attacker, own in zip(chain, publisher):
        assert replace(attacker, seed=own.seed, base=own.base, decoder_epochs=own.decoder_epochs,
                       attenuation=own.attenuation) == own
    assert not {config_key(c.as_dict()) for c in chain} & {config_key(c.as_dict()) for c in publisher}
    assert chain[-1].decoder_epochs == 0 and chain[-1].attenuation == 0.0
    monkeypatch.setattr(pipeline, "preset", lambda name: p)
    assert main(["stega", "ats", "--preset", "three-stage", "--n", "6", "--no-averaging", "--out",
                 str(tmp_path / "out")]) == 0
    assert "trained in" in capsys.readouterr().out
    attacker = json.loads((tmp_path / "out" / "stega_ats.json").read_text())["attacker"]
    assert attacker["config"] == chain[-1].as_dict()
    assert attacker["base_train_seconds"] == pytest.approx(sum(get_model(c).manifest["train_seconds"] for c in chain[:2]))


def test_a_base_whose_manifest_holds_another_config_is_refused(tmp_path, monkeypatch) -> None:
    """A cached base model whose manifest names another config (a corrupt or swapped cache entry)
    would put another recipe into the attacker's chain: refused."""
    import json
    from dataclasses import replace

    import torch

    from ganprint.plugins.stega import pipeline
    from ganprint.plugins.stega.weights import MANIFEST, get_model, model_dir

    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    torch.set_num_threads(1)
    smoke = pipeline.preset("smoke")
    root = replace(smoke.stega, noise_std=0.1)
    middle = pipeline.refined(root, blur_sigma=1.0)
    p = replace(smoke, name="three-stage", stega=pipeline.refined(middle), stega_base=middle)
    get_model(root, progress=False)
    manifest = model_dir(root) / MANIFEST
    saved = json.loads(manifest.read_text())
    manifest.write_text(json.dumps(saved | {"config": saved["config"] | {"noise_std": 0.2}}))
    with pytest.raises(ValueError, match="holds the config of another model"):
        pipeline.independent_configs(p, 1)

