"""Trained steganography models on disk: shipped in the package, else cached, else trained.

A model is a folder with ``encoder.safetensors``, ``decoder.safetensors`` and ``manifest.json``
(config, sha256 of each file, validation bitwise accuracy and PSNR, training seconds). Loading
verifies the sha256. Shipped models live in ``plugins/stega/weights/<config key>/``; a model for
any other config is trained once and cached under ``cache_dir("stega", <config key>)``.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch

from ganprint.atomic import write_text
from ganprint.cache import cache_dir, config_key
from ganprint.plugins.stega.model import FingerprintDecoderNet, FingerprintEncoder
from ganprint.plugins.stega.config import StegaConfig
from ganprint.plugins.stega.train import train_stega
from ganprint.training import load_weights, save_weights

SHIPPED = Path(__file__).with_name("weights")
MANIFEST = "manifest.json"


@dataclass
class StegaModel:
    """A trained encoder/decoder pair with the manifest it was saved with (no encoder for the
    decoder of a saved attributor)."""

    config: StegaConfig
    encoder: FingerprintEncoder | None
    decoder: FingerprintDecoderNet
    manifest: dict


def model_dir(config: StegaConfig) -> Path:
    """Where the model of ``config`` is: its shipped folder if there is one, else the cache."""
    return _key_dir(config_key(config.as_dict()))


def _key_dir(key: str) -> Path:
    shipped = SHIPPED / key
    return shipped if (shipped / MANIFEST).exists() else cache_dir("stega", key)


def config_chain(config: StegaConfig, known: Mapping[str, StegaConfig] | None = None) -> list[StegaConfig]:
    """``config`` after the configs of the models it is fine-tuned from, the model trained from
    scratch first; each base's config is taken from ``known`` (by config key) or else read from
    its trained model's manifest (shipped or cached), which must then exist."""
    known = known or {}
    chain = [config]
    while chain[0].base:
        key = chain[0].base
        if key in known:
            base = known[key]
        else:
            manifest = _key_dir(key) / MANIFEST
            if not manifest.exists():
                raise FileNotFoundError(f"the base model {key} of a steganography config is neither shipped nor "
                                        f"cached under {manifest.parent}: train it first")
            base = StegaConfig(**json.loads(manifest.read_text())["config"])
            if config_key(base.as_dict()) != key:
                raise ValueError(f"the manifest under {manifest.parent} holds the config of another model")
        chain.insert(0, base)
    return chain


def chain_model(chain: Sequence[StegaConfig], progress: bool = True) -> StegaModel:
    """The model of the last config of ``chain`` (:func:`config_chain`'s order); only if it is not
    trained yet are the stages before it trained first, each that is not."""
    if not (model_dir(chain[-1]) / MANIFEST).exists():
        for config in chain[:-1]:
            if not (model_dir(config) / MANIFEST).exists():
                get_model(config, progress=progress)
    return get_model(chain[-1], progress=progress)


def save_model(folder: Path, model: StegaModel) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    strength = {"strength": model.encoder.strength} if model.encoder.strength != 1.0 else {}
    manifest = dict(model.manifest, config=model.config.as_dict(), **strength, sha256={
        name: save_weights(folder / f"{name}.safetensors", module)
        for name, module in (("encoder", model.encoder), ("decoder", model.decoder))})
    write_text(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))


def load_model(folder: Path) -> StegaModel:
    """Read a saved model, verifying each file's sha256 against the manifest."""
    manifest = json.loads((Path(folder) / MANIFEST).read_text())
    config = StegaConfig(**manifest["config"])
    encoder = FingerprintEncoder(config.n_bits, config.image_size, config.width)
    decoder = FingerprintDecoderNet(config.n_bits, config.image_size, config.width, config.decoder_head)
    for name, module in (("encoder", encoder), ("decoder", decoder)):
        load_weights(Path(folder) / f"{name}.safetensors", module, manifest["sha256"][name])
        module.eval()
    encoder.strength = float(manifest.get("strength", 1.0))
    return StegaModel(config, encoder, decoder, manifest)


def real_crops(config: StegaConfig) -> tuple[np.ndarray, np.ndarray]:
    """Train and val crops of the real base set for steganography training."""
    from ganprint.datasets import sample_crops

    train, _ = sample_crops("train", config.n_train, config.image_size, config.seed)
    val, _ = sample_crops("val", config.n_val, config.image_size, config.seed)
    return train, val


def get_model(config: StegaConfig | None = None, *, train: bool = True, progress: bool = True) -> StegaModel:
    """The model of ``config`` (default: the shipped one), training and caching it if needed."""
    config = config or StegaConfig()
    folder = model_dir(config)
    if (folder / MANIFEST).exists():
        return load_model(folder)
    if not train:
        raise FileNotFoundError(f"no trained steganography model for this config under {folder}")
    init = None
    if config.base:
        base_model = load_model(_key_dir(config.base))
        if base_model.config.decoder_head != config.decoder_head:
            raise ValueError(f"a model with the {config.decoder_head!r} decoder head cannot be fine-tuned from "
                             f"{config.base}, whose decoder has the {base_model.config.decoder_head!r} head (its "
                             "weights do not fit): train it from scratch (an empty base)")
        init = (base_model.encoder, base_model.decoder)
    train_images, val_images = real_crops(config)
    started = time.time()
    encoder, decoder, history, metrics = train_stega(config, train_images, val_images, progress=progress, init=init)
    manifest = {"val": metrics, "train_seconds": round(time.time() - started, 1),
                "epochs": len(history.losses), "best_epoch": history.best_epoch, "history": history.losses,
                "torch_threads": torch.get_num_threads()}
    model = StegaModel(config, encoder, decoder, manifest)
    save_model(folder, model)
    return model
