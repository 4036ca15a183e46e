"""``zoo:PRESET[/EXPERIMENT]``: real crops plus samples of the zoo's generators (Yu et al. 2019,
§4.2), built once and cached.

``zoo:default`` is the architectures experiment of the default preset; ``zoo:default/seeds`` and
``zoo:default/trainsets`` the other two (likewise ``smoke`` and ``paper``; presets and counts in
:mod:`ganprint.datasets.zoo_presets`). Shipped presets sample the generators of
``datasets/weights`` (sha256-checked); ``smoke`` trains its tiny generators on the fly.

A built dataset is ``images.npy`` (uint8, read without pickle) and ``index.json`` (labels,
splits) under ``cache_dir("zoo")/<preset>-<experiment>-<key>``, where the key hashes the preset's
configuration and the weights' sha256. It is written to a temporary folder renamed into place
when complete, so an interrupted build never leaves a folder that looks finished. Both files are
sealed (:func:`ganprint.cache.seal`) and checked every time the dataset is opened: a file that is
missing, truncated, zeroed, altered or unreadable is reported in one line naming it, and the
entry is built again.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ganprint.atomic import atomic_path, write_text
from ganprint.cache import CacheEntryError, cache_dir, config_key, discard, read_sealed, seal
from ganprint.dataset import SPLITS, ArrayDataset, DatasetError
from ganprint.datasets.realset import sample_crops
from ganprint.datasets.zoo_presets import EXPERIMENTS, PRESETS, Preset
from ganprint.interfaces import REAL

FORMAT_VERSION = 1
REAL_SEED = 300
SAMPLE_SEED = 1000
IMAGES, INDEX = "images.npy", "index.json"


def parse(argument: str | None) -> tuple[Preset, str]:
    """``PRESET[/EXPERIMENT]`` (default ``default``, experiment ``architectures``)."""
    text = argument or "default"
    preset_name, _, experiment = text.partition("/")
    if preset_name not in PRESETS:
        raise DatasetError(f"unknown zoo preset {preset_name!r}; use zoo:{'|'.join(PRESETS)}[/EXPERIMENT]")
    experiment = experiment or "architectures"
    if experiment not in EXPERIMENTS:
        raise DatasetError(f"unknown zoo experiment {experiment!r}; use one of {', '.join(EXPERIMENTS)}")
    return PRESETS[preset_name], experiment


def dataset_name(preset: Preset, experiment: str) -> str:
    return f"zoo:{preset.name}" + ("" if experiment == "architectures" else f"/{experiment}")


def _generators(preset: Preset, experiment: str) -> dict:
    """Source label → generator module (shipped weights, or trained now for unshipped presets)."""
    configs = preset.experiment(experiment)
    if not preset.shipped:
        from ganprint.datasets.gan_training import train_generator

        return {label: train_generator(c, progress=False)[0] for label, c in configs.items()}
    from ganprint.datasets import zoo_weights

    directory = zoo_weights.weights_dir(preset)
    manifest = zoo_weights.read_manifest(directory)
    missing = [c.name for c in configs.values() if zoo_weights.entry_key(preset.name, c) not in manifest]
    if missing:
        raise zoo_weights.missing_error(preset.name, missing)
    return {label: zoo_weights.load_generator(preset.name, c, directory) for label, c in configs.items()}


def cache_key(preset: Preset, experiment: str) -> str:
    """Hash of what determines the images: format, preset config and the weights' sha256."""
    weights = {}
    if preset.shipped:
        from ganprint.datasets import zoo_weights

        manifest = zoo_weights.read_manifest(zoo_weights.weights_dir(preset))
        weights = {label: manifest.get(zoo_weights.entry_key(preset.name, c), {}).get("sha256")
                   for label, c in preset.experiment(experiment).items()}
    # where the weights are kept and their storage precision show in their sha256 already
    described = {k: v for k, v in asdict(preset).items() if k not in ("staged", "weights_dtype")}
    described["template"] = preset.template.as_dict()
    return config_key({"version": FORMAT_VERSION, "preset": described, "experiment": experiment,
                       "weights": weights, "real_seed": REAL_SEED, "sample_seed": SAMPLE_SEED})


