"""The bars of issue #34 that a zoo:stega preset's steganography model meets or misses before any
GAN is trained: fidelity, the averaging attacks on fingerprinted real crops
(``evaluation.data_secrecy``, App. A.2's estimate-and-subtract/add), and the JPEG and crop working
ranges of fingerprinted real test crops (Yu et al. 2021 §4.6, Fig. 3 "Data": the upper bound of
what a GAN trained on them can carry). The model is trained (and cached) if it is not.

    python docs/results/stega/model_bars.py --preset robust64 [--n 300] [--out FILE.json]

Each fingerprint of the preset's publishers is embedded in the same ``n`` real test crops; the
sweeps use the attacks plugin's JPEG and crop at the strengths of ``bench stega eval``, and the
working range is where the bitwise accuracy stays at or above 0.75 (``ganprint.sweep``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ganprint.atomic import write_text
from ganprint.plugins.stega import evaluation
from ganprint.plugins.stega.config import psnr
from ganprint.plugins.stega.presets import preset, steganography_model
from ganprint.plugins.stega.publishers import database
from ganprint.plugins.stega.report import image_sweep_strengths
from ganprint.plugins.stega.train import embed
from ganprint.registry import load_registry
from ganprint.sweep import working_range

SWEEPS = ("jpeg", "crop")


def sweeps(name: str, n: int) -> dict[str, dict]:
    """Bitwise accuracy of fingerprinted real test crops under each attack of :data:`SWEEPS`."""
    p = preset(name)
    model, db = steganography_model(p), database(p)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="robust64")
    parser.add_argument("--n", type=int, default=300, help="real test crops (and fingerprinted copies per publisher)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    p = preset(args.preset)
    model = steganography_model(p)
    result = {"preset": args.preset, "val": model.manifest.get("val", {}),
              "averaging_real": evaluation.data_secrecy(p.stega, n_estimate=1000, n_test=args.n)}
    result |= sweeps(args.preset, args.n)
    text = json.dumps(result, indent=1, default=str)
    print(text)
    if args.out is not None:
        write_text(args.out, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
