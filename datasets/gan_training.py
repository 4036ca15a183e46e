"""Training one zoo generator, resumably, through :func:`ganprint.training.train_iterations`.

A generator is fixed by a :class:`GeneratorConfig`: family, image size, width, iterations,
minibatch size, initialisation seed, and its training set (``n_train`` real training crops of
which ``trainset_diff`` are swapped for other training-region crops, Yu et al. 2019 §4.2
"real subset diff #i"). The data order is :func:`ganprint.training.sample_indices` of the
``data_seed``, the same for every run of an experiment, so runs that differ in the seed or in a
few training images see the same minibatch positions in the same order. Two training-recipe
options change how it is trained, for every family alike: ``augment``, a DiffAugment policy
(:mod:`ganprint.datasets.gan_augment`), and ``ema``, the decay of a generator moving average that
overrides the family's own (ProGAN keeps one at 0.999, the others none). A third, ``precision``,
changes only how the arithmetic is done: ``"bf16"`` runs every forward pass of training under
bfloat16 autocast on channels-last tensors (the weights, the optimiser and the losses stay float32):
faster than float32 on a CPU with bfloat16 matrix units (AMX or AVX512-BF16), slower on one
without, and not free (a GAN may need more iterations to learn the same detail); timings in
``tests/perf/test_perf_zoo.py`` and docs/results/stega. Sampling is always float32. ``lr`` and
``betas`` replace the family's Adam settings, e.g. the two time-scale update rule (Heusel et al.
2017: a critic learning faster than its generator), which keeps sngan's spectrally normalised
critic from stalling at 64×64 (docs/results/stega).
"""
from __future__ import annotations

import copy
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ganprint.cache import without_defaults
from ganprint.datasets.gan_augment import AugmentedDiscriminator, parse_policy
from ganprint.datasets.gan_families import FAMILIES, Z_DIM
from ganprint.datasets.realset import sample_crops
from ganprint.seeding import seed_everything
from ganprint.training import sample_indices, seeded_generator, to_images, to_tensor, train_iterations

BASE_SEED, POOL_SEED = 100, 101
# "" is float32 throughout; "bf16" is bfloat16 autocast on channels-last tensors (see module)
PRECISIONS = ("", "bf16")


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that determines a trained generator (and so its cache and checkpoint key)."""

    family: str
    image_size: int
    width: int
    iterations: int
    batch_size: int = 64
    seed: int = 0
    n_train: int = 2000
    trainset_diff: int = 0
    data_seed: int = 0
    augment: str = ""
    ema: float | None = None
    precision: str = ""
    lr: tuple[float, float] | None = None  # Adam's (generator, critic) learning rates; None: the family's
    betas: tuple[float, float] | None = None  # Adam's betas for both; None: the family's

    def __post_init__(self) -> None:
        for name in ("lr", "betas"):
            value = getattr(self, name)
            if value is not None:  # JSON gives lists; keep configs equal whichever way they were made
                object.__setattr__(self, name, tuple(float(v) for v in value))
        if self.lr is not None and (len(self.lr) != 2 or not all(0 < v < 1 for v in self.lr)):
            raise ValueError(f"lr must be two learning rates in (0, 1), the generator's and the critic's; got {self.lr}")
        if self.betas is not None and (len(self.betas) != 2 or not all(0 <= v < 1 for v in self.betas)):
            raise ValueError(f"betas must be two numbers in [0, 1); got {self.betas}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {self.precision!r}")
        if self.family not in FAMILIES:
            raise ValueError(f"unknown GAN family {self.family!r}; known: {', '.join(FAMILIES)}")
        parse_policy(self.augment)
        if self.ema is not None and not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1); got {self.ema}")
        if not 0 <= self.trainset_diff <= self.n_train:
            raise ValueError(f"trainset_diff must be in 0..n_train; got {self.trainset_diff}")

    @property
    def name(self) -> str:
        """The generator's short name, e.g. ``progan-s0-d0``."""
        return f"{self.family}-s{self.seed}-d{self.trainset_diff}"

    def as_dict(self) -> dict:
        """The fields, without the training-recipe options left at their defaults (so configs
        written before those options existed, e.g. in the shipped manifest, still compare equal)."""
        return without_defaults(asdict(self), RECIPE_DEFAULTS)


