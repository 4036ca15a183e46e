"""visNet as an Attributor: the fingerprint visualisation network of Yu et al. 2019, §3.3 (Fig. 3,
eq. 4), evaluated for attribution in §4.5 (Table 3) and visualised in Fig. 7.

Training minimises eq. 4, λ1·L_pix + λ2·L_adv + λ3·L_cls with λ = (20, 0.1, 1): the L1
reconstruction loss of R, the adversarial loss of R against the reconstruction critic D_rec, and
the cross-entropy of the correlation logits. Each minibatch first takes one WGAN-GP step of D_rec
(real images against their reconstructions), then one step of R and the model fingerprints.
Training runs through ``ganprint.training.train_epochs``, stopping early on the cross-entropy of a
validation part carved, per source and with the seed, from the images given to ``fit``. The
fitted weights are cached by ``ganprint.fitted_cache`` (keyed by the hyperparameters and the
training data; ``cache=False`` always trains), and ``torch_module`` makes the fitted network
exportable to ONNX with ``ganprint.onnx_export``.

Temperature: the paper uses the raw correlation index, which lies in [−1, 1], as the softmax
logit. A residual that also carries image content correlates with its own model fingerprint far
below 1, so raw logits leave every softmax nearly uniform (with 5 sources and an own-source
correlation of 0.3 against 0 elsewhere, P = 0.25): the cross-entropy keeps pushing long after
attribution is right, and ``confidence`` (used for open-world rejection) says little. Dividing by
a temperature of 0.05 (logit scale 20, the range of cosine-softmax scales in face recognition)
lets such a correlation gap of 0.3 reach P ≈ 0.99, and still bounds the logit gap at 40, so no
single image can dominate the loss. ``temperature=1`` gives the paper's raw logits.

Training budget: at most 15 epochs with a patience of 3 (the paper trains for far longer). One
epoch of the default network on zoo:default's 4800 training images took about 80 s on one shared
CPU core, and ``bench run`` fits twice (closed and open world), so 40 epochs would cost over an
hour per experiment. ``fine_tune`` (immunisation, ``bench run --immunize``) trains at most
``fine_tune_epochs`` (3) more epochs per attack, for the same reason.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganprint import Attributor, check_is_fitted, check_known_labels
from ganprint.images import check_images, check_same_size
from ganprint.seeding import seed_everything
from ganprint.fitted_cache import cached_fit
from ganprint.training import History, device, predict_batched, stratified_validation, train_epochs
from ganprint.plugins.visnet.network import FingerprintModel, ReconstructionCritic, gradient_penalty


PLUGIN = "visnet"


class SourceProbabilities(torch.nn.Module):
    """The softmax over sources of a :class:`FingerprintModel`'s correlation logits."""

    def __init__(self, model: FingerprintModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x)[2], dim=1)


