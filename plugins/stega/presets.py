"""The ``zoo:stega`` presets (Yu et al. 2021, §3 and §4; the recipes are this project's, see
docs/results/stega): which steganography model, which GAN publishers, how long each trains, and
the preset's own and an attacker's independently trained model (App. A.2).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Sequence

import numpy as np

from ganprint.cache import config_key
from ganprint.plugins.stega.config import StegaConfig
from ganprint.plugins.stega.weights import StegaModel, chain_model


@dataclass(frozen=True)
class StegaPreset:
    """What ``zoo:stega:<name>`` is built from."""

    name: str
    stega: StegaConfig
    families: tuple[str, ...] = ("dcgan", "sngan", "mmdgan")
    iterations: int = 1200
    width: int = 16
    n_train: int = 2000
    samples: tuple[int, int, int] = (300, 100, 200)
    real: tuple[int, int, int] = (300, 100, 200)
    seed: int = 0
    family_iterations: dict = field(default_factory=dict)
    stega_base: StegaConfig | None = None  # the model ``stega`` is fine-tuned from (its ``base``)
    ema: float | None = None  # the GANs' generator moving average (``GeneratorConfig.ema``)
    precision: str = ""  # the GANs' training arithmetic (``GeneratorConfig.precision``): "" float32, "bf16"
    family_precision: dict = field(default_factory=dict)  # per family, overriding ``precision``
    # per family, Adam settings replacing the family's: {"lr": (generator, critic), "betas": (b1, b2)}
    family_adam: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.stega_base is None) != (not self.stega.base) or (
                self.stega_base is not None and config_key(self.stega_base.as_dict()) != self.stega.base):
            raise ValueError("stega_base must be the config whose key is stega.base")
        for family, adam in self.family_adam.items():
            if family not in self.families or not set(adam) <= {"lr", "betas"}:
                raise ValueError(f"family_adam maps publishers of the preset to 'lr' and/or 'betas'; got {family}: {adam}")

    def publishers(self, families: Sequence[str] | None = None) -> list[str]:
        """``families`` (default: every publisher of the preset), each checked to be one of its
        publishers (a ValueError naming those that are not)."""
        if families is None:
            return list(self.families)
        unknown = [f for f in families if f not in self.families]
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a publisher of {self.name} (its publishers: "
                             f"{', '.join(self.families)})")
        return list(families)

    def iterations_of(self, family: str) -> int:
        return int(self.family_iterations.get(family, self.iterations))

    def precision_of(self, family: str) -> str:
        return self.family_precision.get(family, self.precision)

    def adam_of(self, family: str) -> dict:
        return dict(self.family_adam.get(family, {}))

    def as_dict(self) -> dict:
        config = asdict(self) | {"stega": self.stega.as_dict()}
        if self.stega_base is None:
            del config["stega_base"]  # keys of presets from before stega_base stay put
        else:
            config["stega_base"] = self.stega_base.as_dict()
        for name, off in (("ema", None), ("precision", ""), ("family_precision", {}), ("family_adam", {})):
            if config[name] == off:
                del config[name]  # keys of presets from before the option stay put
        return config


def refined(base: StegaConfig, **changes) -> StegaConfig:
    """The config of a model fine-tuned from the model of ``base``."""
    return replace(base, base=config_key(base.as_dict()), **changes)


def fine_tuned(base: StegaConfig) -> StegaConfig:
    """The default recipe's fine-tune of ``base`` (see below): 16 epochs at λ 100, the residual
    strength calibrated to 35.5 dB, then 8 epochs of the decoder alone at 30-100% strength."""
    return refined(base, max_epochs=16, lambda_final=100.0, psnr_target=35.5, decoder_epochs=8, attenuation=0.3)


# The default recipe: Yu 2021's objective with noise between encoder and decoder in training
# (StegaStamp's augmentation, not the paper's), which makes the fingerprint survive GAN training,
# then a fine-tune at a higher λ for fidelity whose residual strength is calibrated to 35.5 dB on
# val crops, keeping the epoch whose fingerprint best survives the noise, then the decoder alone
# taught to read fingerprints at 30-100% strength (docs/results/stega).
# NOISY is the ``small`` preset's model. PAPER_PLAIN is the paper's objective alone (how far its
# fingerprint transfers to each GAN: docs/results/stega).
NOISY_PLAIN = StegaConfig(secrecy_weight=0.0, max_epochs=16, noise_std=0.2, lambda_final=45.0)


NOISY = fine_tuned(NOISY_PLAIN)


# the same recipe at 64x64, the ``noisy64`` preset's model (its first stage is also the default's);
# its seven-layer decoder needs He's initialisation to leave chance
NOISY64_PLAIN = replace(NOISY_PLAIN, image_size=64, decoder_init="he")


NOISY64 = fine_tuned(NOISY64_PLAIN)


# the 64 px recipe with the decoder reading stego images through a Gaussian blur of σ ≤ 2 (a
# lower-frequency, less image-independent fingerprint) and a random crop to 90-100% of the side
# resized back (issue #34). From scratch with blur, crop to 67% and JPEG 50 the decoder stays at
# chance, and noisy64's stage-1 model adapted to them collapses, as it does with the crop to
# 67% alone (docs/results/stega); so noisy64's stage-1 model is adapted to the milder pair for 8
# epochs at its λ, then fine-tuned as noisy64's is. The ``default`` preset's model: it resists the
# averaging attacks and JPEG, which noisy64's does not, and a GAN with a gradient-penalty critic
# carries less of it (the trade-off of issue #34: docs/results/stega)
ROBUST64_PLAIN = refined(NOISY64_PLAIN, max_epochs=8, blur_sigma=2.0, crop_min=0.9)


ROBUST64 = fine_tuned(ROBUST64_PLAIN)


# the default's levers with a decoder that averages its last feature map over positions
# (``decoder_head="pool"``), which cannot start from noisy64's dense-head stage-1 model: trained
# from scratch through the blur and the 90% crop, for twice noisy64's epochs as it learns slowly
# through them (docs/results/stega), then fine-tuned as noisy64's is
POOL64_PLAIN = replace(NOISY64_PLAIN, decoder_head="pool", blur_sigma=2.0, crop_min=0.9, max_epochs=32)


POOL64 = fine_tuned(POOL64_PLAIN)


PAPER_PLAIN = StegaConfig(secrecy_weight=0.0, max_epochs=8)


PRESETS = {
    "smoke": StegaPreset("smoke", StegaConfig(n_bits=8, width=8, n_train=64, n_val=32, max_epochs=1, ramp_steps=2,
                                              secrecy_group=8),
                         iterations=3, width=8, n_train=64, samples=(12, 6, 6), real=(12, 6, 6)),
    # 64x64, the blur-and-crop recipe (ROBUST64 above), the GANs trained in bfloat16; cramergan
    # trains 8000 iterations, and sngan with the two time-scale rule (with the family's Adam
    # settings its spectrally normalised critic stalls and the generator collapses)
    "default": StegaPreset("default", ROBUST64, families=("sngan", "cramergan", "dcgan"), iterations=4000,
                           family_iterations={"cramergan": 8000, "sngan": 6000}, stega_base=ROBUST64_PLAIN,
                           precision="bf16", family_adam={"sngan": {"lr": (1e-4, 4e-4), "betas": (0.0, 0.9)}}),
    # 32x32, for images of the zoo's own size (the default reads 64x64): cramergan carries fewer of
    # the bits than the bar (docs/results/stega)
    "small": StegaPreset("small", NOISY, families=("dcgan", "sngan", "cramergan"), iterations=4000,
                         stega_base=NOISY_PLAIN),
    # the first default: the paper's objective alone (its generators are not shipped)
    "paper": StegaPreset("paper", PAPER_PLAIN, iterations=2000, family_iterations={"sngan": 1000, "mmdgan": 1200}),
    # the paper-objective model fine-tuned with the secrecy term: a content-dependent fingerprint
    "secret": StegaPreset("secret", refined(PAPER_PLAIN, secrecy_weight=1.0, max_epochs=4), families=("dcgan",),
                          iterations=1000, stega_base=PAPER_PLAIN),
}


# the default's publishers and GANs on the recipe without the blur and the crop: every family
# carries its fingerprint, which the averaging attacks forge and JPEG erases (docs/results/stega);
# not shipped
PRESETS["noisy64"] = replace(PRESETS["default"], name="noisy64", stega=NOISY64, stega_base=NOISY64_PLAIN)


# the default's publishers and GANs on the position-free decoder head's model (issue #34): not shipped
PRESETS["pool64"] = replace(PRESETS["default"], name="pool64", stega=POOL64, stega_base=POOL64_PLAIN)


# the presets whose models and generators ship in the package, the default first
SHIPPED_PRESETS = ("default", "small")


def shipped_preset_of_size(size: int) -> StegaPreset:
    """The first shipped preset whose steganography model reads ``size``×``size`` images."""
    for name in SHIPPED_PRESETS:
        if PRESETS[name].stega.image_size == size:
            return PRESETS[name]
    shipped = ", ".join(f"{PRESETS[n].stega.image_size}x{PRESETS[n].stega.image_size} ({n})" for n in SHIPPED_PRESETS)
    raise ValueError(f"no shipped steganography model reads {size}x{size} images (shipped: {shipped})")


def independent_configs(p: StegaPreset, seed: int) -> list[StegaConfig]:
    """The configs of a steganography model trained with the preset's whole recipe from another
    ``seed`` (initial weights, training crops, bits and training noise all drawn from it), the
    model trained from scratch first and each next one fine-tuned from the one before: the
    attacker's independently trained encoder of the ATS attack (Yu et al. 2021, App. A.2). Every
    stage is re-seeded, so no stage starts from the publisher's weights (the stages:
    :func:`recipe_chain`). The last stage's decoder phase is left out, as it trains the
    decoder alone and leaves the encoder as it was: the attack uses only the encoder."""
    if seed == p.stega.seed:
        raise ValueError(f"the independent encoder needs a seed other than the preset's ({seed})")
    chain: list[StegaConfig] = []
    for config in recipe_chain(p):
        base = config_key(chain[-1].as_dict()) if chain else ""
        chain.append(replace(config, seed=seed, base=base))
    chain[-1] = replace(chain[-1], decoder_epochs=0, attenuation=0.0)
    return chain


# how much of the preset's recipe the attacker's encoder goes through: "full" (every stage), or
# "base" (every stage but the last fine-tune, the residual strength then calibrated to the
# fine-tune's PSNR target on the attacker's own val crops: a cheaper stand-in, a fraction of the
# training)
ATTACKER_RECIPES = ("full", "base")


def independent_model(p: StegaPreset, seed: int, recipe: str = "full", progress: bool = True) -> StegaModel:
    """The attacker's model of :func:`independent_configs` (cached, or trained now, its untrained
    stages first); with ``recipe="base"`` the last base, at the preset's fidelity (see
    :data:`ATTACKER_RECIPES`)."""
    from ganprint.plugins.stega.config import random_bits
    from ganprint.plugins.stega.train import calibrate_strength
    from ganprint.plugins.stega.weights import real_crops

    if recipe not in ATTACKER_RECIPES:
        raise ValueError(f"recipe must be one of {ATTACKER_RECIPES}; got {recipe!r}")
    chain = independent_configs(p, seed)
    if len(chain) > 1 and recipe == "base":
        base = chain[-2]
        model = chain_model(chain[:-1], progress)
        if p.stega.psnr_target > 0:
            _, val = real_crops(base)
            bits = random_bits(len(val), base.n_bits, np.random.default_rng([seed, 2]))
            model.encoder.strength = calibrate_strength(model.encoder, val, bits, p.stega.psnr_target)
        return model
    return chain_model(chain, progress)


def preset(name: str) -> StegaPreset:
    if name not in PRESETS:
        raise ValueError(f"unknown zoo:stega preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name]


def recipe_chain(p: StegaPreset) -> list[StegaConfig]:
    """Every model the preset's steganography model is trained through, the one trained from
    scratch first and the preset's own last: each base's config is the preset's ``stega_base`` or
    any preset's model or base of that key, else it is read from its trained model
    (``weights.config_chain``)."""
    from ganprint.plugins.stega.weights import config_chain

    known = {config_key(c.as_dict()): c for q in PRESETS.values() for c in (q.stega, q.stega_base) if c is not None}
    if p.stega_base is not None:
        known[config_key(p.stega_base.as_dict())] = p.stega_base
    return config_chain(p.stega, known)


def steganography_model(p: StegaPreset, progress: bool = True) -> StegaModel:
    """The preset's trained encoder/decoder (shipped, cached, or trained now, the untrained
    stages of :func:`recipe_chain` first)."""
    return chain_model(recipe_chain(p), progress)
