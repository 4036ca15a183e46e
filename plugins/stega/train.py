"""Steganography training of Yu et al. 2021, §3 (Eq. 1–4) and App. A.1, with a secrecy term.

The encoder E and decoder D are trained jointly on real training crops with random fingerprints:
``BCE(D(E(x, w)), w) + λ · MSE(E(x, w), x)``. λ stays 0 until the running bitwise accuracy passes
``accept_acc`` (0.95, as the paper), then rises linearly to ``lambda_final`` over
``ramp_steps`` steps.

Secrecy (App. A.2 and the weakness found before this work: the stego-minus-clean residual was
mostly an image-independent pattern, so its mean over many images could be added to clean images
to forge the fingerprint, or subtracted to remove it). Each batch holds a *publisher group*: its
first ``secrecy_group`` images share one fingerprint, as a GAN publisher's data do. The group's mean
residual r̄ — the attacker's estimate — is added to the other, clean images of the batch, whose
decoded bits must stay what they were without it (BCE towards the clean image's decoded bits, which
are unrelated to the fingerprint), and subtracted from the group's stego images,
which must still decode to the fingerprint. Weighted by ``secrecy_weight`` (0 gives the paper's
plain objective) and switched on with the λ ramp: before the decoder reads anything the two goals
only fight each other. This forces the fingerprint to depend on the image content.

Beyond the paper (docs/results/stega): with a ``psnr_target`` the residual strength is calibrated
after every epoch so that the val stego images sit at exactly that PSNR, and the epoch kept is the
one whose fingerprint best survives the training noise at that fidelity (``calibrate_strength``);
``decoder_epochs`` then train the decoder alone on fingerprints scaled down at random, to no less
than ``attenuation`` (``refine_decoder``), leaving the encoder, and so the stego images, unchanged.
"""
from __future__ import annotations

import warnings
from typing import Mapping

import numpy as np
import torch
from torch.nn import functional as F

from ganprint.plugins.stega.augment import TrainingPerturbation
from ganprint.plugins.stega.config import StegaConfig, bits_of, psnr, random_bits
from ganprint.plugins.stega.model import FingerprintDecoderNet, FingerprintEncoder
from ganprint.seeding import seed_everything
from ganprint.training import History, predict_batched, to_tensor, train_epochs


class LambdaSchedule:
    """λ = 0 until the running bitwise accuracy passes ``accept_acc``, then a linear ramp."""

    def __init__(self, accept_acc: float, final: float, ramp_steps: int, momentum: float = 0.9) -> None:
        self.accept_acc, self.final, self.ramp_steps, self.momentum = accept_acc, final, ramp_steps, momentum
        self.running_acc = 0.5
        self.ramp_start: int | None = None
        self.step = 0

    @property
    def ramped(self) -> bool:
        return self.ramp_start is not None and self.step - self.ramp_start >= self.ramp_steps

    def update(self, batch_acc: float) -> float:
        """Record this step's bitwise accuracy; return the λ for the step."""
        self.running_acc = self.momentum * self.running_acc + (1 - self.momentum) * batch_acc
        if self.ramp_start is None and self.running_acc > self.accept_acc:
            self.ramp_start = self.step
        lam = 0.0 if self.ramp_start is None else self.final * min(1.0, (self.step - self.ramp_start) / self.ramp_steps)
        self.step += 1
        return lam


def calibrate_strength(encoder: FingerprintEncoder, images: np.ndarray, bits: np.ndarray, target_psnr: float,
                       rounds: int = 3) -> float:
    """The residual strength that puts the uint8 stego images of ``images`` at ``target_psnr`` dB.

    Scaling the residual by α scales its MSE by α², so α = 10^((PSNR − target) / 20) lands on the
    target up to the uint8 rounding and clipping; a few rounds of the same step absorb those."""
    was = encoder.strength
    strength = 1.0
    try:
        for _ in range(rounds):
            encoder.strength = strength
            strength *= 10 ** ((psnr(embed(encoder, images, bits), images) - target_psnr) / 20)
    finally:
        encoder.strength = was
    return float(strength)


