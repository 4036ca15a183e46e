"""The artificial-fingerprint pipeline end to end on the ``smoke`` preset (seconds of training):
fingerprinted crops, zoo GANs trained on them, the cached ``zoo:stega`` dataset and its bits."""
from __future__ import annotations

import numpy as np
import pytest

from ganprint import REAL
from ganprint.plugins.stega import publishers


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    import os

    os.environ["GANPRINT_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    import torch

    torch.set_num_threads(1)
    from ganprint.plugins.stega import pipeline

    try:
        yield pipeline, pipeline.preset("smoke")
    finally:
        os.environ.pop("GANPRINT_CACHE", None)


def test_zoo_stega_records_the_publishers_bits_and_none_for_real(smoke):
    pipeline, p = smoke
    dataset = pipeline.stega_dataset("smoke", progress=False)
    db = pipeline.database(p)
    assert set(dataset.sources) == {REAL, *p.families}
    for record in dataset.records():
        if record.source == REAL:
            assert record.bits is None
        else:
            assert record.bits == tuple(db.fingerprints[record.source].tolist())
    assert dataset.count("test") == {REAL: p.real[2], **{f: p.samples[2] for f in p.families}}
    again = pipeline.stega_dataset("smoke", progress=False)
    assert again.content_hash() == dataset.content_hash()


@pytest.mark.parametrize("entry", ["dataset-*.npz", "crops-*.npy"])
def test_a_zeroed_stega_cache_file_is_reported_and_rebuilt_not_used(smoke, entry, capsys):
    pipeline, p = smoke
    dataset = pipeline.stega_dataset("smoke", progress=False)
    (path, *_) = sorted(pipeline.work_dir(p).glob(entry))
    data = bytearray(path.read_bytes())
    data[len(data) // 2:] = bytes(len(data) - len(data) // 2)
    path.write_bytes(bytes(data))
    family = path.stem.removeprefix("crops-")
    if entry.startswith("crops"):
        crops = pipeline.fingerprinted_crops(p, family, pipeline.steganography_model(p, progress=False))
        assert crops[len(crops) // 2:].any()
    again = pipeline.stega_dataset("smoke", progress=False)
    assert f"cached file {path} does not match its recorded sha256" in capsys.readouterr().err
    assert again.content_hash() == dataset.content_hash()
    assert path.exists()  # built again


def test_fingerprinted_crops_differ_from_clean_ones_and_are_cached(smoke):
    from ganprint.datasets.gan_training import training_crops

    pipeline, p = smoke
    model = pipeline.get_model(p.stega, progress=False)
    family = p.families[0]
    stego = pipeline.fingerprinted_crops(p, family, model)
    clean = training_crops(pipeline.generator_config(p, family))
    assert stego.shape == clean.shape and stego.dtype == np.uint8 and not np.array_equal(stego, clean)
    assert (pipeline.work_dir(p) / f"crops-{family}.npy").exists()


def test_registry_opens_zoo_colon_stega(smoke):
    from ganprint.registry import load_registry

    dataset = load_registry().open_dataset("zoo:stega:smoke")
    assert dataset.name == "zoo:stega:smoke" and dataset.n_bits == smoke[1].stega.n_bits


def test_stega_plugin_decodes_zoo_stega_through_the_protocol(smoke):
    from ganprint import protocol
    from ganprint.plugins.stega.attributor import StegaAttributor
    from ganprint.plugins.stega.weights import model_dir

    pipeline, p = smoke
    dataset = pipeline.stega_dataset("smoke", progress=False)
    factory = lambda: StegaAttributor(model=str(model_dir(p.stega)))  # noqa: E731
    fitted = protocol.prepare(factory, dataset, seed=0)
    results, _ = protocol.evaluate(fitted, dataset, seed=0)
    assert 0.0 <= results["fingerprint"]["bitwise_acc"] <= 1.0
    assert {"detection", "closed_world", "open_world"} <= set(results)


def test_data_secrecy_reports_removal_and_forgery(smoke):
    from ganprint.plugins.stega.evaluation import data_secrecy

    _, p = smoke
    result = data_secrecy(p.stega, n_estimate=16, n_test=8)
    for key in ("bitwise", "removal_residual", "forgery_residual", "removal_oracle", "forgery_oracle"):
        assert 0.0 <= result[key] <= 1.0
    assert result["image_independent_share"] >= 0.0


def test_a_fine_tuned_preset_names_the_model_it_starts_from(smoke):
    pipeline, p = smoke
    from dataclasses import replace

    base = replace(p.stega, ramp_steps=p.stega.ramp_steps + 1)
    fine = pipeline.refined(base, lambda_final=2 * base.lambda_final)
    staged = replace(p, name="staged", stega=fine, stega_base=base)
    with pytest.raises(ValueError, match="stega_base"):
        replace(p, stega=fine)  # no base config: it could not be trained from scratch
    with pytest.raises(ValueError, match="stega_base"):
        replace(p, stega=fine, stega_base=p.stega)  # a base whose key is not stega.base
    from ganprint.plugins.stega.weights import get_model

    with pytest.raises(FileNotFoundError):
        get_model(base, train=False)
    model = pipeline.steganography_model(staged, progress=False)  # trains the base, then the fine-tune
    assert model.config == fine
    assert get_model(base, train=False).config == base  # the base was trained and cached first


def test_a_recipe_trial_trains_its_model_and_one_gan_and_scores_the_transfer(smoke):
    pipeline, p = smoke
    from dataclasses import replace

    from ganprint.plugins.stega.evaluation import recipe_trial
    from ganprint.plugins.stega.weights import get_model

    base = replace(p.stega, noise_std=0.1)
    fine = pipeline.refined(base, lambda_final=2 * base.lambda_final)
    row = recipe_trial(fine, "dcgan", 2, base=base, n=8, gan_width=p.width, n_train=p.n_train, progress=False)
    assert get_model(fine, train=False).config == fine and get_model(base, train=False).config == base
    for key in ("val_bitwise", "data_bitwise", "gan_bitwise"):
        assert 0.0 <= row[key] <= 1.0
    assert row["data_psnr"] > 0 and row["swd_fp_vs_train"] > 0 and row["iterations"] == 2


def test_a_generator_moving_average_reaches_the_gans_and_their_cache_key_only_when_set(smoke):
    pipeline, p = smoke
    from dataclasses import replace

    averaged = replace(p, ema=0.99)
    assert pipeline.generator_config(averaged, "dcgan").ema == 0.99
    assert pipeline.generator_config(p, "dcgan").ema is None
    assert "ema" not in p.as_dict() and averaged.as_dict()["ema"] == 0.99
    assert pipeline.work_dir(averaged) != pipeline.work_dir(p)


def test_the_steganography_model_s_image_size_is_the_gans_and_the_dataset_s(smoke):
    pipeline, p = smoke
    from dataclasses import replace

    small = replace(p, name="smoke16", stega=replace(p.stega, image_size=16))
    assert pipeline.generator_config(small, "dcgan").image_size == 16
    assert pipeline.generator_config(p, "dcgan").image_size == p.stega.image_size == 32
    pipeline.PRESETS["smoke16"] = small
    try:
        dataset = pipeline.stega_dataset("smoke16", progress=False)
    finally:
        del pipeline.PRESETS["smoke16"]
    assert dataset.load("train").images.shape[1:] == (16, 16, 3)


@pytest.mark.parametrize("name", ["default", "small"])
def test_the_shipped_presets_ship_their_models_and_generators(name):
    """Building zoo:stega from a fresh install must not train for an hour: each shipped preset's
    steganography model, its base and its fingerprinted generators are all in the package."""
    import json

    from ganprint.cache import config_key
    from ganprint.plugins.stega import pipeline
    from ganprint.plugins.stega.weights import SHIPPED, model_dir

    assert name in pipeline.SHIPPED_PRESETS
    p = pipeline.preset(name)
    assert model_dir(p.stega).parent == SHIPPED and model_dir(p.stega_base).parent == SHIPPED
    manifest = json.loads((pipeline.shipped_generators(p) / "manifest.json").read_text())
    assert manifest["preset_key"] == config_key(p.as_dict())
    for family in p.families:
        assert f"{family}-{p.iterations_of(family)}" in manifest["sha256"]


def test_the_attributor_picks_the_shipped_model_of_the_image_size():
    from ganprint.plugins.stega import pipeline
    from ganprint.plugins.stega.attributor import StegaAttributor

    for name in pipeline.SHIPPED_PRESETS:
        p = pipeline.preset(name)
        size = p.stega.image_size
        attributor = StegaAttributor()
        images = np.zeros((2, size, size, 3), np.uint8)
        assert attributor.decode(images).shape == (2, p.stega.n_bits)
        assert attributor._stega(size).config == p.stega
        with pytest.raises(ValueError, match="reads"):
            attributor.decode(np.zeros((2, size // 2, size // 2, 3), np.uint8))  # the model stays that size's
    with pytest.raises(ValueError, match="no shipped steganography model reads 48x48"):
        StegaAttributor().decode(np.zeros((1, 48, 48, 3), np.uint8))


def test_the_cache_of_crops_and_gans_ignores_the_decoder_phase(smoke):
    pipeline, p = smoke
    from dataclasses import replace

    phased = replace(p, stega=replace(p.stega, decoder_epochs=2, attenuation=0.3))
    assert pipeline.work_dir(phased) == pipeline.work_dir(p)
    assert pipeline.work_dir(replace(p, stega=replace(p.stega, noise_std=0.1))) != pipeline.work_dir(p)


def test_open_world_holds_out_each_publisher_in_turn(smoke):
    pipeline, p = smoke
    from ganprint.plugins.stega.evaluation import attribution_table

    table = attribution_table(p, n=6)
    each = [table[f"open_world:{f}"] for f in p.families]
    assert [r["held_out"] for r in each] == [[f] for f in p.families]
    assert table["open_world"]["acc"] == pytest.approx(np.mean([r["acc"] for r in each]))
    one = attribution_table(p, n=6, held_out=[p.families[0]])
    assert one["open_world"] == each[0] and not any(k.startswith("open_world:") for k in one)


def test_generators_trained_in_parallel_workers_equal_those_trained_in_process(smoke):
    pipeline, p = smoke
    from dataclasses import replace

    parallel, serial = replace(p, name="parallel", seed=1), replace(p, name="serial", seed=1)
    pipeline.train_generators(parallel, ["dcgan", "sngan"], controls=["dcgan"], jobs=2, progress=False)
    pipeline.train_generators(serial, ["dcgan", "sngan"], controls=["dcgan"], jobs=1, progress=False)
    for family in ("dcgan", "sngan"):
        assert (pipeline.fingerprinted_generator(parallel, family)[1]["sha256"]
                == pipeline.fingerprinted_generator(serial, family)[1]["sha256"])
    assert pipeline.clean_generator(parallel, "dcgan")[1]["sha256"] == pipeline.clean_generator(serial, "dcgan")[1]["sha256"]


def test_ship_copies_the_model_and_generators_and_drops_an_older_version_s(smoke, tmp_path, monkeypatch):
    import json

    from ganprint.cache import config_key

    pipeline, p = smoke
    monkeypatch.setattr(publishers, "SHIPPED", tmp_path)
    monkeypatch.setattr(publishers, "SHIPPED_GANS", tmp_path / "gans")
    (tmp_path / "gans" / p.name).mkdir(parents=True)
    (tmp_path / "gans" / p.name / "mmdgan-1200.safetensors").write_bytes(b"an older version's generator")
    (tmp_path / "gans" / "other").mkdir()
    (tmp_path / "gans" / "other" / "dcgan-10.safetensors").write_bytes(b"another preset's generator")
    pipeline.ship(p)
    assert (tmp_path / config_key(p.stega.as_dict()) / "manifest.json").exists()
    manifest = json.loads((tmp_path / "gans" / p.name / "manifest.json").read_text())
    assert manifest["preset_key"] == config_key(p.as_dict())
    assert sorted(manifest["sha256"]) == sorted(f"{f}-{p.iterations_of(f)}" for f in p.families)
    assert sorted(x.name for x in (tmp_path / "gans" / p.name).iterdir()) == sorted(
        ["manifest.json"] + [f"{tag}{suffix}" for tag in manifest["sha256"] for suffix in (".json", ".safetensors")])
    assert (tmp_path / "gans" / "other" / "dcgan-10.safetensors").exists()


def test_the_crop_sweep_keeps_its_fraction_of_the_side_at_other_sizes():
    from ganprint.plugins.stega.report import IMAGE_SWEEPS, image_sweep_strengths

    assert image_sweep_strengths(32) == IMAGE_SWEEPS
    at64 = image_sweep_strengths(64)
    assert at64["crop"] == ("size", [2 * size for size in IMAGE_SWEEPS["crop"][1]])
    assert {k: v for k, v in at64.items() if k != "crop"} == {k: v for k, v in IMAGE_SWEEPS.items() if k != "crop"}


def test_the_gans_precision_per_preset_and_family_reaches_their_config_and_is_keyed_only_when_set(smoke):
    from dataclasses import replace

    pipeline, p = smoke
    assert "precision" not in p.as_dict() and pipeline.generator_config(p, "dcgan").precision == ""
    fast = replace(p, precision="bf16")
    assert fast.as_dict()["precision"] == "bf16" and pipeline.generator_config(fast, "dcgan").precision == "bf16"
    mixed = replace(p, family_precision={p.families[0]: "bf16"})
    assert [pipeline.generator_config(mixed, f).precision for f in p.families[:2]] == ["bf16", ""]
    # their generators are stored under the same names, so they must not share a folder with float32 ones
    assert len({pipeline.work_dir(fast), pipeline.work_dir(mixed), pipeline.work_dir(p)}) == 3


def test_the_gans_adam_settings_per_family_reach_their_config_and_are_keyed_only_when_set(smoke):
    from dataclasses import replace

    pipeline, p = smoke
    assert "family_adam" not in p.as_dict() and pipeline.generator_config(p, "dcgan").lr is None
    first, second = p.families[:2]
    ttur = replace(p, family_adam={first: {"lr": (1e-4, 4e-4), "betas": (0.0, 0.9)}})
    configs = [pipeline.generator_config(ttur, f) for f in (first, second)]
    assert (configs[0].lr, configs[0].betas) == ((1e-4, 4e-4), (0.0, 0.9))
    assert (configs[1].lr, configs[1].betas) == (None, None)
    assert pipeline.work_dir(ttur) != pipeline.work_dir(p)
    with pytest.raises(ValueError, match="family_adam"):
        replace(p, family_adam={"progan": {"lr": (1e-4, 4e-4)}})  # not a publisher
    with pytest.raises(ValueError, match="family_adam"):
        replace(p, family_adam={first: {"momentum": 0.9}})


def test_eval_refuses_a_sweep_family_that_is_not_a_publisher(tmp_path, capsys):
    from ganprint.benchmark.cli import main

    assert main(["stega", "eval", "--preset", "smoke", "--sweep-family", "progan", "--out", str(tmp_path)]) == 2
    assert "not a publisher of smoke" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before anything ran


def test_the_transfer_curve_is_what_the_final_generator_carries_and_leaves_training_unchanged(smoke, monkeypatch):
    from dataclasses import replace

    from ganprint.plugins.stega.evaluation import bitwise, gan_samples

    pipeline, p = smoke
    family = p.families[0]
    curved, plain = replace(p, name="curved", seed=2), replace(p, name="plain", seed=2)
    monkeypatch.setattr(publishers, "CHECKPOINT_EVERY", 1)
    monkeypatch.setattr(publishers, "CURVE_EVERY", 1)  # a point after every iteration, in mid-training
    generator, meta = pipeline.fingerprinted_generator(curved, family, progress=False)
    monkeypatch.setattr(publishers, "CURVE_EVERY", 10 ** 9)
    assert meta["sha256"] == pipeline.fingerprinted_generator(plain, family, progress=False)[1]["sha256"]
    curve = pipeline.transfer_curve(curved, family)
    assert list(curve) == list(range(1, p.iterations_of(family) + 1))
    samples = gan_samples(generator, pipeline.CURVE_SAMPLES, pipeline.CURVE_SEED)
    model = pipeline.steganography_model(curved, progress=False)
    assert curve[p.iterations_of(family)] == round(bitwise(model, samples, pipeline.database(curved).fingerprints[family]), 4)
    assert pipeline.transfer_curve(plain, family) == {}


def test_eval_writes_every_table_sweep_and_curve_of_a_preset(smoke, tmp_path, capsys):
    import json

    from ganprint.benchmark.cli import main

    pipeline, p = smoke
    assert main(["stega", "eval", "--preset", "smoke", "--n", "8", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "stega_report.json").read_text())
    assert {"table1", "table2", "secrecy", "model_sweeps", "image_sweeps", "transfer_curves"} <= set(report)
    assert set(report["transfer_curves"]) == set(p.families)
    assert [row["family"] for row in report["table1"]] == list(p.families)
    for name in ("sweep_noise", "sweep_jpeg", "sweep_weight_noise", "swd_weight_quantize"):
        assert (tmp_path / f"{name}.png").stat().st_size > 0
    assert "Table 1" in capsys.readouterr().out


def test_tables_of_some_publishers_are_their_rows_of_the_whole_table(smoke):
    """``families``: one publisher's Table 1 and secrecy rows are its rows of the full tables
    (the one-family script of docs/results/stega); a family that is not a publisher is refused."""
    from ganprint.plugins.stega import evaluation

    pipeline, p = smoke
    family = p.families[-1]
    assert evaluation.table1(p, 8, controls=(), families=[family]) == [
        row for row in evaluation.table1(p, 8, controls=()) if row["family"] == family]
    assert evaluation.secrecy(p, 16, 8, families=[family]) == [
        row for row in evaluation.secrecy(p, 16, 8) if row["family"] == family]
    with pytest.raises(ValueError, match="not a publisher"):
        evaluation.table1(p, 8, families=["progan"])


def test_build_refuses_families_that_are_not_publishers_before_training(tmp_path, capsys):
    from ganprint.benchmark.cli import main

    assert main(["stega", "build", "--preset", "smoke", "--families", "dcgan,progan", "--no-dataset"]) == 2
    assert "progan: not a publisher of smoke" in capsys.readouterr().err
    assert main(["stega", "build", "--preset", "smoke", "--controls", "stylegan", "--no-dataset"]) == 2
