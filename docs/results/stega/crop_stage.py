"""A crop stage for the 64 px recipe (issue #34): robust64's stage-1 model (``ROBUST64_PLAIN``,
blur σ ≤ 2 and a random crop to 90%) adapted for a few epochs at a low λ to a training-time crop of
side fraction in [``--crop-min``, 1], centred (``--centre``, Yu 2021 §4.6's centre cropping, the
attack of the sweep) or at a random position, then (``--final``) the default's fine-tune on top.
Prints the model bars of ``model_bars.py`` (with the random-position crops).

    python docs/results/stega/crop_stage.py --crop-min 0.62 --lambda 10 --epochs 6 --centre --final
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from ganprint.plugins.stega.presets import ROBUST64_PLAIN, preset, refined, steganography_model

from model_bars import bars, emit  # noqa: E402  (the script beside this one)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop-min", type=float, required=True)
    parser.add_argument("--lambda", dest="lambda_final", type=float, default=10.0)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--centre", action="store_true", help="centre the training-time crop")
    parser.add_argument("--final", action="store_true", help="then the default's fine-tune and decoder phase")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    stage = refined(ROBUST64_PLAIN, max_epochs=args.epochs, crop_min=args.crop_min, crop_centre=args.centre,
                    lambda_final=args.lambda_final)
    model = refined(stage, max_epochs=16, lambda_final=100.0, psnr_target=35.5, decoder_epochs=8, attenuation=0.3)
    p = replace(preset("robust64"), name="crop-stage", stega=model if args.final else stage,
                stega_base=stage if args.final else ROBUST64_PLAIN)
    started = time.time()
    trained = steganography_model(p)
    emit({"config": p.stega.as_dict(), "train_seconds": round(time.time() - started, 1),
          "val": trained.manifest.get("val", {})} | bars(p, args.n), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
