"""BFR-VAE fingerprints as an attributor (Ding, Thakur and Li, §3 and §5).

An image's fingerprint is (μ′, σ′); a source's fingerprint is the distribution of μ′ over its
images (§4: "the likelihood of any single sample may still be assessed under a learned
distribution"). ``fit`` trains :class:`BFRVAE` with :func:`ganprint.training.train_epochs` and fits
a diagonal Gaussian to the μ′ of each source's training images; ``predict_proba`` is the
class-conditional likelihood normalised over the sources (equal priors) and ``confidence`` the
largest per-dimension log-likelihood, so an image unlikely under every known source is the
open-world "unknown" (§5.2: the paper tells unseen GANs apart by their low similarity to seen ones).
``score`` (detection) is the log-odds of generated against real, in the order of 1 − P(real)
but not rounded to 1.0 where the likelihoods are far apart.
``fine_tune(X, y)`` (immunisation, ``bench run --immunize``; not in the paper) continues training the
fitted VAE for at most ``fine_tune_epochs`` epochs on the given images and refits the sources'
Gaussians on them.

Deviations from the paper, all forced by its missing details or by 32×32 images on a CPU:

- Fig. 1(b)'s layer sizes are only in the figure; the encoder/decoder here are log2(size) − 2
  stride-2 convolutions each way (32→4 with ``width``·(1, 2, 4) channels for 32×32 images,
  ``width`` = 16 to keep CPU training practical) with ``latent_dim``-channel 1×1 heads;
  ``latent_dim`` defaults to 128, not 256: a 32×32 image has 16 times fewer pixels than the
  paper's 128×128, and each source's Gaussian is fitted on a few hundred images, where 256
  per-dimension variances are noisier.
- σ′ is read as the precision of the Normal-Gamma (eq. 1's conjugate pair), so e_latent ~ N(μ′, 1/σ′).
- The KL of eq. (3) is to a fixed NG(0, 1, 1, 1) hyper-prior (the paper names no prior), in closed form.
- Eq. (4) has no hinge; here max(0, · + margin) averaged over all valid triplets of a minibatch
  (the paper does not say how triplets are drawn).
- The triplet term is on the expected fingerprint (E[μ′], E[σ′]) = (μ_t, α/β), not on one draw: on
  draws it is dominated by the Gamma sampling noise (simulation of §4, 3×100 training crops, 30
  epochs, width 16: held-out accuracy 0.51 with draws, 1.00 with expectations).
- λ1, λ2, the batch size and the number of epochs are in the supplement we do not have: λ1 = 1,
  λ2 = 100 (the MSE is summed over the 3072 values of an image; with λ2 = 1 the reconstruction
  swamps the triplet term and the simulation stays at chance, 0.33, measured with the triplet on
  E[μ′]) and early stopping on the loss of a validation part of the training data carved by seed.
- The fingerprint used for attribution and analyses is the posterior mean (E[μ′], E[σ′]) = (μ_t, α/β)
  rather than one draw, so it is deterministic.
- The paper reports distances between fingerprint distributions but no per-image classifier; the
  class-conditional Gaussian likelihood is ganprint's reading of §4's "likelihood under a learned
  distribution".
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.special import logsumexp

from ganprint.interfaces import REAL, Attributor, check_is_fitted, check_known_labels
from ganprint.seeding import seed_everything

if TYPE_CHECKING:
    import torch

VARIANCE_FLOOR = 1e-4


class BFRVAEAttributor(Attributor):
    """BFR-VAE encoder fingerprints μ′ with one diagonal Gaussian per source."""

    def __init__(
        self,
        latent_dim: int = 128,
        width: int = 16,
        lambda1: float = 1.0,
        lambda2: float = 100.0,
        margin: float = 1.0,
        learning_rate: float = 6e-4,
        batch_size: int = 64,
        max_epochs: int = 30,
        patience: int = 5,
        fine_tune_epochs: int = 5,
        val_fraction: float = 0.15,
        random_state: int = 0,
        progress: bool = False,
        cache: bool = True,
    ) -> None:
        self.latent_dim = latent_dim
        self.width = width
        self.lambda1 = lambda1
        self.lambda2 = lambda2
        self.margin = margin
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.fine_tune_epochs = fine_tune_epochs
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.progress = progress
        self.cache = cache

    def fit(self, X: np.ndarray, y: np.ndarray) -> "BFRVAEAttributor":
        from ganprint.plugins.bfrvae.model import BFRVAE
        from ganprint.training import device

        y = np.asarray(y).astype(str)
        self.classes_ = np.array(sorted(set(y.tolist())))
        seed_everything(self.random_state)
        model = BFRVAE(self.latent_dim, self.width, image_size=X.shape[1]).to(device())
        return self._train_model(model, X, y, self.max_epochs, start_key=None)

    def fine_tune(self, X: np.ndarray, y: np.ndarray) -> "BFRVAEAttributor":
        """Continue training the fitted VAE on ``X``, ``y`` (labels among ``classes_``) for at most
        ``fine_tune_epochs`` epochs, then refit every source's Gaussian on the new fingerprints."""
        y = check_known_labels(self, y)
        return self._train_model(self.model_, X, y, self.fine_tune_epochs, start_key=self.fit_key_)

    def _train_model(self, model: "torch.nn.Module", X: np.ndarray, y: np.ndarray, max_epochs: int,
                     start_key: str | None) -> "BFRVAEAttributor":
        """Train ``model`` from its current weights through the fitted-weights cache (a fine-tune
        is keyed by the fit it starts from), then fit the sources' Gaussians."""
        import torch

        from ganprint.fitted_cache import cached_fit
        from ganprint.plugins.bfrvae.model import bfrvae_loss
        from ganprint.training import device, stratified_validation, to_tensor, train_epochs

        codes = np.searchsorted(self.classes_, y).astype(np.int64)
        held = stratified_validation(y, self.val_fraction, self.random_state)
        optimiser = torch.optim.Adam(model.parameters(), lr=self.learning_rate)
        terms = dict(lambda1=self.lambda1, lambda2=self.lambda2, margin=self.margin)

        def step(batch: list[torch.Tensor]) -> dict[str, float]:
            model.train()
            losses = bfrvae_loss(model, batch[0], batch[1], **terms)
            optimiser.zero_grad()
            losses["loss"].backward()
            optimiser.step()
            return {k: float(v.detach()) for k, v in losses.items()}

        x_val, code_val = X[held], torch.as_tensor(codes[held])

        def evaluate() -> float:
            model.eval()
            with torch.no_grad(), torch.random.fork_rng():
                torch.manual_seed(self.random_state)
                return -float(bfrvae_loss(model, to_tensor(x_val), code_val.to(device()), **terms)["loss"])

        def train() -> dict:
            history = train_epochs(
                step, [X[~held], codes[~held]], {"model": model, "optimiser": optimiser},
                batch_size=self.batch_size, max_epochs=max_epochs, seed=self.random_state,
                evaluate=evaluate if held.any() else None, patience=self.patience,
                desc="bfrvae", progress=self.progress)
            return {"losses": history.losses, "val_scores": history.val_scores,
                    "best_epoch": history.best_epoch}

        params = {k: v for k, v in self.get_params().items() if k not in ("progress", "cache", "fine_tune_epochs")}
        if start_key is not None:
            params["fine_tune_epochs"] = max_epochs
        self.history_, self.fit_key_, _ = cached_fit("bfrvae", params, X, y, {"model": model}, train,
                                                     enabled=self.cache, extra=start_key)
        model.eval()
        self.model_ = model
        self._fit_sources(self.fingerprints(X)[0], y)
        return self

    def _fit_sources(self, mu: np.ndarray, y: np.ndarray) -> None:
        """One diagonal Gaussian per source over its images' μ′."""
        self.means_ = np.stack([mu[y == c].mean(axis=0) for c in self.classes_])
        spread = np.stack([mu[y == c].var(axis=0) for c in self.classes_])
        self.variances_ = np.maximum(spread, VARIANCE_FLOOR * max(float(mu.var()), VARIANCE_FLOOR))

    def fingerprints(self, X: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """The fingerprint (E[μ′], E[σ′]) of each image, two (N, latent_dim) float arrays."""
        check_is_fitted(self)
        import torch

        from ganprint.training import predict_batched

        self.model_.eval()
        both = predict_batched(lambda x: torch.cat(self.model_.encode(x).mean(), dim=1), X, batch_size)
        return both[:, :self.latent_dim], both[:, self.latent_dim:]

    def log_likelihood(self, X: np.ndarray) -> np.ndarray:
        """(N, n_sources) log-density of each image's μ′ under each source's Gaussian."""
        mu = self.fingerprints(X)[0]
        diff = mu[:, None, :] - self.means_[None]
        return -0.5 * ((diff ** 2 / self.variances_[None]).sum(-1)
                       + np.log(2 * np.pi * self.variances_).sum(-1)[None])

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        log_lik = self.log_likelihood(X)
        return np.exp(log_lik - logsumexp(log_lik, axis=1, keepdims=True))

    def score(self, X: np.ndarray) -> np.ndarray:
        """Log-odds of generated against real, log Σ_{s ≠ real} p(μ′ | s) − log p(μ′ | real): the same
        order as the default 1 − P(real), without its rounding to exactly 1.0, where the likelihoods
        are hundreds of nats apart and the most confident real and generated images would tie (no
        threshold would then separate them at a low false-positive rate). Without a real class, the
        log of the largest source probability."""
        log_lik = self.log_likelihood(X)
        is_real = self.classes_ == REAL
        if not is_real.any():
            return log_lik.max(axis=1) - logsumexp(log_lik, axis=1)
        return logsumexp(log_lik[:, ~is_real], axis=1) - log_lik[:, is_real][:, 0]

    def confidence(self, X: np.ndarray) -> np.ndarray:
        """The best per-dimension log-likelihood over the known sources: low for an unseen source."""
        return self.log_likelihood(X).max(axis=1) / self.latent_dim
