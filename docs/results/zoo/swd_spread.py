"""How much the zoo's SWD figures move with the draw: the SWD (×10³) to the real training crops of
five draws of real held-out crops (val + test regions; draw 0 is the manifest's reference), of
five other draws of training-region crops, and of five sample draws of every finished generator
of a preset (draw 0 is the manifest's figure), each with its mean and spread. It tells whether a
generator near the bar (the real held-out figure) is distinguishable from it. A generator trained
on swapped crops (``trainset_diff`` > 0) is also measured against its own training crops, beside
the real held-out crops measured against those same crops ("own" rows; a seeded random
1000 of its crops):

    python docs/results/zoo/swd_spread.py [PRESET]     # default: default
"""
import sys

import numpy as np
import torch

from ganprint.datasets import zoo_weights
from ganprint.datasets.gan_training import sample, training_crops
from ganprint.datasets.realset import sample_crops
from ganprint.datasets.swd import swd
from ganprint.datasets.zoo_presets import PRESETS
from ganprint.datasets.zoo_train import HELDOUT_SEED, swd_reference

DRAWS = 5


def report(name: str, values: list[float]) -> None:
    print(f"{name:18s} " + " ".join(f"{v:6.1f}" for v in values)
          + f"   mean {np.mean(values):5.1f}  sd {np.std(values, ddof=1):4.1f}", flush=True)


torch.set_num_threads(1)
preset = PRESETS[sys.argv[1] if len(sys.argv) > 1 else "default"]
directory = zoo_weights.weights_dir(preset)
manifest = zoo_weights.read_manifest(directory)
configs = preset.generators()
base, _ = swd_reference(configs[0])
n, size = len(base), preset.image_size
report("real held-out", [swd(sample_crops(("val", "test"), n, size, HELDOUT_SEED + k)[0], base) for k in range(DRAWS)])
report("real train, other", [swd(sample_crops("train", n, size, HELDOUT_SEED + k)[0], base) for k in range(DRAWS)])
for config in configs:
    if zoo_weights.entry_key(preset.name, config) in manifest:
        generator = zoo_weights.load_generator(preset.name, config, directory)
        draws = [sample(generator, n, seed=config.seed + 999 + 1000 * k) for k in range(DRAWS)]
        report(config.name, [swd(fakes, base) for fakes in draws])
        if config.trainset_diff:
            own = training_crops(config)
            own = own[np.random.default_rng(0).permutation(len(own))[:n]]  # a random n of its 2000 crops
            report(f"  own: {config.name}", [swd(fakes, own) for fakes in draws])
            report("  own: real held-out", [swd(sample_crops(("val", "test"), n, size, HELDOUT_SEED + k)[0], own)
                                            for k in range(DRAWS)])
