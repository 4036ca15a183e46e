"""The training-recipe experiments of ``datasets/README.md``: one zoo:default generator trained with
a changed width, generator moving average (EMA) and DiffAugment policy, its SWD to the real
training crops printed at each stop (resuming from the checkpoint ``NAME.pt`` between stops). Not
part of the preset:

    python docs/results/zoo/recipe_experiment.py NAME FAMILY WIDTH EMA STOPS [--augment POLICY] [--seed S] [--resume CHECKPOINT]
    python docs/results/zoo/recipe_experiment.py w32ema dcgan 32 0.999 1000,2000,4000,8000,12000,16000
    python docs/results/zoo/recipe_experiment.py w32ema_t dcgan 32 0.999 2000,4000,8000,12000,16000 --augment translation
    python docs/results/zoo/recipe_experiment.py longer dcgan 16 0 6000 --resume ~/.cache/ganprint/zoo-train/default/dcgan-s0-d0.pt
"""
import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from ganprint.datasets.gan_training import GeneratorConfig, sample, train_generator
from ganprint.datasets.swd import swd, swd_levels
from ganprint.datasets.zoo_train import swd_reference

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("name")
parser.add_argument("family")
parser.add_argument("width", type=int)
parser.add_argument("ema", type=float, help="generator moving-average decay (0: none)")
parser.add_argument("stops", help="comma-separated iteration counts to report at")
parser.add_argument("--augment", default="", help="DiffAugment policy, e.g. translation or color,translation,cutout")
parser.add_argument("--seed", type=int, default=0, help="initialisation seed (default: 0)")
parser.add_argument("--resume", help="a checkpoint to start from (copied to NAME.pt)")
args = parser.parse_args()

torch.set_num_threads(1)
checkpoint = Path(f"{args.name}.pt")
if args.resume and not checkpoint.exists():
    shutil.copy(Path(args.resume).expanduser(), checkpoint)
template = dict(image_size=32, batch_size=32, n_train=2000)
base = real = None
for iterations in (int(s) for s in args.stops.split(",")):
    config = GeneratorConfig(args.family, width=args.width, iterations=iterations, ema=args.ema,
                             augment=args.augment, seed=args.seed, **template)
    if base is None:
        base, real = swd_reference(config)
    start = time.time()
    generator, _ = train_generator(config, checkpoint, progress=False, checkpoint_every=250)
    fakes = sample(generator, len(base), seed=999)
    print(json.dumps({"name": args.name, "iterations": iterations, "swd": round(swd(fakes, base), 1),
                      "levels": [round(v, 1) for v in swd_levels(fakes, base)], "real_heldout": round(real, 1),
                      "seconds": round(time.time() - start)}), flush=True)