def independent_share(residuals: torch.Tensor) -> torch.Tensor:
    """The image-independent share of residuals (stego − clean) of images that share one
    fingerprint: the energy of their mean over their mean energy. 1 for a fixed pattern; about
    1 / len(residuals) for residuals that are independent from image to image."""
    mean = residuals.mean(dim=0)
    return mean.pow(2).sum() / residuals.pow(2).sum(dim=(1, 2, 3)).mean().clamp_min(1e-12)


def stego_losses(encoder: FingerprintEncoder, decoder: FingerprintDecoderNet, images: torch.Tensor,
                 bits: torch.Tensor, group: int, perturb=None, secrecy: bool = True) -> dict[str, torch.Tensor]:
    """The loss terms of one batch whose first ``group`` images share a fingerprint (see module);
    ``perturb`` (training only) is applied to the stego images before the decoder reads them.
    With a group: ``independence``, the group's image-independent share (:func:`independent_share`),
    and, if ``secrecy``, the forgery and removal terms."""
    stego = encoder(images, bits)
    logits = decoder(stego if perturb is None else perturb(stego))
    out = {"bce": F.binary_cross_entropy_with_logits(logits, bits.float()),
           "mse": F.mse_loss(stego, images),
           "acc": ((logits > 0) == bits.bool()).float().mean()}
    if 0 < group < len(images):
        out["independence"] = independent_share(stego[:group] - images[:group])
    if secrecy and 0 < group < len(images):
        mean_residual = (stego[:group] - images[:group]).mean(dim=0, keepdim=True)
        forged = decoder(images[group:] + mean_residual)
        removed = decoder(stego[:group] - mean_residual)
        unmarked = (decoder(images[group:]) > 0).float().detach()
        out["forgery"] = F.binary_cross_entropy_with_logits(forged, unmarked)
        out["removal"] = F.binary_cross_entropy_with_logits(removed, bits[:group].float())
        out["forged_acc"] = ((forged > 0) == bits[:1].bool()).float().mean()
    return out


def selection_score(metrics: Mapping[str, float], ramped: bool, config: StegaConfig) -> float:
    """The validation score the best epoch is chosen by: bitwise accuracy − 1 until λ is fully
    ramped and whenever accuracy is below ``accept_acc`` (so a model that traded its fingerprint
    for fidelity is never kept). With a ``psnr_target``: the bitwise accuracy through the training
    noise (the most robust fingerprint), minus each dB the PSNR falls short of the target.
    Otherwise accuracy + (PSNR − 30) / 100, minus the forged accuracy's excess over chance when the
    model is trained for secrecy."""
    if not ramped or metrics["bitwise_acc"] < config.accept_acc:
        return metrics["bitwise_acc"] - 1.0
    if config.psnr_target > 0:
        return metrics.get("noisy_bitwise", metrics["bitwise_acc"]) - max(0.0, config.psnr_target - metrics["psnr"])
    forgery = max(0.0, metrics["forged_bitwise"] - 0.5) if config.secrecy_weight > 0 else 0.0
    return metrics["bitwise_acc"] + (metrics["psnr"] - 30) / 100 - forgery


