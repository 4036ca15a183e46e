"""The artificial-fingerprint pipeline of Yu et al. 2021, §3 (Fig. 1), on the GAN zoo.

1. steganography training (``weights.get_model``) on real training crops;
2. a fingerprint database: one random fingerprint per GAN publisher, here one per zoo family;
3. fingerprint embedding: each publisher's copy of the zoo's training crops, passed through E;
4. GAN training: the zoo's own training code (``ganprint.datasets.train_generator``), unchanged, on
   the fingerprinted copy — the GAN is a black box;
5. sampling: the ``zoo:stega`` dataset, real crops (no fingerprint, ``bits=None``) and samples of
   each fingerprinted GAN recording its publisher's bits.

Every step is cached under ``cache_dir("stega", ...)`` keyed by the preset's config: fingerprinted
crops as ``.npy``, GAN training through resumable checkpoints (keyed without the iteration count, so
a longer run continues a shorter one), generator weights as safetensors with a sha256 manifest, and
the sampled dataset as one ``.npz``. The ``.npy`` and ``.npz`` files are written atomically and
sealed with their sha256 (``ganprint.cache.seal``); one that fails its check is reported in one line
and built again. The generators of the ``default`` (64 px)
and ``small`` (32 px) presets ship in ``plugins/stega/weights/gans/<preset>/``, so building
``zoo:stega`` or ``zoo:stega:small`` needs no training.
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from ganprint.atomic import atomic_path, write_text
from ganprint.cache import CacheEntryError, cache_dir, config_key, discard, read_sealed, seal
from ganprint.dataset import SPLITS, ArrayDataset
from ganprint.interfaces import REAL
from ganprint.plugins.stega.database import FingerprintDatabase
from ganprint.plugins.stega.train import StegaConfig, embed
from ganprint.plugins.stega.weights import SHIPPED, StegaModel, get_model, model_dir

SHIPPED_GANS = SHIPPED / "gans"


@dataclass(frozen=True)
class StegaPreset:
    """What ``zoo:stega:<name>`` is built from."""

    name: str
    stega: StegaConfig
    families: tuple[str, ...] = ("dcgan", "sngan", "mmdgan")
    iterations: int = 1200
    width: int = 16
    n_train: int = 2000
    samples: tuple[int, int, int] = (300, 100, 200)
    real: tuple[int, int, int] = (300, 100, 200)
    seed: int = 0
    family_iterations: dict = field(default_factory=dict)
    stega_base: StegaConfig | None = None  # the model ``stega`` is fine-tuned from (its ``base``)
    ema: float | None = None  # the GANs' generator moving average (``GeneratorConfig.ema``)
    precision: str = ""  # the GANs' training arithmetic (``GeneratorConfig.precision``): "" float32, "bf16"
    family_precision: dict = field(default_factory=dict)  # per family, overriding ``precision``
    # per family, Adam settings replacing the family's: {"lr": (generator, critic), "betas": (b1, b2)}
    family_adam: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.stega_base is None) != (not self.stega.base) or (
                self.stega_base is not None and config_key(self.stega_base.as_dict()) != self.stega.base):
            raise ValueError("stega_base must be the config whose key is stega.base")
        for family, adam in self.family_adam.items():
            if family not in self.families or not set(adam) <= {"lr", "betas"}:
                raise ValueError(f"family_adam maps publishers of the preset to 'lr' and/or 'betas'; got {family}: {adam}")

    def iterations_of(self, family: str) -> int:
        return int(self.family_iterations.get(family, self.iterations))

    def precision_of(self, family: str) -> str:
        return self.family_precision.get(family, self.precision)

    def adam_of(self, family: str) -> dict:
        return dict(self.family_adam.get(family, {}))

    def as_dict(self) -> dict:
        config = asdict(self) | {"stega": self.stega.as_dict()}
        if self.stega_base is None:
            del config["stega_base"]  # keys of presets from before stega_base stay put
        else:
            config["stega_base"] = self.stega_base.as_dict()
        for name, off in (("ema", None), ("precision", ""), ("family_precision", {}), ("family_adam", {})):
            if config[name] == off:
                del config[name]  # keys of presets from before the option stay put
        return config


def refined(base: StegaConfig, **changes) -> StegaConfig:
    """The config of a model fine-tuned from the model of ``base``."""
    return replace(base, base=config_key(base.as_dict()), **changes)


# The default recipe: Yu 2021's objective with noise between encoder and decoder in training
# (StegaStamp's augmentation, not the paper's), which makes the fingerprint survive GAN training,
# then a fine-tune at a higher λ for fidelity whose residual strength is calibrated to 35.5 dB on
# val crops, keeping the epoch whose fingerprint best survives the noise, then the decoder alone
# taught to read fingerprints at 30-100% strength (docs/results/stega).
# NOISY is the ``small`` preset's model. PAPER_PLAIN is the paper's objective alone: its fingerprint
# transfers to dcgan at 0.894 bitwise and not to mmdgan.
NOISY_PLAIN = StegaConfig(secrecy_weight=0.0, max_epochs=16, noise_std=0.2, lambda_final=45.0)
NOISY = refined(NOISY_PLAIN, max_epochs=16, lambda_final=100.0, psnr_target=35.5, decoder_epochs=8, attenuation=0.3)
# the same recipe at 64x64, the ``default`` preset's model; its seven-layer decoder needs He's
# initialisation to leave chance
NOISY64_PLAIN = replace(NOISY_PLAIN, image_size=64, decoder_init="he")
NOISY64 = refined(NOISY64_PLAIN, max_epochs=16, lambda_final=100.0, psnr_target=35.5, decoder_epochs=8,
                  attenuation=0.3)
PAPER_PLAIN = StegaConfig(secrecy_weight=0.0, max_epochs=8)

PRESETS = {
    "smoke": StegaPreset("smoke", StegaConfig(n_bits=8, width=8, n_train=64, n_val=32, max_epochs=1, ramp_steps=2,
                                              secrecy_group=8),
                         iterations=3, width=8, n_train=64, samples=(12, 6, 6), real=(12, 6, 6)),
    # 64x64 (room for the 32 bits that a GAN with a gradient-penalty critic reproduces), the GANs
    # trained in bfloat16; cramergan needs 8000 iterations, and sngan the two time-scale rule (with
    # the family's Adam settings its spectrally normalised critic stalls and the generator collapses)
    "default": StegaPreset("default", NOISY64, families=("sngan", "cramergan", "dcgan"), iterations=4000,
                           family_iterations={"cramergan": 8000, "sngan": 6000}, stega_base=NOISY64_PLAIN,
                           precision="bf16", family_adam={"sngan": {"lr": (1e-4, 4e-4), "betas": (0.0, 0.9)}}),
    # the default until 2026-12-05, at 32x32: cramergan carries only 0.83 of the bits, but the
    # fingerprint resists the averaging attack and survives JPEG and cropping, which the 64 px one does not
    "small": StegaPreset("small", NOISY, families=("dcgan", "sngan", "cramergan"), iterations=4000,
                         stega_base=NOISY_PLAIN),
    # the first default: the paper's objective alone (its generators are not shipped)
    "paper": StegaPreset("paper", PAPER_PLAIN, iterations=2000, family_iterations={"sngan": 1000, "mmdgan": 1200}),
    # the paper-objective model fine-tuned with the secrecy term: a content-dependent fingerprint
    "secret": StegaPreset("secret", refined(PAPER_PLAIN, secrecy_weight=1.0, max_epochs=4), families=("dcgan",),
                          iterations=1000, stega_base=PAPER_PLAIN),
}

# the presets whose models and generators ship in the package, the default first
SHIPPED_PRESETS = ("default", "small")


def shipped_preset_of_size(size: int) -> StegaPreset:
    """The first shipped preset whose steganography model reads ``size``×``size`` images."""
    for name in SHIPPED_PRESETS:
        if PRESETS[name].stega.image_size == size:
            return PRESETS[name]
    shipped = ", ".join(f"{PRESETS[n].stega.image_size}x{PRESETS[n].stega.image_size} ({n})" for n in SHIPPED_PRESETS)
    raise ValueError(f"no shipped steganography model reads {size}x{size} images (shipped: {shipped})")


def independent_configs(p: StegaPreset, seed: int) -> tuple[StegaConfig | None, StegaConfig]:
    """(base, model) configs of a steganography model trained with the preset's recipe from another
    ``seed`` (its initial weights, training crops, bits and training noise all drawn from it): the
    attacker's independently trained encoder of the ATS attack (Yu et al. 2021, App. A.2). The
    recipe's decoder phase is left out, as it trains the decoder alone and leaves the encoder as
    it was: the attack uses only the encoder."""
    if seed == p.stega.seed:
        raise ValueError(f"the independent encoder needs a seed other than the preset's ({seed})")
    if p.stega_base is None:
        return None, replace(p.stega, seed=seed, decoder_epochs=0, attenuation=0.0)
    base = replace(p.stega_base, seed=seed)
    return base, replace(p.stega, seed=seed, base=config_key(base.as_dict()), decoder_epochs=0, attenuation=0.0)


# how much of the preset's recipe the attacker's encoder goes through: "full" (its stage 1 and
# fine-tune), or "base" (its stage 1 only, the residual strength then calibrated to the fine-tune's
# PSNR target on the attacker's own val crops: a cheaper stand-in, about 40% of the training)
ATTACKER_RECIPES = ("full", "base")


def independent_model(p: StegaPreset, seed: int, recipe: str = "full", progress: bool = True) -> StegaModel:
    """The attacker's model of :func:`independent_configs` (cached, or trained now, its base first);
    with ``recipe="base"`` the base alone, at the preset's fidelity (see :data:`ATTACKER_RECIPES`)."""
    from ganprint.plugins.stega.train import calibrate_strength, random_bits
    from ganprint.plugins.stega.weights import real_crops

    if recipe not in ATTACKER_RECIPES:
        raise ValueError(f"recipe must be one of {ATTACKER_RECIPES}; got {recipe!r}")
    base, config = independent_configs(p, seed)
    if base is not None:
        model = get_model(base, progress=progress)
        if recipe == "base":
            if p.stega.psnr_target > 0:
                _, val = real_crops(base)
                bits = random_bits(len(val), base.n_bits, np.random.default_rng([seed, 2]))
                model.encoder.strength = calibrate_strength(model.encoder, val, bits, p.stega.psnr_target)
            return model
    return get_model(config, progress=progress)