RECIPE_DEFAULTS = {"augment": "", "ema": None, "precision": "", "lr": None, "betas": None}


def training_crops(config: GeneratorConfig) -> np.ndarray:
    """The real crops a generator trains on: the base set with its first ``trainset_diff``
    crops replaced by crops from a second draw of the training region."""
    base, _ = sample_crops("train", config.n_train, config.image_size, BASE_SEED)
    if config.trainset_diff:
        pool, _ = sample_crops("train", config.trainset_diff, config.image_size, POOL_SEED)
        base = np.concatenate([pool, base[config.trainset_diff:]])
    return base


def build(config: GeneratorConfig) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Freshly initialised (generator, discriminator) from ``config.seed``."""
    family = FAMILIES[config.family]
    seed_everything(config.seed)
    return family.generator(config.image_size, config.width), family.discriminator(config.image_size, config.width)


def train_generator(config: GeneratorConfig, checkpoint: Path | None = None, *, progress: bool = True,
                    checkpoint_every: int = 500, images: np.ndarray | None = None,
                    on_checkpoint: Callable[[int], None] | None = None
                    ) -> tuple[torch.nn.Module, list[dict[str, float]]]:
    """Train (or resume training of) the generator of ``config``; return the generator to sample
    from (the moving average for families that keep one) in eval mode, and the loss log.
    ``images`` (uint8) replace the training crops, e.g. their fingerprinted copies (Yu et al. 2021 §3)."""
    family = FAMILIES[config.family]
    G, D = build(config)
    fast = config.precision == "bf16"
    if fast:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    policy = parse_policy(config.augment)
    D_seen = AugmentedDiscriminator(D, policy) if policy else D
    ema = family.ema if config.ema is None else config.ema
    lr, betas = config.lr or family.lr, config.betas or family.betas
    opt_g = torch.optim.Adam(G.parameters(), lr=lr[0], betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=lr[1], betas=betas)
    modules: dict = {"G": G, "D": D, "opt_g": opt_g, "opt_d": opt_d}
    G_ema = None
    if ema:
        G_ema = copy.deepcopy(G).requires_grad_(False)
        modules["G_ema"] = G_ema
    real_all = to_tensor(training_crops(config) if images is None else images, torch.device("cpu"))
    if fast:
        real_all = real_all.contiguous(memory_format=torch.channels_last)
    n, b = len(real_all), config.batch_size

    def autocast():
        return torch.autocast("cpu", dtype=torch.bfloat16) if fast else nullcontext()

    def step(iteration: int) -> dict[str, float]:
        real = real_all[sample_indices(n, b, config.data_seed, iteration)]
        with autocast():
            fake = G(torch.randn(b, Z_DIM))
            fake2 = G(torch.randn(b, Z_DIM)) if family.second_fake else None
        opt_d.zero_grad(set_to_none=True)
        with autocast():
            d_loss = family.d_loss(D_seen, real, fake, fake2)
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        D.requires_grad_(False)
        with autocast():
            g_loss = family.g_loss(D_seen, real, fake, fake2)
        g_loss.backward()
        D.requires_grad_(True)
        opt_g.step()
        if G_ema is not None:
            with torch.no_grad():
                for pe, p in zip(G_ema.parameters(), G.parameters()):
                    pe.lerp_(p, 1 - ema)
                for be, bb in zip(G_ema.buffers(), G.buffers()):
                    be.copy_(bb)
        return {"d": d_loss.item(), "g": g_loss.item()}

    log = train_iterations(step, modules, n_iterations=config.iterations, seed=config.seed,
                           checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                           desc=config.name, progress=progress, on_checkpoint=on_checkpoint)
    out = G_ema if G_ema is not None else G
    return out.eval(), log


def generator_module(config: GeneratorConfig) -> torch.nn.Module:
    """An untrained generator of the right shape for loading weights into."""
    return FAMILIES[config.family].generator(config.image_size, config.width)


@torch.no_grad()
def sample(generator: torch.nn.Module, n: int, seed: int, batch_size: int = 256) -> np.ndarray:
    """``n`` uint8 images from ``generator`` (eval mode) with latents from a seeded generator."""
    generator.eval()
    rng = seeded_generator(seed)
    parts = [to_images(generator(torch.randn(min(batch_size, n - i), Z_DIM, generator=rng)))
             for i in range(0, n, batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, 0, 0, 3), np.uint8)