def train_stega(config: StegaConfig, train_images: np.ndarray, val_images: np.ndarray, progress: bool = True,
                init: tuple[FingerprintEncoder, FingerprintDecoderNet] | None = None,
                ) -> tuple[FingerprintEncoder, FingerprintDecoderNet, History, dict]:
    """Train E and D on uint8 crops (from the weights of ``init`` if given); return them (eval
    mode), the history and val metrics."""
    seed_everything(config.seed)  # the initial weights, else they depend on what the process ran before
    encoder = FingerprintEncoder(config.n_bits, config.image_size, config.width)
    decoder = FingerprintDecoderNet(config.n_bits, config.image_size, config.width, config.decoder_head)
    if config.decoder_init == "he":
        decoder.he_init()
    schedule = LambdaSchedule(config.accept_acc, config.lambda_final, config.ramp_steps)
    if init is not None:
        encoder.load_state_dict(init[0].state_dict())
        decoder.load_state_dict(init[1].state_dict())
        encoder.train()
        decoder.train()
        schedule.ramp_start = -config.ramp_steps
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=config.learning_rate)
    bit_rng = np.random.default_rng([config.seed, 1])
    group = config.secrecy_group if config.secrecy_weight > 0 or config.independence_weight > 0 else 0
    perturb = TrainingPerturbation.of(config, config.seed)

    def step(batch: list[torch.Tensor]) -> Mapping[str, float]:
        (images,) = batch
        bits = random_bits(len(images), config.n_bits, bit_rng)
        if 0 < group < len(images):
            bits[:group] = bits[0]
        bits_t = torch.from_numpy(bits)
        terms = stego_losses(encoder, decoder, images, bits_t, group if group < len(images) else 0, perturb,
                             secrecy=config.secrecy_weight > 0)
        lam = schedule.update(float(terms["acc"]))
        loss = terms["bce"] + lam * terms["mse"]
        ramp = lam / config.lambda_final if config.lambda_final else float(schedule.ramp_start is not None)
        if "forgery" in terms:
            loss = loss + ramp * config.secrecy_weight * (terms["forgery"] + terms["removal"])
        if "independence" in terms and config.independence_weight > 0:
            loss = loss + ramp * config.independence_weight * terms["independence"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {k: float(v.detach()) for k, v in terms.items()} | {"lambda": lam}

    val_bits = random_bits(len(val_images), config.n_bits, np.random.default_rng([config.seed, 2]))
    val_log: list[dict[str, float]] = []

    def evaluate() -> float:
        if config.psnr_target > 0:
            encoder.strength = calibrate_strength(encoder, val_images, val_bits, config.psnr_target)
        metrics = validate(encoder, decoder, val_images, val_bits, noise_std=config.noise_std, seed=config.seed)
        val_log.append(metrics | {"strength": encoder.strength})
        encoder.strength = 1.0  # training goes on at the raw residual
        return selection_score(metrics, schedule.ramped, config)

    history = train_epochs(step, [train_images], {"encoder": encoder, "decoder": decoder, "adam": optimizer},
                           batch_size=config.batch_size, max_epochs=config.max_epochs, seed=config.seed,
                           evaluate=evaluate, patience=config.max_epochs, desc="stega", progress=progress)
    _log_val(history.losses, val_log)
    if history.best_epoch >= 0:
        encoder.strength = val_log[history.best_epoch]["strength"]
    encoder.eval()
    if config.decoder_epochs > 0:
        history.losses += refine_decoder(config, encoder, decoder, train_images, val_images, val_bits, progress)
    decoder.eval()
    metrics = validate(encoder, decoder, val_images, val_bits, noise_std=config.noise_std, seed=config.seed)
    if metrics["bitwise_acc"] < config.accept_acc:
        warnings.warn(f"the steganography model decodes its val crops at {metrics['bitwise_acc']:.3f} bitwise, below "
                      f"the acceptance accuracy {config.accept_acc} after {config.max_epochs} epochs: its fingerprint "
                      "is not readable (train longer, or with less training noise)", RuntimeWarning, stacklevel=2)
    return encoder, decoder, history, metrics


def refine_decoder(config: StegaConfig, encoder: FingerprintEncoder, decoder: FingerprintDecoderNet,
                   train_images: np.ndarray, val_images: np.ndarray, val_bits: np.ndarray,
                   progress: bool = True) -> list[dict[str, float]]:
    """The decoder phase: ``decoder_epochs`` more epochs of the decoder alone (at a tenth of the
    learning rate) with the encoder frozen at its chosen epoch and strength, reading stego images
    whose residual is scaled by a random factor in [``attenuation``, 1] per image before the training
    blur/noise. A GAN reproduces the fingerprint only in part; this teaches the decoder to read a
    fainter copy. The stego images, and so everything trained on them, are unchanged. The kept epoch
    is the one most accurate through the training noise on val. Returns the phase's per-epoch log."""
    encoder.eval()
    optimizer = torch.optim.Adam(decoder.parameters(), lr=config.learning_rate / 10)
    rng = np.random.default_rng([config.seed, 5])
    perturb = TrainingPerturbation.of(config, config.seed + 1) or (lambda images: images)

    def step(batch: list[torch.Tensor]) -> Mapping[str, float]:
        (images,) = batch
        bits = torch.from_numpy(random_bits(len(images), config.n_bits, rng))
        with torch.no_grad():
            residual = encoder(images, bits) - images
        scale = torch.from_numpy(rng.uniform(config.attenuation, 1.0, (len(images), 1, 1, 1)).astype(np.float32))
        logits = decoder(perturb(images + scale * residual))
        loss = F.binary_cross_entropy_with_logits(logits, bits.float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return {"decoder_bce": float(loss.detach()), "acc": float(((logits > 0) == bits.bool()).float().mean())}

    log: list[dict[str, float]] = []

    def evaluate() -> float:
        metrics = validate(encoder, decoder, val_images, val_bits, noise_std=config.noise_std, seed=config.seed)
        log.append(metrics)
        return metrics.get("noisy_bitwise", metrics["bitwise_acc"])

    history = train_epochs(step, [train_images], {"decoder": decoder, "adam": optimizer}, batch_size=config.batch_size,
                           max_epochs=config.decoder_epochs, seed=config.seed, evaluate=evaluate,
                           patience=config.decoder_epochs, desc="stega decoder", progress=progress)
    _log_val(history.losses, log)
    for epoch, losses in enumerate(history.losses):
        losses.update(decoder_phase=1.0, kept=float(epoch == history.best_epoch))
    return history.losses


def _log_val(losses: list[dict[str, float]], val_log: list[dict[str, float]]) -> None:
    """Add each epoch's val metrics to its logged losses, as ``val_<name>``."""
    for epoch_losses, metrics in zip(losses, val_log):
        epoch_losses.update({f"val_{name}": value for name, value in metrics.items()})


@torch.no_grad()
def embed(encoder: FingerprintEncoder, images: np.ndarray, bits: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """uint8 stego images E(x, w) for uint8 images and (N, n_bits) or (n_bits,) bits."""
    from ganprint.training import to_images

    bits = np.broadcast_to(np.asarray(bits, np.uint8), (len(images), encoder.n_bits))
    was_training = encoder.training
    encoder.eval()
    out = np.empty_like(images)
    for i in range(0, len(images), batch_size):
        x = to_tensor(images[i:i + batch_size], torch.device("cpu"))
        out[i:i + batch_size] = to_images(encoder(x, torch.from_numpy(np.array(bits[i:i + batch_size]))))
    encoder.train(was_training)
    return out


@torch.no_grad()
def decode_logits(decoder: FingerprintDecoderNet, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Bit logits (N, n_bits) of uint8 images."""
    was_training = decoder.training
    decoder.eval()
    logits = predict_batched(decoder, images, batch_size)
    decoder.train(was_training)
    return logits


def validate(encoder: FingerprintEncoder, decoder: FingerprintDecoderNet, images: np.ndarray,
             bits: np.ndarray, noise_std: float = 0.0, seed: int = 0) -> dict[str, float]:
    """Bitwise accuracy of decoding the uint8 stego images, their PSNR to the covers, and the
    bitwise accuracy of a forgery: the mean residual of the first half's images, all embedded with
    the first fingerprint, added to the second half's clean images. With ``noise_std``, also the
    bitwise accuracy through Gaussian noise of that std (on the [−1, 1] scale, drawn from ``seed``)."""
    stego = embed(encoder, images, bits)
    decoded = bits_of(decode_logits(decoder, stego))
    metrics = {}
    if noise_std > 0:
        noise = np.random.default_rng([seed, 4]).normal(0, noise_std * 127.5, stego.shape)
        noisy = np.clip(np.rint(stego + noise), 0, 255).astype(np.uint8)
        metrics["noisy_bitwise"] = float(np.mean((decode_logits(decoder, noisy) > 0) == bits))
    half = len(images) // 2
    shared = embed(encoder, images[:half], bits[0]).astype(np.float32) - images[:half]
    forged = np.clip(np.rint(images[half:] + shared.mean(axis=0)), 0, 255).astype(np.uint8)
    forged_bits = bits_of(decode_logits(decoder, forged))
    return {"bitwise_acc": float(np.mean(decoded == bits)), "psnr": psnr(stego, images),
            "forged_bitwise": float(np.mean(forged_bits == bits[0]))} | metrics
