"""SWD per Laplacian-pyramid level (×10³, finest first) of every shipped zoo:default generator and
of real held-out crops, against the real training crops; the samples and references are those of
the manifest's SWD (``datasets/zoo_train.py``). Produces the table in ``datasets/README.md``:

    python docs/results/zoo/swd_levels.py
"""
import torch

from ganprint.datasets.gan_training import sample
from ganprint.datasets.realset import sample_crops
from ganprint.datasets.swd import swd_levels
from ganprint.datasets.zoo_presets import PRESETS
from ganprint.datasets.zoo_train import HELDOUT_SEED, swd_reference
from ganprint.datasets.zoo_weights import load_generator

torch.set_num_threads(1)
preset = PRESETS["default"]
base = None
for config in preset.generators():
    if base is None:
        base, _ = swd_reference(config)
        heldout, _ = sample_crops(("val", "test"), len(base), config.image_size, HELDOUT_SEED)
        print("real-heldout", [round(v, 1) for v in swd_levels(heldout, base)], flush=True)
    generator = load_generator(preset.name, config)
    print(config.name, [round(v, 1) for v in swd_levels(sample(generator, len(base), seed=config.seed + 999), base)],
          flush=True)