def preset(name: str) -> StegaPreset:
    if name not in PRESETS:
        raise ValueError(f"unknown zoo:stega preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name]


def steganography_model(p: StegaPreset, progress: bool = True) -> StegaModel:
    """The preset's trained encoder/decoder (shipped, cached, or trained now, its base first)."""
    if p.stega_base is not None:
        get_model(p.stega_base, progress=progress)
    return get_model(p.stega, progress=progress)


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
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    import multiprocessing

    from tqdm.auto import tqdm

    pending = [(family, False) for family in controls]
    if jobs <= 1:
        for family, fingerprinted in pending + [(family, True) for family in families]:
            _generator(p, family, fingerprinted, progress)
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool, \
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


def _sample_seed(p: StegaPreset, family: str, split: str) -> int:
    from ganprint.protocol import stable_int

    return stable_int(f"stega/{p.seed}/{family}/{split}")


def build_dataset(p: StegaPreset, progress: bool = True) -> ArrayDataset:
    """Real crops of each split plus samples of every fingerprinted generator, with their bits."""
    from ganprint.datasets import sample
    from ganprint.datasets import sample_crops

    db = database(p)
    images, labels, splits, bits = [], [], [], []
    for split, n in zip(SPLITS, p.real):
        crops, _ = sample_crops(split, n, p.stega.image_size, p.seed + 7)
        images.append(crops)
        labels += [REAL] * n
        splits += [split] * n
        bits += [None] * n
    for family in p.families:
        generator, _ = fingerprinted_generator(p, family, progress)
        for split, n in zip(SPLITS, p.samples):
            images.append(sample(generator, n, _sample_seed(p, family, split)))
            labels += [family] * n
            splits += [split] * n
            bits += [db.fingerprints[family]] * n
    return ArrayDataset(f"zoo:stega:{p.name}", np.concatenate(images), labels, splits, bits=bits)


def stega_dataset(name: str = "default", progress: bool = True) -> ArrayDataset:
    """The ``zoo:stega`` dataset of preset ``name``, built once and cached."""
    p = preset(name)
    path = work_dir(p) / f"dataset-{config_key(p.as_dict())}.npz"
    saved = _read_sealed_npz(path)
    if saved is not None:
        bits = [row if marked else None for row, marked in zip(saved["bits"], saved["has_bits"])]
        return ArrayDataset(f"zoo:stega:{p.name}", saved["images"], saved["labels"].tolist(),
                            saved["splits"].tolist(), bits=bits)
    dataset = build_dataset(p, progress)
    records = dataset.records()
    n_bits = p.stega.n_bits
    arrays = dict(images=dataset.images, labels=np.array([r.source for r in records]),
                  splits=np.array([r.split for r in records]),
                  bits=np.array([r.bits if r.bits is not None else (0,) * n_bits for r in records], np.uint8),
                  has_bits=np.array([r.bits is not None for r in records]))
    _save_sealed(path, lambda file: np.savez(file, **arrays))
    return dataset
