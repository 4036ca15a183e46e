"""Tables 1-2 of Ding, Thakur and Li with several GAN families *and* unseen seeds, on zoo:default.

zoo:default ships one seed of cramergan, mmdgan, progan and sngan (``architectures``) and four
seeds of dcgan (``seeds``); no single experiment has both. This joins them, keeping every image's
split: ``real``, the four one-seed families and ``dcgan-seed0..3`` (the architectures' ``dcgan``
is the same generator as ``dcgan-seed0`` and is left out). BFR-VAE is trained on every source but
``dcgan-seed2`` and ``dcgan-seed3``, as the paper leaves seeds out (Table 1: Pro4, SN4), and the
unseen seeds should be closer to the seen dcgan seeds than to any other family.

    python docs/results/bfrvae/families_and_seeds.py OUT_DIR
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ganprint.plugins.bfrvae.commands import attacks_from, report
from ganprint.dataset import ArrayDataset
from ganprint.plugins.bfrvae.experiments import analyse
from ganprint.registry import load_registry

SPLITS = ("train", "val", "test")
UNSEEN = ("dcgan-seed2", "dcgan-seed3")  # left out of training, as the paper's unseen seeds


def joined(registry) -> ArrayDataset:
    parts = {"architectures": ["real", "cramergan", "mmdgan", "progan", "sngan"],
             "seeds": ["dcgan-seed0", "dcgan-seed1", "dcgan-seed2", "dcgan-seed3"]}
    images, labels, splits = [], [], []
    for experiment, sources in parts.items():
        dataset = registry.open_dataset(f"zoo:default/{experiment}")
        for split in SPLITS:
            batch = dataset.load(split, sources)
            images.append(batch.images)
            labels += list(batch.labels)
            splits += [split] * len(batch.labels)
    return ArrayDataset("zoo:default/architectures+seeds", np.concatenate(images), labels, splits)


def main(out: Path) -> None:
    registry = load_registry()
    dataset = joined(registry)
    reference = [s for s in dataset.sources if s not in UNSEEN]
    summary = analyse(dataset, out, reference=reference, attacks=attacks_from(registry, "noise,blur,jpeg"),
                      params={"progress": True})
    print(f"dataset {dataset.name} ({dataset.content_hash()}), seed 0\n")
    print(report(summary))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