class VisNetAttributor(Attributor):
    """Reconstruction residuals (image fingerprints) correlated with learned model fingerprints."""

    def __init__(
        self,
        temperature: float = 0.05,
        width: int = 16,
        depth: int = 2,
        pixel_weight: float = 20.0,
        adversarial_weight: float = 0.1,
        classification_weight: float = 1.0,
        gradient_penalty_weight: float = 10.0,
        learning_rate: float = 1e-3,
        batch_size: int = 32,
        max_epochs: int = 15,
        patience: int = 3,
        fine_tune_epochs: int = 3,
        validation_fraction: float = 0.2,
        random_state: int = 0,
        cache: bool = True,
        progress: bool = False,
    ) -> None:
        self.temperature = temperature
        self.width = width
        self.depth = depth
        self.pixel_weight = pixel_weight
        self.adversarial_weight = adversarial_weight
        self.classification_weight = classification_weight
        self.gradient_penalty_weight = gradient_penalty_weight
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.fine_tune_epochs = fine_tune_epochs
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.cache = cache
        self.progress = progress

    def fit(self, X: np.ndarray, y: np.ndarray) -> "VisNetAttributor":
        check_images(X)
        y = np.asarray(y).astype(str)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} images but y has {len(y)} labels")
        image_size = (int(X.shape[1]), int(X.shape[2]))
        if image_size[0] % 2 ** self.depth or image_size[1] % 2 ** self.depth:
            raise ValueError(f"visNet with depth {self.depth} needs image sides divisible by "
                             f"{2 ** self.depth}; got {image_size[0]}x{image_size[1]}")
        self.classes_ = np.unique(y)
        self.image_shape_ = image_size
        seed_everything(self.random_state)
        self.model_ = FingerprintModel(len(self.classes_), image_size, self.temperature, self.width,
                                       self.depth).to(device())
        return self._fit_weights(X, y, extra=None)

    def fine_tune(self, X: np.ndarray, y: np.ndarray) -> "VisNetAttributor":
        """Continue training the fitted network on ``X`` (immunisation, Yu et al. 2019 §4.4),
        with a new reconstruction critic; the labels must be among ``classes_``."""
        self._checked(X)
        y = check_known_labels(self, y)
        return self._fit_weights(X, y, extra={"fine_tuned_from": self.cache_key_},
                                 max_epochs=self.fine_tune_epochs)

    def _fit_weights(self, X: np.ndarray, y: np.ndarray, extra: Any,
                     max_epochs: int | None = None) -> "VisNetAttributor":
        """Train ``model_`` (from its current weights) on X, y through the fitted-weights cache,
        for at most ``max_epochs`` (a fine-tune's budget) or ``self.max_epochs``."""
        model = self.model_
        targets = np.searchsorted(self.classes_, y).astype(np.int64)
        is_val = stratified_validation(y, self.validation_fraction, self.random_state)
        train_rows, val_rows = np.flatnonzero(~is_val), np.flatnonzero(is_val)
        seed_everything(self.random_state)
        critic = ReconstructionCritic(self.image_shape_, self.width).to(device())

        def train_model() -> dict[str, Any]:
            history = self._train(model, critic, X[train_rows], targets[train_rows], X[val_rows], targets[val_rows],
                                  self.max_epochs if max_epochs is None else max_epochs)
            return {"epochs": len(history.losses), "best_epoch": history.best_epoch,
                    "stopped_early": history.stopped_early, "val_scores": history.val_scores,
                    "losses": history.losses}

        weights_params = {k: v for k, v in self.get_params().items()
                          if k not in ("cache", "progress", "fine_tune_epochs")}
        if max_epochs is not None:
            weights_params["fine_tune_epochs"] = max_epochs
        self.history_, self.cache_key_, self.cache_hit_ = cached_fit(
            PLUGIN, weights_params, X, y, {"model": model}, train_model, enabled=self.cache, extra=extra)
        model.eval()
        return self

    def _train(self, model: FingerprintModel, critic: ReconstructionCritic, X: np.ndarray,
               targets: np.ndarray, X_val: np.ndarray, targets_val: np.ndarray, max_epochs: int) -> History:
        betas = (0.5, 0.999)
        opt_model = torch.optim.Adam(model.parameters(), lr=self.learning_rate, betas=betas)
        opt_critic = torch.optim.Adam(critic.parameters(), lr=self.learning_rate, betas=betas)

        def step(batch: list[torch.Tensor]) -> dict[str, float]:
            images, target = batch
            model.train()
            # One forward of R serves both steps: the critic sees it detached, before R changes.
            reconstruction, _, logits = model(images)
            fake = reconstruction.detach()
            penalty = gradient_penalty(critic, images, fake)
            critic_loss = critic(fake).mean() - critic(images).mean() + self.gradient_penalty_weight * penalty
            opt_critic.zero_grad(set_to_none=True)
            critic_loss.backward()
            opt_critic.step()

            pixel = F.l1_loss(reconstruction, images)
            adversarial = -critic(reconstruction).mean()
            classification = F.cross_entropy(logits, target)
            loss = (self.pixel_weight * pixel + self.adversarial_weight * adversarial
                    + self.classification_weight * classification)
            opt_model.zero_grad(set_to_none=True)
            loss.backward()
            opt_model.step()
            return {"pix": pixel.item(), "adv": adversarial.item(), "cls": classification.item(),
                    "critic": critic_loss.item()}

        def evaluate() -> float:
            model.eval()
            logits = torch.from_numpy(predict_batched(lambda x: model(x)[2], X_val))
            return -F.cross_entropy(logits, torch.from_numpy(targets_val)).item()

        return train_epochs(
            step, [X, targets], {"model": model, "critic": critic, "opt_model": opt_model,
                                 "opt_critic": opt_critic},
            batch_size=self.batch_size, max_epochs=max_epochs, seed=self.random_state,
            evaluate=evaluate if len(X_val) else None, patience=self.patience,
            desc="visnet", progress=self.progress)

    def _checked(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        check_images(X)
        check_same_size(X, self.image_shape_)
        return X

    def torch_module(self) -> torch.nn.Module:
        """The fitted network from [−1, 1] images to ``predict_proba`` (for ONNX export)."""
        check_is_fitted(self)
        return SourceProbabilities(self.model_).eval()

    def _logits(self, X: np.ndarray) -> np.ndarray:
        return predict_batched(lambda x: self.model_(x)[2], self._checked(X)).astype(np.float64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return torch.softmax(torch.from_numpy(self._logits(X)), dim=1).numpy()

    def responses(self, X: np.ndarray) -> np.ndarray:
        """(N, n_sources) correlation index of each image fingerprint with each model
        fingerprint (columns in the order of ``classes_``): the response matrix of Fig. 7."""
        return self._logits(X) * self.temperature

    def image_fingerprints(self, X: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) float32 residuals R(I) − I, on the [−1, 1] scale of the images."""
        residual = predict_batched(lambda x: self.model_(x)[1], self._checked(X))
        return residual.transpose(0, 2, 3, 1)

    def model_fingerprints(self) -> np.ndarray:
        """(n_sources, H, W, 3) float32 learned model fingerprints, in the order of ``classes_``."""
        check_is_fitted(self)
        return self.model_.model_fingerprints.detach().cpu().numpy().transpose(0, 2, 3, 1).copy()
