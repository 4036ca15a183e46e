"""The learned-fingerprint attributor of Yu et al. 2019 (§3.1; variants of §3.2) as a ganprint
Attributor: the network of :mod:`ganprint.plugins.cnn.network` trained with Adam and cross-entropy
on image–source pairs (§3.1).

The validation split, early stopping, fitted-weights cache and fine-tuning are
:class:`ganprint.neural.NeuralAttributor`'s. The validation score is the accuracy, ties broken by
a small cross-entropy term; until it is a quarter of the way from chance to perfect, early stopping
allows :data:`STALL_FACTOR` times the patience, so a network that sits at chance for a while
before it learns is not stopped there. The paper does not say how long it fine-tunes
(immunisation, §4.4): ``fine_tune`` runs at most ``fine_tune_epochs`` epochs, keeping the best on
validation. Measured training lengths: docs/results/cnn/README.md.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from ganprint import check_is_fitted
from ganprint.neural import NeuralAttributor, TrainingSplit
from ganprint.training import History
from ganprint.plugins.cnn.network import PATCH_SIZES, AttributionNet, Probabilities

# The validation score is accuracy − NLL_WEIGHT · cross-entropy.
NLL_WEIGHT = 0.01
# An epoch counts as better when its validation score rises by more than this: with accuracy
# saturated, the cross-entropy term must fall by 0.01, so training ends instead of polishing
# probabilities for max_epochs.
MIN_DELTA = 1e-4
# Until validation accuracy is ABOVE_CHANCE of the way from chance to perfect, early stopping
# allows STALL_FACTOR times the patience.
ABOVE_CHANCE = 0.25
STALL_FACTOR = 3


def above_chance(n_classes: int) -> float:
    """The validation score from which early stopping's patience runs (see ``ABOVE_CHANCE``)."""
    chance = 1.0 / max(n_classes, 1)
    return chance + ABOVE_CHANCE * (1.0 - chance)


class CNNAttributor(NeuralAttributor):
    """Yu et al. 2019 attribution network; ``band``/``resolution``/``patch_size`` pick a §3.2 variant."""

    plugin_id = "cnn"
    training_version = 3
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
        validation_fraction: float = 0.1,
        random_state: int = 0,
        precision: str = "float32",
        cache: bool = True,
        progress: bool = False,
    ) -> None:
        self._store_init_arguments(locals())

    def _check_image_shape(self, height: int, width: int) -> None:
        if height != width:
            raise ValueError(f"images must be square; got {height}x{width}")

    def _network_arguments(self, image_shape: tuple[int, int], n_classes: int) -> dict[str, Any]:
        return dict(image_size=image_shape[0], n_classes=n_classes, width=self.width,
                    max_channels=self.max_channels, fingerprint_dim=self.fingerprint_dim, band=self.band,
                    resolution=self.resolution, patch_size=self.patch_size)

    def _build_network(self, arguments: Mapping[str, Any]) -> AttributionNet:
        arguments = dict(arguments)
        return AttributionNet(arguments.pop("image_size"), arguments.pop("n_classes"), **arguments)

    def _train_network(self, network: AttributionNet, split: TrainingSplit, max_epochs: int) -> History:
        optimiser = torch.optim.Adam(network.parameters(), lr=self.learning_rate)

        def step(batch: list[torch.Tensor]) -> dict[str, float]:
            images, labels = batch
            network.train()
            loss = F.cross_entropy(network(images), labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            return {"loss": loss.item()}

        def evaluate() -> float:
            network.eval()
            logits = torch.from_numpy(self._batched(network, split.val_images))
            labels = torch.from_numpy(split.val_targets)
            accuracy = (logits.argmax(1) == labels).float().mean().item()
            return accuracy - NLL_WEIGHT * F.cross_entropy(logits, labels).item()

        n_classes = len(np.unique(np.concatenate([split.targets, split.val_targets])))
        return self._epochs(step, split, {"model": network, "optimiser": optimiser}, evaluate=evaluate,
                            max_epochs=max_epochs, min_delta=MIN_DELTA, patience_from=above_chance(n_classes),
                            stall_patience=STALL_FACTOR * self._patience(len(split.images)))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = self._checked(X)
        proba = self._batched(Probabilities(self.model_).eval(), X).astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def fingerprint(self, X: np.ndarray) -> np.ndarray:
        """Image fingerprints (N, fingerprint_dim): the feature before the final layer (§3.1)."""
        self._checked(X)
        self.model_.eval()
        return self._batched(self.model_.fingerprint, X)

    @property
    def model_fingerprints_(self) -> np.ndarray:
        """Model fingerprints (n_classes, fingerprint_dim): the final layer's weight rows (§3.1)."""
        check_is_fitted(self)
        return self.model_.classifier.weight.detach().cpu().numpy()

    def torch_module(self) -> torch.nn.Module:
        """[−1, 1] NCHW → class probabilities, for ONNX export (:mod:`ganprint.onnx_export`)."""
        check_is_fitted(self)
        return Probabilities(self.model_).eval()
