"""The bars of issue #34 that a zoo:stega preset's steganography model meets or misses before any
GAN is trained: fidelity, the averaging attacks on fingerprinted real crops
(``evaluation.data_secrecy``, App. A.2's estimate-and-subtract/add), and the JPEG and crop working
ranges of fingerprinted real test crops (Yu et al. 2021 §4.6, Fig. 3 "Data": the upper bound of
what a GAN trained on them can carry). The model is trained (and cached) if it is not.

    python docs/results/stega/model_bars.py --preset default [--n 300] [--out FILE.json] \
        [--blur SIGMA] [--crop-min FRACTION] [--jpeg-min QUALITY] [--head pool]

The lever flags replace the preset's training-time blur, crop and JPEG (0: off) and its decoder's
head in both of its models (the fine-tune's base and the fine-tune), so variants of a candidate are
measured without a preset of their own. A head other than the base's own needs a base trained from
scratch (``--preset default``).

Each fingerprint of the preset's publishers is embedded in the same ``n`` real test crops; the
sweeps use the attacks plugin's JPEG and crop at the strengths of ``bench stega eval``, and the
working range is where the bitwise accuracy stays at or above 0.75 (``ganprint.sweep``). Besides
the sweep's centre crop, the attacks plugin's random-position crop (Yu 2019's; 5-20% and 20-33% of
the side cut at a random place), worst of the fingerprints.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ganprint.atomic import write_text
from ganprint.cache import config_key
from ganprint.plugins.attacks.crop import Crop
from ganprint.plugins.stega import evaluation
from ganprint.plugins.stega.config import DECODER_HEADS, psnr
from ganprint.plugins.stega.presets import StegaPreset, preset, steganography_model
from ganprint.plugins.stega.publishers import database
from ganprint.plugins.stega.report import image_sweep_strengths
from ganprint.plugins.stega.train import embed
from ganprint.plugins.stega.weights import StegaModel
from ganprint.registry import load_registry
from ganprint.sweep import working_range

SWEEPS = ("jpeg", "crop")

# the attacks plugin's random-position crop (Yu 2019's), this fraction of the side cut
RANDOM_OFFSETS = ((0.05, 0.20), (0.20, 0.33))


def random_crops(p: StegaPreset, n: int, model: StegaModel | None = None) -> dict[str, float]:
    """Worst bitwise accuracy of the preset's fingerprints under random-position crops (with
    ``model`` in place of the preset's own if given)."""
    model, db = model or steganography_model(p), database(p)
    real = evaluation.real_test_crops(p, n)
    out = {}
    for offsets in RANDOM_OFFSETS:
        attack = Crop(offset_range=offsets)
        out[f"random crop, {offsets[0]:g}-{offsets[1]:g} of the side cut"] = min(
            evaluation.bitwise(model, attack(embed(model.encoder, real, bits), np.random.default_rng([p.seed, 7])), bits)
            for bits in db.fingerprints.values())
    return out


def with_levers(p: StegaPreset, blur: float | None, crop: float | None, jpeg: int | None,
                head: str | None = None) -> StegaPreset:
    """``p`` with the given levers (None: the preset's) in its base and its fine-tuned model."""
    levers = {k: v for k, v in (("blur_sigma", blur), ("crop_min", crop), ("jpeg_min_quality", jpeg),
                                ("decoder_head", head)) if v is not None}
    if not levers:
        return p
    if p.stega_base is None:
        return replace(p, stega=replace(p.stega, **levers))
    base = replace(p.stega_base, **levers)
    model = replace(p.stega, base=config_key(base.as_dict()), **levers)
    return replace(p, stega=model, stega_base=base)


def sweeps(p: StegaPreset, n: int, model: StegaModel | None = None) -> dict[str, dict]:
    """Bitwise accuracy of fingerprinted real test crops under each attack of :data:`SWEEPS` (with
    ``model`` in place of the preset's own if given)."""
    model, db = model or steganography_model(p), database(p)
    real = evaluation.real_test_crops(p, n)
    stego = {family: embed(model.encoder, real, db.fingerprints[family]) for family in p.families}
    factories = {attack: spec.factory for attack, spec in load_registry().attacks.items()}
    strengths = image_sweep_strengths(p.stega.image_size)
    out: dict[str, dict] = {"psnr": min(psnr(images, real) for images in stego.values()),
                            "bitwise": min(evaluation.bitwise(model, images, db.fingerprints[family])
                                           for family, images in stego.items())}
    for attack in SWEEPS:
        param, values = strengths[attack]
        accuracy = []
        for value in values:
            attacked = {family: factories[attack](**{param: value})(images, np.random.default_rng([p.seed, 7]))
                        for family, images in stego.items()}
            accuracy.append(min(evaluation.bitwise(model, images, db.fingerprints[family])
                                for family, images in attacked.items()))
        out[attack] = {"param": param, "values": values, "bitwise": accuracy,
                       "working_range": working_range(values, accuracy)}
    return out


def steganography_model_base_val(p: StegaPreset) -> dict:
    """The val metrics of the preset's base model (trained by :func:`steganography_model`)."""
    from ganprint.plugins.stega.weights import get_model

    return {} if p.stega_base is None else get_model(p.stega_base, train=False).manifest.get("val", {})


def bars(p: StegaPreset, n: int) -> dict:
    """The averaging attacks on real crops, the sweeps and the random-position crops of ``p``."""
    return ({"averaging_real": evaluation.data_secrecy(p.stega, n_estimate=1000, n_test=n)} | sweeps(p, n)
            | {"random_crops": random_crops(p, n)})


def emit(result: dict, out: Path | None) -> None:
    """Print ``result`` as JSON, and write it to ``out`` if given."""
    text = json.dumps(result, indent=1, default=str)
    print(text)
    if out is not None:
        write_text(out, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--n", type=int, default=300, help="real test crops (and fingerprinted copies per publisher)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    parser.add_argument("--blur", type=float, default=None, help="training-time blur sigma (0: off)")
    parser.add_argument("--crop-min", type=float, default=None, help="training-time crop fraction (0: off)")
    parser.add_argument("--jpeg-min", type=int, default=None, help="training-time JPEG minimum quality (0: off)")
    parser.add_argument("--head", choices=DECODER_HEADS, default=None, help="the decoder's head")
    args = parser.parse_args()
    torch.set_num_threads(1)
    p = with_levers(preset(args.preset), args.blur, args.crop_min, args.jpeg_min, args.head)
    model = steganography_model(p)
    emit({"preset": args.preset, "config": p.stega.as_dict(), "base_val": steganography_model_base_val(p),
          "val": model.manifest.get("val", {})} | bars(p, args.n), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