def _build(preset: Preset, experiment: str, folder: Path, progress: bool) -> None:
    from ganprint.datasets.gan_training import sample

    counts = dict(zip(SPLITS, preset.counts))
    size = preset.image_size
    images, labels, splits = [], [], []
    for split, n in counts.items():
        crops, _ = sample_crops(split, n, size, REAL_SEED)
        images.append(crops)
        labels += [REAL] * n
        splits += [split] * n
    generators = _generators(preset, experiment)
    total = sum(counts.values())
    for i, (label, generator) in enumerate(tqdm(generators.items(), desc=f"sampling {dataset_name(preset, experiment)}",
                                                unit="source", disable=not progress)):
        images.append(sample(generator, total, seed=SAMPLE_SEED + i))
        labels += [label] * total
        splits += [s for s, n in counts.items() for _ in range(n)]
    with atomic_path(folder / IMAGES) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.concatenate(images), allow_pickle=False)
    write_text(folder / INDEX, json.dumps({"labels": labels, "splits": splits}))
    for name in (IMAGES, INDEX):
        seal(folder / name)


def build(argument: str | None = None, progress: bool = True) -> Path:
    """The cached folder of ``zoo:ARGUMENT``, built now if missing (temporary folder, then rename)."""
    preset, experiment = parse(argument)
    root = cache_dir("zoo")
    final = root / f"{preset.name}-{experiment}-{cache_key(preset, experiment)}"
    if final.is_dir():
        return final
    tmp = root / f".building-{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    from ganprint.training import torch_threads

    try:
        with torch_threads(1):
            _build(preset, experiment, tmp, progress)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if not final.is_dir():
            raise
    return final


def open_zoo(argument: str | None = None, progress: bool = True) -> ArrayDataset:
    """The dataset ``zoo:ARGUMENT`` (see the module docstring), building it first if needed.

    A cached entry that fails its check is reported in one line on stderr and built again."""
    preset, experiment = parse(argument)
    name = dataset_name(preset, experiment)
    folder = build(argument, progress)
    try:
        return _read_entry(folder, name)
    except CacheEntryError as error:
        print(f"ganprint: {error}; building {name} again", file=sys.stderr, flush=True)
    try:
        discard(folder)
    except CacheEntryError as error:
        raise DatasetError(str(error)) from None
    folder = build(argument, progress)
    try:
        return _read_entry(folder, name)
    except CacheEntryError as error:
        raise DatasetError(f"{name} was built again but still fails its check: {error}") from None


def _read_entry(folder: Path, name: str) -> ArrayDataset:
    """The dataset in a built folder; :class:`CacheEntryError` naming the file if anything is off."""
    images = _array(read_sealed(folder / IMAGES), folder / IMAGES)
    try:
        index = json.loads(read_sealed(folder / INDEX))
        labels, splits = index["labels"], index["splits"]
        return ArrayDataset(name, images, labels, splits)
    except (ValueError, KeyError, TypeError) as error:
        raise CacheEntryError(f"cached file {folder / INDEX} does not describe {folder / IMAGES} "
                              f"({type(error).__name__}: {error})") from None


def _array(data: bytes, path: Path) -> np.ndarray:
    """The uint8 array of ``.npy`` bytes, read-only and without a copy (never unpickled)."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = header(stream)
        if dtype != np.uint8 or fortran_order or len(shape) != 4:
            raise ValueError(f"holds {dtype} {shape}, expected C-ordered uint8 (N, S, S, 3)")
        count = int(np.prod(shape))
        return np.frombuffer(data, np.uint8, count, offset=stream.tell()).reshape(shape)
    except ValueError as error:
        raise CacheEntryError(f"cached file {path} is not a valid image array ({error})") from None
