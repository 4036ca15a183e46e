"""What a steganography model of Yu et al. 2021 (§3, App. A.1) is trained from: its config (the
model's cache key), and the two measures training and evaluation share (PSNR, random bits).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np



# "" keeps torch's default initialisation of the decoder; "he" draws its convolutions from He et al.'s
# ReLU-preserving normal, without which a 64 px decoder (seven plain ReLU convolutions) stays at chance
DECODER_INITS = ("", "he")


# how the decoder reads its last feature map (``model.FingerprintDecoderNet``'s head): "dense" flattened
# (the paper's decoder), "pool" averaged over positions
DECODER_HEADS = ("dense", "pool")


# training-time JPEG draws its quality from [jpeg_min_quality, JPEG_MAX_QUALITY]
JPEG_MAX_QUALITY = 95


@dataclass(frozen=True)
class StegaConfig:
    """Everything the trained encoder/decoder depend on (their cache key).

    ``base`` is the config key of a trained model to start from (fine-tuning, e.g. adding the
    secrecy term to a model trained with the plain objective); λ then starts at ``lambda_final``.
    """

    n_bits: int = 32
    image_size: int = 32
    width: int = 16
    n_train: int = 2048
    n_val: int = 256
    batch_size: int = 32
    max_epochs: int = 10
    learning_rate: float = 1e-3
    accept_acc: float = 0.95
    lambda_final: float = 40.0
    ramp_steps: int = 200
    secrecy_weight: float = 1.0
    secrecy_group: int = 16
    seed: int = 0
    base: str = ""
    blur_sigma: float = 0.0
    noise_std: float = 0.0
    psnr_target: float = 0.0
    decoder_epochs: int = 0
    attenuation: float = 0.0
    decoder_init: str = ""
    jpeg_min_quality: int = 0
    crop_min: float = 0.0
    independence_weight: float = 0.0
    crop_centre: bool = False
    decoder_head: str = "dense"

    def __post_init__(self) -> None:
        if self.decoder_init not in DECODER_INITS:
            raise ValueError(f"decoder_init must be one of {DECODER_INITS}; got {self.decoder_init!r}")
        if self.decoder_head not in DECODER_HEADS:
            raise ValueError(f"decoder_head must be one of {DECODER_HEADS}; got {self.decoder_head!r}")
        if self.jpeg_min_quality and not 1 <= self.jpeg_min_quality <= JPEG_MAX_QUALITY:
            raise ValueError(f"jpeg_min_quality must be 0 (off) or in 1..{JPEG_MAX_QUALITY}; got {self.jpeg_min_quality}")
        if self.crop_min and not 0 < self.crop_min < 1:
            raise ValueError(f"crop_min must be 0 (off) or a fraction of the side in (0, 1); got {self.crop_min}")
        if self.crop_centre and not self.crop_min:
            raise ValueError("crop_centre places the training-time crop; it needs a crop_min")
        if self.independence_weight < 0:
            raise ValueError(f"independence_weight must be >= 0; got {self.independence_weight}")

    def as_dict(self) -> dict:
        """The config as a dict; an empty ``base`` and switched-off perturbations are left out, so
        keys of models trained before they existed stay put."""
        config = asdict(self)
        for name, off in (("base", ""), ("blur_sigma", 0.0), ("noise_std", 0.0), ("psnr_target", 0.0),
                          ("decoder_epochs", 0), ("attenuation", 0.0), ("decoder_init", ""), ("jpeg_min_quality", 0),
                          ("crop_min", 0.0), ("independence_weight", 0.0), ("crop_centre", False),
                          ("decoder_head", "dense")):
            if config[name] == off:
                del config[name]
        return config


def psnr(stego: np.ndarray, clean: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB between two uint8 batches."""
    mse = np.mean((stego.astype(np.float64) - clean.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-12)))


def random_bits(n: int, n_bits: int, rng: np.random.Generator) -> np.ndarray:
    """Uniformly random fingerprints, uint8 (n, n_bits)."""
    return rng.integers(0, 2, size=(n, n_bits), dtype=np.uint8)


def bits_of(logits: np.ndarray) -> np.ndarray:
    """The bits (uint8) a decoder's bit logits read: 1 where the logit is above 0 (0 reads 0)."""
    return (np.asarray(logits) > 0).astype(np.uint8)
