"""Can the decoder alone learn to read a zoomed fingerprint? A preset's encoder is kept as trained
(so its stego images, and every GAN trained on them, stay as they are) and its decoder phase
(``train.refine_decoder``: the decoder alone, the residual attenuated to 30-100%) is run again on
the trained decoder, now through a training crop of side U[``--crop-min``, 1] resized back:
centred (Yu et al. 2021 §4.6's centre crop), at a random position, or one of the two at random per
batch (``mixed``). Then the model bars of ``model_bars.py`` (JPEG and centre-crop sweeps, random
crops; 300 real test crops, worst of the preset's fingerprints) and the bitwise accuracy of 500
samples of one of the preset's cached fingerprinted GANs, with the new decoder and the old.

    python docs/results/stega/decoder_crop.py --preset default --mode mixed --crop-min 0.6 \
        [--epochs 8] [--gan-family cramergan] [--gan-precision ""] [--out FILE.json]

``--mode none`` measures the preset's own decoder. ``--gan-precision`` picks the GAN of the
preset with that training arithmetic ("" float32, "bf16"), which must be trained already.
"""
from __future__ import annotations

import argparse
import copy
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ganprint.plugins.stega import evaluation, train
from ganprint.plugins.stega.augment import TrainingPerturbation
from ganprint.plugins.stega.config import random_bits
from ganprint.plugins.stega.presets import preset, steganography_model
from ganprint.plugins.stega.publishers import database, fingerprinted_generator
from ganprint.plugins.stega.weights import StegaModel, real_crops

from model_bars import emit, random_crops, sweeps  # noqa: E402  (the script beside this one)

MODES = ("none", "centre", "random", "mixed")


class MixedCrop(TrainingPerturbation):
    """The training perturbation with its crop centred or at a random position, at even odds per
    batch."""

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        self.crop_centre = bool(self.geometry_rng.integers(2))
        return super().__call__(images)


def retrained_decoder(model: StegaModel, mode: str, crop_min: float, epochs: int) -> StegaModel:
    """``model`` with its decoder phase run again through the crop of ``mode``."""
    config = replace(model.config, crop_min=crop_min, crop_centre=mode == "centre", decoder_epochs=epochs)
    decoder = copy.deepcopy(model.decoder)
    train_images, val = real_crops(config)
    val_bits = random_bits(len(val), config.n_bits, np.random.default_rng([config.seed, 2]))  # as train_stega's
    perturbation = train.TrainingPerturbation
    if mode == "mixed":
        train.TrainingPerturbation = MixedCrop
    try:
        train.refine_decoder(config, model.encoder, decoder, train_images, val, val_bits, progress=False)
    finally:
        train.TrainingPerturbation = perturbation
    return StegaModel(model.config, model.encoder, decoder, {})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--mode", choices=MODES, default="mixed")
    parser.add_argument("--crop-min", type=float, default=0.6)
    parser.add_argument("--epochs", type=int, default=8, help="epochs of the decoder phase")
    parser.add_argument("--gan-family", default="cramergan")
    parser.add_argument("--gan-precision", default="", choices=("", "bf16"))
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    p = preset(args.preset)
    model = steganography_model(p, progress=False)
    start = time.perf_counter()
    refit = model if args.mode == "none" else retrained_decoder(model, args.mode, args.crop_min, args.epochs)
    seconds = time.perf_counter() - start
    generator, _ = fingerprinted_generator(replace(p, precision=args.gan_precision), args.gan_family, progress=False)
    samples = evaluation.gan_samples(generator, 500, 11)
    bits = database(p).fingerprints[args.gan_family]
    emit({"preset": p.name, "mode": args.mode, "crop_min": args.crop_min, "decoder_phase_seconds": round(seconds),
          f"{args.gan_family} samples, this decoder": evaluation.bitwise(refit, samples, bits),
          f"{args.gan_family} samples, the preset's decoder": evaluation.bitwise(model, samples, bits)}
         | sweeps(p, args.n, refit) | {"random_crops": random_crops(p, args.n, refit)}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
