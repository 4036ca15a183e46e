"""A crop stage for the 64 px recipe (issue #34): the default's stage-1 model (``ROBUST64_PLAIN``,
blur σ ≤ 2 and a random crop to 90%) adapted for a few epochs at a low λ to a training-time crop of
side fraction in [``--crop-min``, 1], centred (``--centre``, Yu 2021 §4.6's centre cropping, the
attack of the sweep) or at a random position, then (``--final``) the default's fine-tune on top;
without ``--crop-min``, the fine-tune alone on the start.
Prints the model bars of ``model_bars.py`` (with the random-position crops).

With ``--head pool`` the stage adapts instead a model of the default's stage-1 levers (blur σ ≤ 2, a
random crop to 90%) trained from scratch with the decoder head that averages over positions
(``decoder_head="pool"``, for ``--start-epochs``; the dense head's weights do not fit it).

    python docs/results/stega/crop_stage.py --crop-min 0.62 --lambda 10 --epochs 6 --centre --final
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from ganprint.plugins.stega.config import DECODER_HEADS
from ganprint.plugins.stega.presets import NOISY64_PLAIN, ROBUST64_PLAIN, fine_tuned, preset, refined
from ganprint.plugins.stega.weights import chain_model

from model_bars import bars, emit  # noqa: E402  (the script beside this one)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crop-min", type=float, default=None,
                        help="the stage's crop; without it, no stage: the fine-tune adapts the start itself")
    parser.add_argument("--lambda", dest="lambda_final", type=float, default=10.0)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--centre", action="store_true", help="centre the training-time crop")
    parser.add_argument("--final", action="store_true", help="then the default's fine-tune and decoder phase")
    parser.add_argument("--head", choices=DECODER_HEADS, default="dense", help="the decoder's head")
    parser.add_argument("--start-epochs", type=int, default=16,
                        help="with --head pool: epochs of the from-scratch model the stage adapts")
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = ROBUST64_PLAIN
    if args.head != "dense":
        start = replace(NOISY64_PLAIN, decoder_head=args.head, blur_sigma=ROBUST64_PLAIN.blur_sigma,
                        crop_min=ROBUST64_PLAIN.crop_min, max_epochs=args.start_epochs)
    chain = [start]
    if args.crop_min is not None:
        chain.append(refined(start, max_epochs=args.epochs, crop_min=args.crop_min, crop_centre=args.centre,
                             lambda_final=args.lambda_final))
    if args.final or args.crop_min is None:
        chain.append(fine_tuned(chain[-1]))
    p = replace(preset("default"), name="crop-stage", stega=chain[-1], stega_base=chain[-2])
    started = time.time()
    trained = chain_model(chain)
    emit({"config": p.stega.as_dict(), "train_seconds": round(time.time() - started, 1),
          "val": trained.manifest.get("val", {})} | bars(p, args.n), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
