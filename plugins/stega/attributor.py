"""Detection and attribution by decoding artificial fingerprints (Yu et al. 2021, §4.4–4.5).

The trained steganography decoder reads n bits from an image. ``fit`` learns, per source of the
training labels, the distribution of the bits decoded from its images: for a fingerprinted GAN
this is its registered fingerprint (the per-bit majority) up to the decoder's bit errors; for
real images it is whatever the decoder reads from unmarked images. Then

- ``predict_proba``: the posterior of each source under independent per-bit Bernoulli models of
  its decoded bits (naive Bayes, uniform prior), so closed-world attribution is the nearest
  registered fingerprint, weighted by how reliably each bit is decoded;
- ``score`` (detection, §4.4): the fraction of bits matching the nearest registered publisher's
  fingerprint; the paper calls an image generated when this is within a margin of 1;
- ``confidence`` (open world, §4.5): the fraction of bits matching the predicted source's
  fingerprint; the paper rejects as unknown below 0.75. The paper has no fingerprint for real
  images (§4.4 calls an image real when it matches no registered one), and a decoder may read
  unmarked images as random bits, so for a ``real`` prediction a bit also counts as consistent
  when its logit is weaker than the fitted :attr:`StegaAttributor.unmarked_logit_`: an image
  that carries some fingerprint, registered or not, gives strong logits (what lets the shared
  protocol's open world tell an unregistered publisher from a real image).
"""
from __future__ import annotations

import numpy as np

from ganprint import REAL, Attributor, FingerprintDecoder, check_is_fitted
from ganprint.images import check_images
from ganprint.plugins.stega.config import bits_of

MIN_PROBABILITY = 0.01


