"""The learned-fingerprint attributor of Yu et al. 2019 (§3.1; variants of §3.2) as a ganprint
Attributor: the network of :mod:`ganprint.plugins.cnn.network` trained with cross-entropy on
image–source pairs.

``fit(X, y)`` carves a stratified validation split (``val_fraction`` of each source, drawn with
``random_state``) out of the training data it is given, trains with Adam through
:func:`ganprint.training.train_epochs` and stops early when the validation score (accuracy, ties
broken by a small cross-entropy term) has not improved for ``patience`` epochs, keeping the best
epoch. Fitted weights are cached (:mod:`ganprint.fitted_cache`), so fitting again on the same data
with the same hyperparameters loads them. ``fine_tune(X, y)`` continues from the fitted weights
(immunisation, §4.4; ``bench run --immunize``) for at most ``fine_tune_epochs`` epochs, keeping the
best on validation: the paper does not say how long it fine-tunes, and a fine-tune to the full
early stop costs as much as a fit (40-60 epochs on zoo:default), once per attack.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganprint import Attributor, check_is_fitted, check_known_labels
from ganprint.fitted_cache import cached_fit
from ganprint.images import check_images, check_same_size
from ganprint.seeding import seed_everything
from ganprint.training import device, predict_batched, stratified_validation, train_epochs
from ganprint.plugins.cnn.network import PATCH_SIZES, AttributionNet, Probabilities

# Parameters that do not change the fitted weights (left out of the cache key); fine_tune_epochs
# only enters the key of a fine-tune.
NOT_IN_KEY = ("cache", "progress", "fine_tune_epochs")
NLL_WEIGHT = 0.01
# An epoch counts as better when its validation score rises by more than this: with accuracy
# saturated, the cross-entropy term must fall by 0.01, so training ends instead of polishing
# probabilities for max_epochs.
MIN_DELTA = 1e-4
# Until validation accuracy is a quarter of the way from chance to perfect, early stopping allows
# STALL_FACTOR times the patience: fits on zoo:default sat at chance for 12-17 epochs before
# learning, longer than the patience of 10.
ABOVE_CHANCE = 0.25
STALL_FACTOR = 3
TRAINING_VERSION = 3  # part of the cache key: bump when training changes for the same parameters


def above_chance(n_classes: int) -> float:
    """The validation score from which early stopping's patience runs (see ``ABOVE_CHANCE``)."""
    chance = 1.0 / max(n_classes, 1)
    return chance + ABOVE_CHANCE * (1.0 - chance)


