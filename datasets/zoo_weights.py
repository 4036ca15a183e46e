"""The shipped generator weights: ``datasets/weights/*.safetensors`` and their ``manifest.json``.

A manifest entry (key ``<preset>/<generator name>``) records the file, the generator's config,
its iteration count, training time, the SWD of its samples and of real held-out crops to the
training crops, and the file's sha256; loading checks the sha256 before reading the weights.
A staged preset (one trained across sessions) keeps its finished generators, with a manifest of
the same form, in ``datasets/weights_staged``, which is not installed with the package.
Weights may be stored as float16 (the preset's ``weights_dtype``); they load into float32 modules.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import torch

from ganprint.dataset import DatasetError
from ganprint.datasets.gan_training import GeneratorConfig, generator_module
from ganprint.datasets.zoo_presets import Preset
from ganprint.training import file_sha256, load_weights

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
STAGED_DIR = Path(__file__).resolve().parent / "weights_staged"
MANIFEST = "manifest.json"


def weights_dir(preset: Preset) -> Path:
    """Where the finished generators of ``preset`` are kept."""
    return STAGED_DIR if preset.staged else WEIGHTS_DIR


def read_manifest(directory: Path = WEIGHTS_DIR) -> dict[str, dict]:
    path = Path(directory) / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text())["generators"]


def write_manifest(entries: dict[str, dict], directory: Path = WEIGHTS_DIR) -> None:
    path = Path(directory) / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"generators": dict(sorted(entries.items()))}, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


def entry_key(preset: str, config: GeneratorConfig) -> str:
    return f"{preset}/{config.name}"


def missing_error(preset: str, names: list[str]) -> DatasetError:
    return DatasetError(
        f"zoo:{preset}: generator(s) {', '.join(names)} not trained yet (no shipped weights); "
        f"train them with `bench zoo train {preset}`")


def load_generator(preset: str, config: GeneratorConfig, directory: Path = WEIGHTS_DIR) -> torch.nn.Module:
    """The shipped generator of ``config`` in eval mode; its file's sha256 is checked first."""
    entry = read_manifest(directory).get(entry_key(preset, config))
    if entry is None:
        raise missing_error(preset, [config.name])
    if entry["config"] != config.as_dict():
        raise DatasetError(f"zoo:{preset}: shipped {config.name} was trained with {entry['config']}, "
                           f"the preset now asks for {config.as_dict()}; retrain with `bench zoo train {preset}`")
    return load_weights(Path(directory) / entry["file"], generator_module(config), sha256=entry["sha256"]).eval()


def install(preset: str, result: dict, weights: Path, directory: Path = WEIGHTS_DIR) -> str:
    """Copy a finished generator's weights into ``directory`` and record it in the manifest."""
    config = GeneratorConfig(**result["config"])
    name = f"{preset}-{config.name}.safetensors"
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / (name + ".tmp")
    shutil.copyfile(weights, tmp)
    os.replace(tmp, directory / name)
    entries = read_manifest(directory)
    entries[entry_key(preset, config)] = {**result, "file": name, "sha256": file_sha256(directory / name)}
    write_manifest(entries, directory)
    return name


def promote(staged: str, target: Preset, staged_dir: Path = STAGED_DIR, directory: Path = WEIGHTS_DIR) -> list[str]:
    """Make the finished generators of the staged preset named ``staged`` the shipped weights of
    ``target``, whose definition must by now ask for exactly their configs: each is copied
    (sha256-checked) under ``target``'s name, ``target``'s previous weights are removed, and the
    staged copies leave ``staged_dir``. Nothing changes unless every generator is there and matches.
    Returns the new files."""
    staged_entries = read_manifest(staged_dir)
    configs = target.generators()
    missing = [c.name for c in configs if entry_key(staged, c) not in staged_entries]
    if missing:
        raise DatasetError(f"staged preset {staged}: generator(s) {', '.join(missing)} not finished; nothing promoted")
    for config in configs:
        entry = staged_entries[entry_key(staged, config)]
        if entry["config"] != config.as_dict():
            raise DatasetError(f"staged {staged}/{config.name} was trained with {entry['config']}, zoo:{target.name} "
                               f"asks for {config.as_dict()}; nothing promoted")
        if file_sha256(Path(staged_dir) / entry["file"]) != entry["sha256"]:
            raise DatasetError(f"staged {entry['file']}: sha256 does not match its manifest; nothing promoted")
    shipped = read_manifest(directory)
    previous = {key: shipped.pop(key)["file"] for key in list(shipped) if key.startswith(f"{target.name}/")}
    write_manifest(shipped, directory)
    promoted = []
    for config in configs:
        entry = staged_entries.pop(entry_key(staged, config))
        result = {k: v for k, v in entry.items() if k not in ("file", "sha256")}
        promoted.append(install(target.name, result, Path(staged_dir) / entry["file"], Path(directory)))
    for name in set(previous.values()) - set(promoted):
        (Path(directory) / name).unlink(missing_ok=True)
    write_manifest(staged_entries, staged_dir)
    for config in configs:
        (Path(staged_dir) / f"{staged}-{config.name}.safetensors").unlink(missing_ok=True)
    return promoted
