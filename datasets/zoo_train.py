"""Training a preset's generators from scratch, resumably, and installing the finished ones.

``bench zoo train PRESET [--worker I/N] [--only NAME,...]`` and ``bench zoo install PRESET``
(:mod:`ganprint.datasets.zoo_commands`). Generators are trained in the preset's order (architectures, then
seeds, then trainsets), or only those named; with ``--worker I/N`` a process takes every N-th of
them, so N processes share the work. Everything lives under ``ganprint.cache.cache_dir("zoo-train", PRESET)``:

- ``<name>.pt``: the resumable checkpoint (every 250 iterations; a killed run restarts there; a
  preset whose iterations are raised later trains on from the final one);
- ``<name>.safetensors`` (sealed: :func:`ganprint.cache.seal`), ``<name>.png`` (a grid of 64
  samples), and ``<name>.json`` (config, iterations, training seconds, SWD), written last: its
  presence marks the generator finished. A record that cannot be read counts as unfinished (the
  generator is trained on from its checkpoint), and weights that fail their check are not installed.

``bench zoo install`` copies every finished generator into the shipped weights (the staged ones for a
staged preset; :mod:`ganprint.datasets.zoo_weights`) and updates the manifest.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ganprint.atomic import write_json, write_text
from ganprint.cache import CacheEntryError, cache_dir, read_sealed, seal
from ganprint.dataset import DatasetError
from ganprint.datasets.grid import save_grid
from ganprint.datasets.realset import sample_crops
from ganprint.datasets.swd import swd
from ganprint.datasets.zoo_presets import PRESETS, Preset
from ganprint.datasets import zoo_weights
from ganprint.datasets.gan_training import GeneratorConfig, sample, train_generator, training_crops
from ganprint.training import save_weights

SWD_IMAGES = 1000
HELDOUT_SEED = 202


def train_dir(preset: str) -> Path:
    return cache_dir("zoo-train", preset)


def swd_reference(config: GeneratorConfig) -> tuple[np.ndarray, float]:
    """The real training crops SWD is measured against (the base set, diff 0) and the SWD of
    as many real held-out (val + test region) crops to them."""
    n = min(SWD_IMAGES, config.n_train)
    base = training_crops(GeneratorConfig(**{**config.as_dict(), "trainset_diff": 0}))[:n]
    heldout, _ = sample_crops(("val", "test"), n, config.image_size, HELDOUT_SEED)
    return base, swd(heldout, base)


def train_one(config: GeneratorConfig, directory: Path, progress: bool = True, weights_dtype: str = "float32") -> dict:
    """Train (or resume, or skip if finished) one generator; return its result record.

    A generator finished with fewer iterations than ``config`` asks for is trained on from its
    final checkpoint (the learning rates are constant, so this equals training from scratch).
    Its weights are stored as ``weights_dtype``, and its SWD and grid are those of the weights
    as stored (rounded to that precision)."""
    done, weights = directory / f"{config.name}.json", directory / f"{config.name}.safetensors"
    result = _finished(done)
    if result is not None and result["config"] == config.as_dict() and _intact(weights):
        return result
    clock = directory / f"{config.name}.seconds"
    before = _seconds(clock)
    start = time.time()

    def tick(_: int) -> None:
        write_text(clock, f"{before + time.time() - start:.1f}")

    generator, log = train_generator(config, directory / f"{config.name}.pt", progress=progress,
                                     checkpoint_every=250, on_checkpoint=tick)
    seconds = before + time.time() - start
    dtype = getattr(torch, weights_dtype)
    with torch.no_grad():
        for tensor in generator.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(tensor.to(dtype))
    save_weights(weights, generator, {"config": json.dumps(config.as_dict())}, dtype=dtype)
    seal(weights)
    base, swd_real = swd_reference(config)
    fakes = sample(generator, len(base), seed=config.seed + 999)
    save_grid(fakes[:64], directory / f"{config.name}.png")
    result = {"config": config.as_dict(), "iterations": config.iterations, "train_seconds": round(seconds, 1),
              "weights_dtype": weights_dtype,
              "swd": round(swd(fakes, base), 2), "swd_real_heldout": round(swd_real, 2),
              "swd_images": len(base), "final_losses": log[-1] if log else {}}
    write_json(done, result, indent=1)
    return result


def _finished(done: Path) -> dict | None:
    """The result record of a finished generator, or None: not finished, or (with a note) unreadable."""
    if not done.exists():
        return None
    try:
        result = json.loads(done.read_text())
        if not isinstance(result, dict) or not isinstance(result.get("config"), dict):
            raise ValueError("no config in it")
        return result
    except (OSError, ValueError) as error:
        print(f"ganprint: {done} cannot be read ({error}); {done.stem} counts as unfinished", file=sys.stderr)
        return None


def _intact(weights: Path) -> bool:
    """Whether finished weights pass their check (if not, a note: they are trained on again)."""
    try:
        read_sealed(weights)
        return True
    except CacheEntryError as error:
        print(f"ganprint: {error}; finishing {weights.stem} again from its checkpoint", file=sys.stderr)
        return False


def _seconds(clock: Path) -> float:
    """Training seconds recorded so far (0 when there is no readable record)."""
    try:
        return float(clock.read_text())
    except (OSError, ValueError):
        return 0.0


def train_preset(preset: Preset, worker: int = 0, n_workers: int = 1, progress: bool = True,
                 only: Sequence[str] | None = None) -> list[dict]:
    """Train this worker's share of the preset's generators (or of those named in ``only``), in order."""
    configs = preset.generators()
    if only is not None:
        unknown = sorted(set(only) - {c.name for c in configs})
        if unknown:
            raise ValueError(f"preset {preset.name} has no generator(s) {', '.join(unknown)}; "
                             f"it has {', '.join(c.name for c in configs)}")
        configs = [c for c in configs if c.name in only]
    directory = train_dir(preset.name)
    results = []
    for i, config in enumerate(configs):
        if i % n_workers == worker:
            result = train_one(config, directory, progress, preset.weights_dtype)
            print(f"{config.name}: {result['iterations']} iterations, {result['train_seconds']:.0f} s, "
                  f"SWD {result['swd']:.1f} (real held-out {result['swd_real_heldout']:.1f})", flush=True)
            results.append(result)
    return results


def install_finished(preset: Preset, weights_dir: Path | None = None) -> list[str]:
    """Copy every finished generator of ``preset`` into its weights folder (the shipped weights,
    or the staged ones for a staged preset); return their files."""
    weights_dir = zoo_weights.weights_dir(preset) if weights_dir is None else weights_dir
    directory = train_dir(preset.name)
    installed = []
    for config in preset.generators():
        result = _finished(directory / f"{config.name}.json")
        if result is not None:
            weights = directory / f"{config.name}.safetensors"
            try:
                read_sealed(weights)
            except CacheEntryError as error:
                raise DatasetError(f"{error}: not installed; train it again with "
                                   f"`bench zoo train {preset.name} --only {config.name}`") from None
            installed.append(zoo_weights.install(preset.name, result, weights, weights_dir))
    return installed
