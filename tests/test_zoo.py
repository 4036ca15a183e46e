"""The GAN zoo: families, resumable training, SWD, shipped-weights checks, cached builds."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from ganprint.dataset import DatasetError
from ganprint.datasets import zoo, zoo_weights
from ganprint.datasets.gan_families import FAMILIES
from ganprint.datasets.gan_training import GeneratorConfig, generator_module, sample, train_generator
from ganprint.datasets.realset import sample_crops
from ganprint.datasets.swd import swd
from ganprint.datasets.zoo_presets import PRESETS
from ganprint.training import torch_threads

TINY = GeneratorConfig("dcgan", image_size=16, width=4, iterations=12, batch_size=8, n_train=64)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_trains_a_step_and_samples_images(family):
    generator, log = train_generator(replace(TINY, family=family, iterations=2), progress=False)
    images = sample(generator, 5, seed=0)
    assert images.shape == (5, 16, 16, 3) and images.dtype == np.uint8
    assert np.isfinite([v for row in log for v in row.values()]).all()


def test_mmd_witness_keeps_a_gradient_when_the_critic_features_drift_far_apart():
    from ganprint.datasets import gan_families

    generator = torch.Generator().manual_seed(0)
    real = 1000 * torch.randn(16, 8, generator=generator, dtype=torch.float64)
    fake = real + 500
    point = (real[:4] + fake[:4]).div(2).requires_grad_(True)
    witness = gan_families._kernel_mean(point, real) - gan_families._kernel_mean(point, fake)
    grad, = torch.autograd.grad(witness.sum(), point)
    assert grad.norm(dim=1).min() > 1  # the rational-quadratic kernels alone give ~5e-6 here
    assert gan_families._mmd2(real, fake) > 0


def test_same_seed_same_generator_other_seed_other_generator():
    a = sample(train_generator(TINY, progress=False)[0], 8, seed=1)
    b = sample(train_generator(TINY, progress=False)[0], 8, seed=1)
    c = sample(train_generator(replace(TINY, seed=1), progress=False)[0], 8, seed=1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("config", [replace(TINY, family="progan"),
                                    replace(TINY, augment="translation,cutout", ema=0.9)], ids=["progan", "augmented"])
def test_training_interrupted_at_a_checkpoint_resumes_to_identical_weights(tmp_path, config):
    straight, _ = train_generator(config, tmp_path / "a.pt", progress=False, checkpoint_every=5)

    class Interrupt(Exception):
        pass

    def stop(iteration):
        if iteration == 5:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_generator(config, tmp_path / "b.pt", progress=False, checkpoint_every=5, on_checkpoint=stop)
    resumed, _ = train_generator(config, tmp_path / "b.pt", progress=False, checkpoint_every=5)
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), name


def test_sha256_check_rejects_a_tampered_weights_file(tmp_path):
    from ganprint.training import save_weights

    module = generator_module(TINY)
    save_weights(tmp_path / "g.safetensors", module)
    result = {"config": TINY.as_dict(), "iterations": TINY.iterations}
    name = zoo_weights.install("smoke", result, tmp_path / "g.safetensors", tmp_path / "weights")
    loaded = zoo_weights.load_generator("smoke", TINY, tmp_path / "weights")
    assert all(torch.equal(p, q) for p, q in zip(loaded.state_dict().values(), module.state_dict().values()))
    path = tmp_path / "weights" / name
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        zoo_weights.load_generator("smoke", TINY, tmp_path / "weights")


def test_float16_weights_are_stored_half_size_and_their_samples_are_what_the_swd_measured(tmp_path):
    from safetensors.torch import load_file

    from ganprint.datasets.zoo_train import swd_reference, train_one
    from ganprint.training import load_weights

    result = train_one(TINY, tmp_path / "half", progress=False, weights_dtype="float16")
    full = train_one(TINY, tmp_path / "full", progress=False)
    half_file, full_file = (tmp_path / d / f"{TINY.name}.safetensors" for d in ("half", "full"))
    assert {t.dtype for t in load_file(str(half_file)).values() if t.is_floating_point()} == {torch.float16}
    assert half_file.stat().st_size < 0.6 * full_file.stat().st_size
    loaded = load_weights(half_file, generator_module(TINY)).eval()
    assert {t.dtype for t in loaded.state_dict().values() if t.is_floating_point()} == {torch.float32}
    base, _ = swd_reference(TINY)
    assert result["swd"] == round(swd(sample(loaded, len(base), seed=TINY.seed + 999), base), 2)
    assert result["weights_dtype"] == "float16" and full["weights_dtype"] == "float32"


def test_train_preset_trains_only_the_named_generators_and_rejects_unknown_names():
    from ganprint.datasets.zoo_train import train_dir, train_preset

    preset = PRESETS["smoke"]
    results = train_preset(preset, progress=False, only=["dcgan-s1-d0"])
    assert [r["config"]["seed"] for r in results] == [1]
    assert sorted(p.name for p in train_dir("smoke").glob("*.json")) == ["dcgan-s1-d0.json"]
    with pytest.raises(ValueError, match="dcgan-s9-d0"):
        train_preset(preset, progress=False, only=["dcgan-s9-d0"])


def test_a_staged_preset_keeps_its_weights_outside_the_installed_package():
    assert zoo_weights.weights_dir(replace(PRESETS["default"], staged=True)) == zoo_weights.STAGED_DIR
    assert zoo_weights.weights_dir(PRESETS["default"]) == zoo_weights.WEIGHTS_DIR
    assert zoo_weights.STAGED_DIR.parent == zoo_weights.WEIGHTS_DIR.parent
    assert zoo_weights.STAGED_DIR.name != zoo_weights.WEIGHTS_DIR.name


def test_promoting_a_staged_preset_replaces_the_target_weights_only_when_complete(tmp_path):
    from ganprint.training import save_weights

    target = PRESETS["smoke"]
    staged_dir, shipped_dir = tmp_path / "staged", tmp_path / "shipped"
    save_weights(tmp_path / "old.safetensors", generator_module(TINY))
    zoo_weights.install("smoke", {"config": TINY.as_dict(), "iterations": TINY.iterations},
                        tmp_path / "old.safetensors", shipped_dir)
    zoo_weights.install("paper", {"config": TINY.as_dict(), "iterations": TINY.iterations},
                        tmp_path / "old.safetensors", shipped_dir)
    modules = {}
    for i, config in enumerate(target.generators()):
        torch.manual_seed(i)
        modules[config.name] = generator_module(config)
        save_weights(tmp_path / f"{config.name}.safetensors", modules[config.name], dtype=torch.float16)
        if i:
            zoo_weights.install("next", {"config": config.as_dict(), "iterations": config.iterations},
                                tmp_path / f"{config.name}.safetensors", staged_dir)
    before = sorted(p.name for p in shipped_dir.iterdir())
    with pytest.raises(DatasetError, match="not finished"):
        zoo_weights.promote("next", target, staged_dir, shipped_dir)
    assert sorted(p.name for p in shipped_dir.iterdir()) == before
    first = target.generators()[0]
    zoo_weights.install("next", {"config": first.as_dict(), "iterations": first.iterations},
                        tmp_path / f"{first.name}.safetensors", staged_dir)
    promoted = zoo_weights.promote("next", target, staged_dir, shipped_dir)
    assert len(promoted) == len(target.generators())
    manifest = zoo_weights.read_manifest(shipped_dir)
    assert sorted(manifest) == sorted(["paper/" + TINY.name] + [f"smoke/{c.name}" for c in target.generators()])
    assert sorted(p.name for p in shipped_dir.iterdir()) == sorted(
        promoted + ["paper-" + TINY.name + ".safetensors", "manifest.json"])
    for config in target.generators():
        loaded = zoo_weights.load_generator("smoke", config, shipped_dir)
        for p, q in zip(loaded.state_dict().values(), modules[config.name].state_dict().values()):
            torch.testing.assert_close(p, q.to(torch.float16).to(q.dtype))
    assert zoo_weights.read_manifest(staged_dir) == {}
    assert [p.name for p in staged_dir.iterdir()] == ["manifest.json"]


def test_swd_of_real_to_real_is_below_real_to_noise():
    real_a, _ = sample_crops("train", 128, 32, seed=0)
    real_b, _ = sample_crops("train", 128, 32, seed=1)
    noise = np.random.default_rng(0).integers(0, 256, real_a.shape, dtype=np.uint8)
    assert swd(real_a, real_b) < swd(noise, real_b) / 3


def _quick_generators(preset, experiment):
    return {label: generator_module(c).eval() for label, c in preset.experiment(experiment).items()}


def test_an_interrupted_build_leaves_nothing_that_looks_complete(monkeypatch):
    def broken(preset, experiment):
        raise KeyboardInterrupt

    monkeypatch.setattr(zoo, "_generators", broken)
    with pytest.raises(KeyboardInterrupt):
        zoo.build("smoke", progress=False)
    from ganprint.cache import cache_dir

    assert list(cache_dir("zoo").iterdir()) == []
    monkeypatch.setattr(zoo, "_generators", _quick_generators)
    folder = zoo.build("smoke", progress=False)
    assert (folder / "images.npy").exists() and (folder / "index.json").exists()
    assert [p.name for p in cache_dir("zoo").iterdir()] == [folder.name]


def test_zoo_dataset_has_every_source_and_split_with_the_preset_counts(monkeypatch):
    monkeypatch.setattr(zoo, "_generators", _quick_generators)
    preset = PRESETS["smoke"]
    for experiment in ("architectures", "seeds", "trainsets"):
        data = zoo.open_zoo(f"smoke/{experiment}", progress=False)
        assert set(data.sources) == {"real", *preset.experiment(experiment)}
        for split, n in zip(("train", "val", "test"), preset.counts):
            assert set(data.count(split).values()) == {n}
        assert data.image_size == preset.image_size


def test_zoo_smoke_is_deterministic(tmp_path, monkeypatch):
    first = zoo.open_zoo("smoke", progress=False).content_hash()
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "other"))
    assert zoo.open_zoo("smoke", progress=False).content_hash() == first


def test_unknown_or_untrained_zoo_names_fail_clearly(monkeypatch):
    with pytest.raises(DatasetError, match="preset"):
        zoo.open_zoo("nope")
    with pytest.raises(DatasetError, match="experiment"):
        zoo.open_zoo("smoke/colours")
    monkeypatch.setattr(zoo_weights, "read_manifest", lambda directory=None: {})
    with pytest.raises(DatasetError, match="bench zoo train paper"):
        zoo.open_zoo("paper", progress=False)


def test_zoo_is_registered_through_the_datasets_hook():
    from ganprint.datasets.hooks import ganprint_datasets

    assert {spec.name for spec in ganprint_datasets()} >= {"folder", "zoo"}


@pytest.mark.parametrize("directory", [zoo_weights.WEIGHTS_DIR, zoo_weights.STAGED_DIR], ids=["shipped", "staged"])
def test_shipped_and_staged_manifest_entries_match_their_files(directory):
    from ganprint.training import file_sha256

    entries = zoo_weights.read_manifest(directory)
    for key, entry in entries.items():
        assert file_sha256(directory / entry["file"]) == entry["sha256"], key
        assert entry["config"]["iterations"] == entry["iterations"]
        preset = PRESETS[key.split("/")[0]]
        assert entry.get("weights_dtype", "float32") == preset.weights_dtype, key
        assert preset.staged == (directory == zoo_weights.STAGED_DIR), key
    total = sum((directory / e["file"]).stat().st_size for e in entries.values())
    assert total <= 40 * 2 ** 20
    json.dumps(entries)