class CNNAttributor(Attributor):
    """Yu et al. 2019 attribution network; ``band``/``resolution``/``patch_size`` pick a §3.2 variant."""

    plugin_id = "cnn"
    PATCH_SIZES = PATCH_SIZES  # the patch_size values, one per convolutional stage

    def __init__(
        self,
        band: str = "full",
        resolution: int | None = None,
        patch_size: int | None = None,
        width: int = 16,
        max_channels: int = 128,
        fingerprint_dim: int = 512,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        max_epochs: int = 200,
        patience: int | None = None,
        fine_tune_epochs: int = 10,
        val_fraction: float = 0.1,
        random_state: int = 0,
        cache: bool = True,
        progress: bool = True,
    ) -> None:
        self.band = band
        self.resolution = resolution
        self.patch_size = patch_size
        self.width = width
        self.max_channels = max_channels
        self.fingerprint_dim = fingerprint_dim
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.fine_tune_epochs = fine_tune_epochs
        self.val_fraction = val_fraction
        self.random_state = random_state
        self.cache = cache
        self.progress = progress

    def _build(self, image_size: int, n_classes: int) -> AttributionNet:
        return AttributionNet(
            image_size, n_classes, width=self.width, max_channels=self.max_channels,
            fingerprint_dim=self.fingerprint_dim, band=self.band, resolution=self.resolution,
            patch_size=self.patch_size,
        )

    def fit(self, X: np.ndarray, y: np.ndarray) -> "CNNAttributor":
        X, y = self._checked_data(X, y)
        classes = np.array(sorted(set(y.tolist())))
        seed_everything(self.random_state)
        model = self._build(X.shape[1], len(classes)).to(device())
        return self._fit_model(model, classes, X, y, start_key=None)

    def fine_tune(self, X: np.ndarray, y: np.ndarray) -> "CNNAttributor":
        """Continue training the fitted network on ``X``, ``y`` (immunisation, §4.4): same classes,
        same early stopping, cached under the key of the weights it started from."""
        check_known_labels(self, y)
        X, y = self._checked_data(X, y)
        check_same_size(X, self.image_shape_)
        return self._fit_model(self.model_, self.classes_, X, y, start_key=self.fit_key_)

    @staticmethod
    def _checked_data(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        check_images(X)
        y = np.asarray(y).astype(str)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} images but y has {len(y)} labels")
        if X.shape[1] != X.shape[2]:
            raise ValueError(f"images must be square; got {X.shape[1]}x{X.shape[2]}")
        return X, y

    def _fit_model(self, model: AttributionNet, classes: np.ndarray, X: np.ndarray, y: np.ndarray,
                   start_key: str | None) -> "CNNAttributor":
        targets = np.searchsorted(classes, y).astype(np.int64)
        is_val = stratified_validation(y, self.val_fraction, self.random_state)
        params = {k: v for k, v in self.get_params().items() if k not in NOT_IN_KEY}
        params["training_version"] = TRAINING_VERSION
        max_epochs = self.max_epochs
        if start_key is not None:
            params["fine_tune_epochs"] = max_epochs = self.fine_tune_epochs

        def train() -> dict:
            return self._train(model, X[~is_val], targets[~is_val], X[is_val], targets[is_val], max_epochs)

        history, key, _ = cached_fit(self.plugin_id, params, X, y, {"model": model}, train,
                                     enabled=self.cache, extra=start_key)
        model.eval()
        self.model_ = model
        self.classes_ = classes
        self.image_shape_ = tuple(X.shape[1:3])
        self.history_ = history
        self.fit_key_ = key
        return self

    def _train(self, model: AttributionNet, X: np.ndarray, t: np.ndarray,
               X_val: np.ndarray, t_val: np.ndarray, max_epochs: int) -> dict:
        optimiser = torch.optim.Adam(model.parameters(), lr=self.learning_rate)

        def step(batch: list[torch.Tensor]) -> dict[str, float]:
            images, labels = batch
            model.train()
            loss = F.cross_entropy(model(images), labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            return {"loss": loss.item()}

        def evaluate() -> float:
            model.eval()
            logits = torch.from_numpy(predict_batched(model, X_val))
            labels = torch.from_numpy(t_val)
            accuracy = (logits.argmax(1) == labels).float().mean().item()
            return accuracy - NLL_WEIGHT * F.cross_entropy(logits, labels).item()

        patience = self._patience(len(X))
        history = train_epochs(
            step, [X, t], {"model": model, "optimiser": optimiser}, batch_size=self.batch_size,
            max_epochs=max_epochs, seed=self.random_state,
            evaluate=evaluate if len(X_val) else None, patience=patience, min_delta=MIN_DELTA,
            patience_from=above_chance(len(np.unique(np.concatenate([t, t_val])))),
            stall_patience=STALL_FACTOR * patience, desc=f"fitting {self.plugin_id}", progress=self.progress,
        )
        return {"epochs": len(history.losses), "best_epoch": history.best_epoch,
                "val_scores": history.val_scores, "losses": [h["loss"] for h in history.losses]}

    def _patience(self, n_train: int) -> int:
        """``patience``, or by default one epoch per 20 training images, between 2 and 10: a tiny
        set (a conformance check) stops soon, a real one waits 10 epochs for an improvement."""
        if self.patience is not None:
            return self.patience
        return int(np.clip(n_train // 20, 2, 10))

    def _check(self, X: np.ndarray) -> None:
        check_is_fitted(self)
        check_images(X)
        check_same_size(X, self.image_shape_)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        self._check(X)
        proba = predict_batched(Probabilities(self.model_).eval(), X).astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def fingerprint(self, X: np.ndarray) -> np.ndarray:
        """Image fingerprints (N, fingerprint_dim): the feature before the final layer (§3.1)."""
        self._check(X)
        self.model_.eval()
        return predict_batched(self.model_.fingerprint, X)

    @property
    def model_fingerprints_(self) -> np.ndarray:
        """Model fingerprints (n_classes, fingerprint_dim): the final layer's weight rows (§3.1)."""
        check_is_fitted(self)
        return self.model_.classifier.weight.detach().cpu().numpy()

    def torch_module(self) -> torch.nn.Module:
        """[−1, 1] NCHW → class probabilities, for ONNX export (:mod:`ganprint.onnx_export`)."""
        check_is_fitted(self)
        return Probabilities(self.model_).eval()
