"""The zoo's presets and experiments (Yu et al. 2019, §4.2), as plain configuration.

An experiment is real images plus the images of a list of generators, each generator differing
from the others in one factor only:

- ``architectures``: one generator per family (seed 0, the whole base training set);
- ``seeds``: one family with several initialisation seeds;
- ``trainsets``: one family trained on base sets in which 0, 10, 100, ... crops are swapped for
  other training-region crops ("real subset diff #i").

All generators of a preset share iterations, minibatch size and data order. Sources are named
after the factor: ``progan``, ``sngan``...; ``dcgan-seed1``...; ``dcgan-diff10``...

============  =====  =================================  =======================================
preset        size   generators                         images per source (train / val / test)
============  =====  =================================  =======================================
smoke         16     5 families, seeds 0–3, diffs        40 / 10 / 20, trained on the fly in
                     0/10/100/256; 20 iterations         seconds (tests)
default       32     5 families, seeds 0–3, diffs        1000 / 200 / 400, sampled from the
                     0/10/100/1000/2000; 12000 its;      shipped weights (float16)
                     width 32 (progan 16), generator
                     EMA 0.999, DiffAugment translation
paper         64     5 families, seeds 0–9, diffs        4000 / 500 / 1000; trained by the user
                     0/1/10/100/1000/4000; 20000 its     (``bench zoo train paper``, hours)
============  =====  =================================  =======================================

The real class of every experiment has the same counts: its train images are crops of the
training region, its val and test images crops of the val and test regions
(:mod:`ganprint.datasets.realset`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ganprint.datasets.gan_training import GeneratorConfig

EXPERIMENTS = ("architectures", "seeds", "trainsets")
FAMILY_ORDER = ("progan", "sngan", "cramergan", "mmdgan", "dcgan")


@dataclass(frozen=True)
class Preset:
    """One preset: the generator template and the experiment grid, and how many images to draw.

    ``weights_dtype`` is the precision its shipped weights are stored in (generators always run in
    float32); a ``staged`` preset is one being trained across sessions, whose finished generators
    wait in ``datasets/weights_staged`` (not installed with the package) until all are done."""

    name: str
    template: GeneratorConfig
    widths: dict[str, int]
    seeds_family: str
    seeds: tuple[int, ...]
    trainsets_family: str
    diffs: tuple[int, ...]
    counts: tuple[int, int, int]
    shipped: bool
    weights_dtype: str = "float32"
    staged: bool = False

    @property
    def image_size(self) -> int:
        return self.template.image_size

    def generator(self, family: str, seed: int = 0, diff: int = 0) -> GeneratorConfig:
        return replace(self.template, family=family, width=self.widths.get(family, self.template.width),
                       seed=seed, trainset_diff=diff)

    def experiment(self, name: str) -> dict[str, GeneratorConfig]:
        """Source label → generator config, for experiment ``name``."""
        if name == "architectures":
            return {f: self.generator(f) for f in FAMILY_ORDER}
        if name == "seeds":
            return {f"{self.seeds_family}-seed{s}": self.generator(self.seeds_family, seed=s) for s in self.seeds}
        if name == "trainsets":
            return {f"{self.trainsets_family}-diff{d}": self.generator(self.trainsets_family, diff=d)
                    for d in self.diffs}
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")

    def generators(self) -> list[GeneratorConfig]:
        """Every distinct generator of the preset, in training order (experiments in turn)."""
        seen: dict[str, GeneratorConfig] = {}
        for name in EXPERIMENTS:
            for config in self.experiment(name).values():
                seen.setdefault(config.name, config)
        return list(seen.values())


PRESETS: dict[str, Preset] = {
    "smoke": Preset(
        "smoke", GeneratorConfig("dcgan", image_size=16, width=4, iterations=20, batch_size=16, n_train=256),
        widths={}, seeds_family="dcgan", seeds=(0, 1, 2, 3), trainsets_family="dcgan", diffs=(0, 10, 100, 256),
        counts=(40, 10, 20), shipped=False),
    "default": Preset(
        "default", GeneratorConfig("dcgan", image_size=32, width=32, iterations=12000, batch_size=32, n_train=2000,
                                   augment="translation", ema=0.999),
        widths={"progan": 16}, seeds_family="dcgan", seeds=(0, 1, 2, 3), trainsets_family="dcgan",
        diffs=(0, 10, 100, 1000, 2000), counts=(1000, 200, 400), shipped=True, weights_dtype="float16"),
    "paper": Preset(
        "paper", GeneratorConfig("progan", image_size=64, width=16, iterations=20000, batch_size=32, n_train=4000),
        widths={}, seeds_family="progan", seeds=tuple(range(10)), trainsets_family="progan",
        diffs=(0, 1, 10, 100, 1000, 4000), counts=(4000, 500, 1000), shipped=True),
}
