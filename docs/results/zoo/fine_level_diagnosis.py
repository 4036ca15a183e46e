"""What the finest-level SWD gap of the shipped generators looks like: the SWD levels (×10³, finest
first) of real held-out crops after known degradations (Gaussian noise, Gaussian blur), next to
three shipped generators, with the standard deviation and kurtosis of the finest Laplacian level
(the SWD descriptors are normalised per set, so the distribution's shape, not its scale, is what
the SWD compares). Samples and references as the manifest's SWD. Table in ``datasets/README.md``:

    python docs/results/zoo/fine_level_diagnosis.py
"""
import numpy as np
import torch
from scipy import ndimage

from ganprint.datasets.gan_training import sample
from ganprint.datasets.realset import sample_crops
from ganprint.datasets.swd import laplacian_pyramid, swd_levels
from ganprint.datasets.zoo_presets import PRESETS
from ganprint.datasets.zoo_train import HELDOUT_SEED, swd_reference
from ganprint.datasets.zoo_weights import load_generator

torch.set_num_threads(1)
preset = PRESETS["default"]
base, _ = swd_reference(next(iter(preset.generators())))
heldout, _ = sample_crops(("val", "test"), len(base), 32, HELDOUT_SEED)
rng = np.random.default_rng(0)


def row(name: str, images: np.ndarray) -> None:
    images = np.clip(np.rint(images), 0, 255).astype(np.uint8)
    finest = laplacian_pyramid(images)[0]
    kurtosis = float(np.mean(finest ** 4) / np.mean(finest ** 2) ** 2)
    levels = " / ".join(f"{v:.1f}" for v in swd_levels(images, base))
    print(f"| {name} | {levels} | {finest.std():.1f} | {kurtosis:.1f} |", flush=True)


print("| images | SWD levels (32×32 / 16×16) | finest-level std | finest-level kurtosis |")
print("| --- | --- | --- | --- |")
row("real training crops (the reference itself)", base)
row("real held-out crops", heldout)
real = heldout.astype(np.float32)
for std in (2, 4, 8, 16):
    row(f"held-out + Gaussian noise, std {std}", real + rng.normal(0, std, real.shape))
for blur in (0.5, 1.0, 2.0):
    row(f"held-out, Gaussian blur σ {blur}", ndimage.gaussian_filter(real, (0, blur, blur, 0)))
for config in preset.generators():
    if config.family in ("dcgan", "progan", "sngan") and config.seed == 0 and config.trainset_diff == 0:
        row(f"{config.family} (shipped)", sample(load_generator(preset.name, config), len(base), seed=config.seed + 999))
