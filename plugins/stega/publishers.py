"""The GAN publishers of Yu et al. 2021, §3 (Fig. 1, steps 2–4): a fingerprint per publisher, its
copy of the zoo's training crops with the fingerprint embedded, and a zoo GAN trained on that
copy by the zoo's own training code (``ganprint.datasets.train_generator``), the GAN a black box;
clean controls trained the same way on the clean crops; the transfer curve of the fingerprint
during GAN training; shipping the trained generators into the package.

Cached under ``cache_dir("stega", "pipeline", ...)`` (:func:`work_dir`): the fingerprinted crops
as a sealed ``.npy``, GAN training through resumable checkpoints, generator weights as
safetensors with a sha256 manifest.
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ganprint.atomic import atomic_path, write_text
from ganprint.cache import CacheEntryError, cache_dir, config_key, discard, read_sealed, seal
from ganprint.plugins.stega.database import FingerprintDatabase
from ganprint.plugins.stega.presets import StegaPreset, steganography_model
from ganprint.plugins.stega.train import embed
from ganprint.plugins.stega.weights import SHIPPED, StegaModel, get_model, model_dir


SHIPPED_GANS = SHIPPED / "gans"


# the steganography model's decoder phase (``train.refine_decoder``) leaves the encoder, and so the
# fingerprinted crops and the GANs trained on them, as they were
DECODER_PHASE = ("decoder_epochs", "attenuation")


def work_dir(p: StegaPreset) -> Path:
    """The preset's cache folder, keyed by what the fingerprinted crops depend on and by the GANs'
    recipe options (their weights are named by family and iterations only): changing the iteration
    counts, sample sizes or the decoder phase keeps the crops and the GAN checkpoints."""
    keep = ("stega", "families", "width", "n_train", "seed", "ema", "precision", "family_precision", "family_adam")
    config = {k: p.as_dict()[k] for k in keep if k in p.as_dict()}
    config["stega"] = {k: v for k, v in config["stega"].items() if k not in DECODER_PHASE}
    return cache_dir("stega", "pipeline", f"{p.name}-{config_key(config)}")


def database(p: StegaPreset) -> FingerprintDatabase:
    """One fingerprint per publisher (= per family), allocated from the preset's seed."""
    return FingerprintDatabase.allocate(list(p.families), p.stega.n_bits, p.seed)


def generator_config(p: StegaPreset, family: str, iterations: int | None = None):
    from ganprint.datasets import GeneratorConfig

    return GeneratorConfig(family, p.stega.image_size, p.width, p.iterations_of(family) if iterations is None else iterations,
                           seed=p.seed, n_train=p.n_train, ema=p.ema, precision=p.precision_of(family),
                           **p.adam_of(family))


def _save_sealed(path: Path, save) -> None:
    """Write ``path`` atomically with ``save(file)`` and seal it with its sha256."""
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        save(file)
    seal(path)


