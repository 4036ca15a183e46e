"""The artificial-fingerprint pipeline of Yu et al. 2021, §3 (Fig. 1), on the GAN zoo, stage by stage:

1. steganography model (``model``, trained by ``train`` from a ``config``, through the training
   perturbations of ``augment``; shipped, cached or trained by ``weights``) on real training crops;
2. presets (``presets``): which model, which publishers, how long each GAN trains;
3. GAN publishers (``publishers``): one fingerprint per publisher (``database``), its copy of the
   zoo's training crops through the encoder, a zoo GAN trained on it by the zoo's own training code
   (``ganprint.datasets.train_generator``), unchanged — the GAN is a black box;
4. sampling (this module): the ``zoo:stega`` dataset, real crops (no fingerprint, ``bits=None``)
   and samples of each fingerprinted GAN recording its publisher's bits, cached as one sealed
   ``.npz`` (a file failing its sha256 check is reported in one line and built again);
5. evaluation (``evaluation``, ``secrecy``, ``ats``, ``report``): the paper's tables, attacks and
   secrecy tests.

This module also re-exports the presets' and publishers' public names, so ``pipeline.X`` reaches
every stage. The generators of the ``default`` (64 px) and ``small`` (32 px) presets ship in
``plugins/stega/weights/gans/<preset>/``, so building ``zoo:stega`` or ``zoo:stega:small`` needs no
training.
"""
from __future__ import annotations


import numpy as np

from ganprint.cache import config_key
from ganprint.dataset import SPLITS, ArrayDataset
from ganprint.interfaces import REAL
from ganprint.plugins.stega.presets import (  # noqa: F401  (the pipeline's public names, re-exported)
    ATTACKER_RECIPES, NOISY, NOISY64, NOISY64_PLAIN, NOISY_PLAIN, PAPER_PLAIN, PRESETS, SHIPPED_PRESETS, StegaPreset,
    independent_configs, independent_model, preset, refined, shipped_preset_of_size, steganography_model)
from ganprint.plugins.stega.publishers import (  # noqa: F401
    CHECKPOINT_EVERY, CURVE_EVERY, CURVE_SAMPLES, CURVE_SEED, DECODER_PHASE, SHIPPED_GANS, clean_generator, database,
    fingerprinted_crops, fingerprinted_generator, generator_config, ship, shipped_generators, train_generators,
    transfer_curve, work_dir, _read_sealed_npz, _save_sealed)
from ganprint.plugins.stega.weights import get_model  # noqa: F401


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