class StegaAttributor(Attributor, FingerprintDecoder):
    """Decodes fingerprints with a trained steganography decoder and attributes them.

    ``model`` names the steganography model: ``"auto"`` (the shipped model of the preset whose
    image size is that of the first images decoded: ``default`` at 64×64, ``small`` at 32×32), the
    name of a ``zoo:stega`` preset (its model is trained and cached if it is not shipped), or a path
    to a saved model folder. Once loaded, the model reads images of its own size only.
    """

    def __init__(self, model: str = "auto", batch_size: int = 256) -> None:
        self.model = model
        self.batch_size = batch_size

    def _stega(self, size: int):
        if getattr(self, "_loaded", None) is None:
            from pathlib import Path

            from ganprint.plugins.stega.pipeline import PRESETS, shipped_preset_of_size, steganography_model
            from ganprint.plugins.stega.weights import load_model

            name = shipped_preset_of_size(size).name if self.model == "auto" else self.model
            self._loaded = (steganography_model(PRESETS[name]) if name in PRESETS else load_model(Path(name)))
        return self._loaded

    def _extra_state(self) -> dict:
        """The saving hook (:mod:`ganprint.saving`): the configuration and weights of the decoder
        the fitted bits were read with, so that a saved attributor decodes with that very decoder
        wherever it is loaded, whatever ``model`` names (a path on this machine included)."""
        stega = getattr(self, "_loaded", None)
        if stega is None:
            return {}
        return {"decoder_config": stega.config.as_dict(), "decoder_weights": dict(stega.decoder.state_dict())}

    def _set_extra_state(self, state: dict) -> None:
        """Rebuild the decoder :meth:`_extra_state` saved (the attributor never encodes: no encoder)."""
        if not state:
            return
        from ganprint.plugins.stega.model import FingerprintDecoderNet
        from ganprint.plugins.stega.config import StegaConfig
        from ganprint.plugins.stega.weights import StegaModel
        from ganprint.training import device

        config = StegaConfig(**state["decoder_config"])
        decoder = FingerprintDecoderNet(config.n_bits, config.image_size, config.width, config.decoder_head)
        decoder.load_state_dict(state["decoder_weights"])
        self._loaded = StegaModel(config, None, decoder.to(device()).eval(), {"source": "a saved attributor"})

    def decode_logits(self, X: np.ndarray) -> np.ndarray:
        """Bit logits (N, n_bits) of uint8 images."""
        from ganprint.plugins.stega.train import decode_logits

        check_images(X)
        stega = self._stega(X.shape[1])
        size = stega.config.image_size
        if X.shape[1:3] != (size, size):
            raise ValueError(f"the steganography decoder reads {size}x{size} images; got {X.shape[1]}x{X.shape[2]}")
        return decode_logits(stega.decoder, X, self.batch_size)

    def decode(self, X: np.ndarray) -> np.ndarray:
        """Bits (N, n_bits) uint8: 1 where the logit is above 0 (a logit of exactly 0 reads 0)."""
        return bits_of(self.decode_logits(X))

    def fit(self, X: np.ndarray, y: np.ndarray) -> "StegaAttributor":
        """Per source (``real`` first, then alphabetical), the frequency of each decoded bit with
        add-one smoothing, (count + 1) / (n + 2), clipped to [0.01, 0.99]; its fingerprint has a 1
        where that frequency is strictly above 1/2 (a bit decoded 1 in half its images reads 0).
        Also :attr:`unmarked_logit_` (:func:`unmarked_logit`) from the logits of the real and of
        the generated training images."""
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} images but y has {len(y)} labels")
        logits = self.decode_logits(X)
        bits = bits_of(logits)
        is_real = y == REAL
        self.unmarked_logit_ = unmarked_logit(np.abs(logits[is_real]).ravel(), np.abs(logits[~is_real]).ravel())
        classes = np.array(sorted(set(y.tolist()), key=lambda s: (s != REAL, s)))
        frequency = np.stack([(bits[y == c].sum(axis=0) + 1) / ((y == c).sum() + 2) for c in classes])
        self.classes_ = classes
        self.bit_probability_ = np.clip(frequency, MIN_PROBABILITY, 1 - MIN_PROBABILITY)
        self.fingerprints_ = (frequency > 0.5).astype(np.uint8)
        return self

    def _log_likelihood(self, bits: np.ndarray) -> np.ndarray:
        """(N, n_classes) log P(bits | source) under independent Bernoulli bits."""
        p = self.bit_probability_
        return bits @ np.log(p).T + (1 - bits) @ np.log(1 - p).T

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Posterior of each source (uniform prior). The largest log-likelihood is subtracted before
        exponentiating, so long codes whose likelihoods all underflow still get their posterior.
        Equal posteriors make ``predict`` name the first of them in :attr:`classes_`."""
        check_is_fitted(self)
        log_likelihood = self._log_likelihood(self.decode(X))
        log_likelihood -= log_likelihood.max(axis=1, keepdims=True)
        proba = np.exp(log_likelihood)
        return proba / proba.sum(axis=1, keepdims=True)

    def match_fractions(self, X: np.ndarray) -> np.ndarray:
        """(N, n_classes) fraction of decoded bits equal to each source's fingerprint."""
        check_is_fitted(self)
        return (self.decode(X)[:, None, :] == self.fingerprints_[None]).mean(axis=2)

    def score(self, X: np.ndarray) -> np.ndarray:
        """The best match fraction over the generated sources (``real``'s fingerprint never counts);
        without any generated source among the training labels there is nothing to detect: ValueError."""
        check_is_fitted(self)
        generated = np.asarray(self.classes_) != REAL
        if not generated.any():
            raise ValueError("detection needs at least one generated source among the training labels")
        return self.match_fractions(X)[:, generated].max(axis=1)

    def confidence(self, X: np.ndarray) -> np.ndarray:
        """The match fraction with the fingerprint of the *predicted* source (the most likely one,
        which need not be the nearest fingerprint when bits differ in reliability); for a ``real``
        prediction a bit whose logit is weaker than :attr:`unmarked_logit_` matches too."""
        check_is_fitted(self)
        logits = self.decode_logits(X)
        bits = bits_of(logits)
        predicted = np.argmax(self._log_likelihood(bits), axis=1)
        consistent = bits == self.fingerprints_[predicted]
        unmarked = np.abs(logits) < getattr(self, "unmarked_logit_", 0.0)  # saved before it existed: 0
        consistent |= unmarked & (np.asarray(self.classes_)[predicted] == REAL)[:, None]
        return consistent.mean(axis=1)


def unmarked_logit(real: np.ndarray, generated: np.ndarray) -> float:
    """The logit magnitude t that best tells the bits of real images (|logit| < t) from those of
    generated ones (|logit| ≥ t): among the magnitudes of ``generated``, the one maximising the
    balanced accuracy ½ (P_real(|logit| < t) + P_generated(|logit| ≥ t)), the smallest of ties;
    0 (no bit reads as unmarked) without both kinds or when no t beats chance (½)."""
    if not len(real) or not len(generated):
        return 0.0
    real, generated = np.sort(real), np.sort(generated)
    candidates = np.unique(generated)
    balanced = 0.5 * (np.searchsorted(real, candidates, "left") / len(real)
                      + 1 - np.searchsorted(generated, candidates, "left") / len(generated))
    best = int(np.argmax(balanced))
    return float(candidates[best]) if balanced[best] > 0.5 else 0.0