def _read_sealed_npz(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of a sealed ``.npy``/``.npz`` cache file (an ``.npy`` as ``{"array": ...}``), or
    None, after one line on stderr, when it is missing or fails its check (it is then removed)."""
    if not path.exists():
        return None
    try:
        data = read_sealed(path)
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return {"array": loaded}
        with loaded:
            return {k: loaded[k] for k in loaded.files}
    except CacheEntryError as error:
        print(f"ganprint: {error}; building it again", file=sys.stderr, flush=True)
    except (ValueError, OSError, KeyError) as error:
        print(f"ganprint: cached file {path} cannot be read ({type(error).__name__}: {error}); building it again",
              file=sys.stderr, flush=True)
    discard(path)
    return None


def fingerprinted_crops(p: StegaPreset, family: str, model: StegaModel) -> np.ndarray:
    """The zoo's training crops of ``family`` with the publisher's fingerprint embedded (cached)."""
    from ganprint.datasets import training_crops

    path = work_dir(p) / f"crops-{family}.npy"
    cached = _read_sealed_npz(path)
    if cached is not None:
        return cached["array"]
    stego = embed(model.encoder, training_crops(generator_config(p, family)), database(p).fingerprints[family])
    _save_sealed(path, lambda file: np.save(file, stego, allow_pickle=False))
    return stego


def shipped_generators(p: StegaPreset) -> Path:
    """The package folder of the preset's shipped generators (one per preset name)."""
    return SHIPPED_GANS / p.name


def _weights_folder(p: StegaPreset) -> Path:
    """The shipped generators if they were trained for exactly this preset, else the cache."""
    shipped = shipped_generators(p) / "manifest.json"
    if shipped.exists() and json.loads(shipped.read_text()).get("preset_key") == config_key(p.as_dict()):
        return shipped.parent
    return work_dir(p) / "generators"


def ship(p: StegaPreset) -> Path:
    """Copy the preset's trained fingerprinted generators into the package (``weights/gans/<name>``,
    which holds one version of the preset: files of an older one are removed) and its steganography
    model and base into ``weights/<config key>/``."""
    import shutil

    for config in (p.stega_base, p.stega):
        if config is not None:
            get_model(config)  # trained and cached first if it is not yet
            source, target = model_dir(config), SHIPPED / config_key(config.as_dict())
            if source != target:
                shutil.copytree(source, target, dirs_exist_ok=True)
    folder = shipped_generators(p)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for family in p.families:
        _, meta = fingerprinted_generator(p, family)
        tag = f"{family}-{p.iterations_of(family)}"
        source = work_dir(p) / "generators"
        for suffix in (".safetensors", ".json"):
            if (source / f"{tag}{suffix}").exists():
                shutil.copyfile(source / f"{tag}{suffix}", folder / f"{tag}{suffix}")
        files[tag] = meta["sha256"]
    for stale in folder.iterdir():
        if stale.name != "manifest.json" and stale.name.rsplit(".", 1)[0] not in files:
            stale.unlink()
    manifest = {"preset": p.as_dict(), "preset_key": config_key(p.as_dict()), "sha256": files}
    write_text(folder / "manifest.json", json.dumps(manifest, indent=1))
    return folder


CURVE_EVERY, CURVE_SAMPLES, CURVE_SEED = 500, 500, 1


CHECKPOINT_EVERY = 100


def _transfer_curve(p: StegaPreset, family: str, config, checkpoint: Path):
    """A ``train_generator`` checkpoint hook: every ``CURVE_EVERY`` iterations, the share of the
    publisher's bits that ``CURVE_SAMPLES`` samples of the generator at that checkpoint carry (its
    moving average where the family keeps one, as sampled), kept beside the checkpoint as JSON.
    It reads the checkpoint just written, samples from its own seed and leaves torch's global RNG as
    it was, so training is unchanged."""
    import torch

    from ganprint.datasets import generator_module, sample
    from ganprint.plugins.stega.train import decode_logits
    from ganprint.training import load_checkpoint

    path = checkpoint.with_suffix(".curve.json")
    model, bits = steganography_model(p, progress=False), database(p).fingerprints[family]

    def record(iteration: int) -> None:
        if iteration % CURVE_EVERY:
            return
        modules = load_checkpoint(checkpoint)["modules"]
        with torch.random.fork_rng(devices=[]):  # a new module's initialisation draws from torch's RNG
            generator = generator_module(config)
        generator.load_state_dict(modules.get("G_ema", modules["G"]))
        decoded = decode_logits(model.decoder, sample(generator.eval(), CURVE_SAMPLES, CURVE_SEED)) > 0
        curve = json.loads(path.read_text()) if path.exists() else {}
        curve[str(iteration)] = round(float(np.mean(decoded == bits)), 4)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(curve))
        os.replace(tmp, path)

    return record


def transfer_curve(p: StegaPreset, family: str) -> dict[int, float]:
    """{iteration: bitwise accuracy} recorded while the fingerprinted generator of ``family`` trained
    (from its manifest entry, or its checkpoint's record while it trains); empty if none was."""
    config = generator_config(p, family)
    entry = _weights_folder(p) / f"{family}-{config.iterations}.json"
    if entry.exists():
        curve = json.loads(entry.read_text()).get("transfer_curve", {})
    else:
        path = _checkpoint(p, family, True, config).with_suffix(".curve.json")
        curve = json.loads(path.read_text()) if path.exists() else {}
    return {int(k): v for k, v in sorted(curve.items(), key=lambda kv: int(kv[0]))}


def _checkpoint(p: StegaPreset, family: str, fingerprinted: bool, config) -> Path:
    kind = family if fingerprinted else f"{family}.clean"
    return work_dir(p) / "checkpoints" / f"{kind}-{config_key(replace(config, iterations=0).as_dict())}.pt"


