"""The training-recipe experiment of ``datasets/README.md``: one zoo:default generator trained with a
changed width and generator moving average (EMA), its SWD to the real training crops printed at
each stop (resuming from the checkpoint between stops). Not part of the preset:

    python docs/results/zoo/recipe_experiment.py NAME FAMILY WIDTH EMA STOPS [CHECKPOINT_TO_RESUME]
    python docs/results/zoo/recipe_experiment.py w32ema dcgan 32 0.999 1000,2000,4000,8000,12000,16000
    python docs/results/zoo/recipe_experiment.py longer dcgan 16 0 6000 ~/.cache/ganprint/zoo-train/default/dcgan-s0-d0.pt
"""
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import torch

from ganprint.datasets import gan_families
from ganprint.datasets.gan_training import GeneratorConfig, sample, train_generator
from ganprint.datasets.swd import swd, swd_levels
from ganprint.datasets.zoo_train import swd_reference

torch.set_num_threads(1)
name, family, width, ema, stops = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
gan_families.FAMILIES[family] = dataclasses.replace(gan_families.FAMILIES[family], ema=ema)
checkpoint = Path(f"{name}.pt")
if len(sys.argv) > 6 and not checkpoint.exists():
    shutil.copy(Path(sys.argv[6]).expanduser(), checkpoint)
template = dict(image_size=32, batch_size=32, n_train=2000)
base = real = None
for iterations in (int(s) for s in stops.split(",")):
    config = GeneratorConfig(family, width=width, iterations=iterations, **template)
    if base is None:
        base, real = swd_reference(config)
    start = time.time()
    generator, _ = train_generator(config, checkpoint, progress=False, checkpoint_every=250)
    fakes = sample(generator, len(base), seed=999)
    print(json.dumps({"name": name, "iterations": iterations, "swd": round(swd(fakes, base), 1),
                      "levels": [round(v, 1) for v in swd_levels(fakes, base)], "real_heldout": round(real, 1),
                      "seconds": round(time.time() - start)}), flush=True)