def _generator(p: StegaPreset, family: str, fingerprinted: bool, progress: bool = True, iterations: int | None = None):
    """The trained generator of ``family`` on fingerprinted (or, as control, clean) crops, after the
    preset's iterations or ``iterations``."""
    from ganprint.datasets import generator_module, train_generator
    from ganprint.training import load_checkpoint, load_weights, save_weights

    config = generator_config(p, family, iterations)
    tag = f"{family}-{config.iterations}" if fingerprinted else f"{family}-{config.iterations}.clean"
    folder = _weights_folder(p) if fingerprinted else work_dir(p) / "generators"
    entry = folder / f"{tag}.json"
    if entry.exists():
        meta = json.loads(entry.read_text())
        return load_weights(folder / f"{tag}.safetensors", generator_module(config), meta["sha256"]).eval(), meta
    # the clean control trains beside the steganography model (train_generators), so it must not load it
    images = fingerprinted_crops(p, family, steganography_model(p, progress)) if fingerprinted else None
    checkpoint = _checkpoint(p, family, fingerprinted, config)
    if checkpoint.exists() and int(load_checkpoint(checkpoint)["iteration"]) > config.iterations:
        # resuming would return the checkpoint's generator under the smaller count's name
        raise ValueError(f"{checkpoint.name} holds {load_checkpoint(checkpoint)['iteration']} iterations, more than "
                         f"the {config.iterations} asked for")
    record = _transfer_curve(p, family, config, checkpoint) if fingerprinted else None
    started = time.time()
    generator, log = train_generator(config, checkpoint, progress=progress, checkpoint_every=CHECKPOINT_EVERY,
                                     images=images, on_checkpoint=record)
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"config": config.as_dict(), "fingerprinted": fingerprinted,
            "sha256": save_weights(folder / f"{tag}.safetensors", generator),
            "last_session_seconds": round(time.time() - started, 1), "log_tail": log[-3:]}
    if fingerprinted and checkpoint.with_suffix(".curve.json").exists():
        meta["transfer_curve"] = json.loads(checkpoint.with_suffix(".curve.json").read_text())
    tmp = entry.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, entry)
    return generator, meta


def fingerprinted_generator(p: StegaPreset, family: str, progress: bool = True):
    """(generator in eval mode, its manifest entry) trained on the publisher's fingerprinted crops."""
    return _generator(p, family, True, progress)


def clean_generator(p: StegaPreset, family: str, progress: bool = True, iterations: int | None = None):
    """The control: the same generator config trained on the clean crops (for ``iterations`` if
    given: a shorter control continues, through the shared checkpoint, into the full one)."""
    return _generator(p, family, False, progress, iterations)


def _train_in_worker(p: StegaPreset, family: str, fingerprinted: bool, progress: bool) -> str:
    import torch

    torch.set_num_threads(1)
    _generator(p, family, fingerprinted, progress)
    return family if fingerprinted else f"{family} (clean control)"


def train_generators(p: StegaPreset, families: Sequence[str], controls: Sequence[str] = (), jobs: int = 1,
                     progress: bool = True) -> None:
    """Train (or resume) the fingerprinted generators of ``families`` and the clean controls of
    ``controls``, ``jobs`` at a time in separate processes of one torch thread each.

    The clean controls need no steganography model, so they start at once, beside the model's own
    training in this process (which takes one of the ``jobs`` places); the fingerprinted generators
    start when the model is ready, those with the most iterations first."""
    from concurrent.futures import FIRST_COMPLETED, wait

    from tqdm.auto import tqdm

    from ganprint.processes import spawn_pool

    pending = [(family, False) for family in controls]
    if jobs <= 1:
        for family, fingerprinted in pending + [(family, True) for family in families]:
            _generator(p, family, fingerprinted, progress)
        return
    with spawn_pool(jobs) as pool, \
            tqdm(total=len(pending) + len(families), desc="generators", unit="gan", disable=not progress) as bar:
        running: set = set()

        def fill(places: int) -> None:
            while pending and len(running) < places:
                running.add(pool.submit(_train_in_worker, p, *pending.pop(0), progress))

        fill(jobs - 1)
        steganography_model(p, progress)
        pending += [(family, True) for family in sorted(families, key=lambda f: -p.iterations_of(f))]
        while pending or running:
            fill(jobs)
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                bar.set_postfix_str(f"{future.result()} done")
                bar.update()
