"""The fit scaffolding every neural attributor shares: :class:`NeuralAttributor`.

A neural attributor (``cnn``, ``visnet``, ``bfrvae``) is a network trained on image–source pairs.
Everything around the optimisation step is the same for all of them and lives here, once:

- the training data: uint8 images checked (:func:`ganprint.images.check_images`), labels as
  ``str``, ``classes_`` their sorted set, integer targets in that order;
- the validation split: ``validation_fraction`` of each source, drawn with ``random_state``
  (:func:`ganprint.training.stratified_validation`), carved out of the images given to ``fit``;
- the network: built from ``_network_arguments`` (JSON-serialisable, kept as
  ``network_arguments_``) by ``_build_network`` after seeding with ``random_state``, so a fitted
  network can be rebuilt from what the fit recorded;
- training: :func:`ganprint.training.train_epochs` through :meth:`NeuralAttributor._epochs`,
  with early stopping on the subclass's validation score after ``patience`` epochs without
  improvement (by default one epoch per 20 training images, between 2 and 10);
- fitted-weights caching (:func:`ganprint.fitted_cache.cached_fit`), keyed by the plugin, the
  hyperparameters that change the weights (all but :attr:`NeuralAttributor.NOT_IN_KEY`), the
  class's ``training_version`` and the training data; ``cache=False`` always trains;
- fine-tuning (immunisation, Yu et al. 2019 §4.4; ``bench run --immunize``): ``fine_tune(X, y)``
  continues from the fitted weights on images of the fitted size and labels among ``classes_``,
  for at most ``fine_tune_epochs`` epochs, cached under a key that names the fit it started from;
- the training history: ``history_`` (epochs run, best epoch, whether it stopped early, the
  validation score and the mean losses of every epoch), ``fit_key_`` (the key of the fitted
  weights) and ``cache_hit_``.

A subclass lists its hyperparameters in ``__init__`` (the shared ones are ``batch_size``,
``learning_rate``, ``max_epochs``, ``patience``, ``fine_tune_epochs``, ``validation_fraction``,
``random_state``, ``precision``, ``cache`` and ``progress``), sets :attr:`NeuralAttributor.plugin_id`, and writes

- ``_network_arguments(image_shape, n_classes)`` and ``_build_network(arguments)``;
- ``_train_network(network, split, max_epochs) -> History``: its optimisers, step and validation
  score, handed to :meth:`NeuralAttributor._epochs`;
- ``predict_proba`` (through :meth:`NeuralAttributor._checked` and
  :meth:`NeuralAttributor._batched`), and optionally ``_check_image_shape`` (size rules of its
  network) and ``_after_training(X, y)`` (learned state beyond the network, e.g. per-source
  densities).

Where later work plugs in, without touching a plugin:

- arithmetic precision, the shared ``precision`` hyperparameter: ``"float32"`` throughout, or
  ``"bf16"``, bfloat16 autocast (``torch.autocast``) on channels-last tensors for every training
  step and inference batch (the weights, the optimiser state and the losses stay float32; matrix
  products and convolutions run in bfloat16). It applies in :meth:`NeuralAttributor._epochs`
  (around each ``step``, backward included, and in ``prepare``), :meth:`NeuralAttributor._batched`
  and :meth:`NeuralAttributor._new_network`. ``"bf16"`` is part of the fitted-weights key, so a
  float32 fit is never reused for it; ``"float32"`` is left out of the key, so the keys of fits
  made before the parameter existed still hold;
- streaming the training split from a Dataset through a DataLoader: the split reaches training
  only as a :class:`TrainingSplit`, whose training images only :meth:`NeuralAttributor._epochs`
  reads (the targets and the small validation part can stay arrays);
- saving and loading a fitted attributor (:mod:`ganprint.saving`): ``model_``'s state dict plus
  ``get_params()`` and the other learned attributes (``classes_``, ``image_shape_``,
  ``network_arguments_``, ``history_``...); loading rebuilds the network with
  ``_build_network(network_arguments_)`` (:meth:`NeuralAttributor._rebuild_modules`).

This module imports torch; ``import ganprint`` does not import it.
"""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, ContextManager, Mapping

import numpy as np
import torch

from ganprint.fitted_cache import cached_fit
from ganprint.images import check_images, check_same_size
from ganprint.interfaces import Attributor, check_is_fitted, check_known_labels
from ganprint.lazy_images import take
from ganprint.seeding import seed_everything
from ganprint.training import History, device, predict_batched, stratified_validation, train_epochs


@dataclass(frozen=True)
class TrainingSplit:
    """The images and integer targets a network trains on, and the validation part held out."""

    images: np.ndarray
    targets: np.ndarray
    val_images: np.ndarray
    val_targets: np.ndarray

    @property
    def has_validation(self) -> bool:
        return len(self.val_images) > 0


PRECISIONS = ("float32", "bf16")


def history_record(history: History) -> dict[str, Any]:
    """The JSON-serialisable ``history_`` of a training run."""
    return {"epochs": len(history.losses), "best_epoch": history.best_epoch,
            "stopped_early": history.stopped_early, "val_scores": history.val_scores,
            "losses": history.losses}


class NeuralAttributor(Attributor):
    """An Attributor whose ``fit`` trains a network; see the module for what it owns."""

    plugin_id: ClassVar[str] = ""
    # fit and fine_tune take images read on demand (ganprint.lazy_images.LazyImages) and read a
    # minibatch at a time, so the protocol streams the training split instead of loading it.
    streams_images: ClassVar[bool] = True
    # Part of the fitted-weights key: a subclass raises it when training changes for the same parameters.
    training_version: ClassVar[int] = 1
    # Hyperparameters that do not change the fitted weights; fine_tune_epochs enters a fine-tune's key.
    NOT_IN_KEY: ClassVar[tuple[str, ...]] = ("cache", "progress", "fine_tune_epochs")

    batch_size: int
    learning_rate: float
    max_epochs: int
    patience: int | None
    fine_tune_epochs: int
    validation_fraction: float
    random_state: int
    precision: str
    cache: bool
    progress: bool

    # ------------------------------------------------------------------ written by a subclass
    def _network_arguments(self, image_shape: tuple[int, int], n_classes: int) -> dict[str, Any]:
        """The JSON-serialisable arguments ``_build_network`` needs for images of ``image_shape``
        (height, width) and ``n_classes`` sources."""
        raise NotImplementedError

    def _build_network(self, arguments: Mapping[str, Any]) -> torch.nn.Module:
        """A freshly initialised network from ``_network_arguments``' result."""
        raise NotImplementedError

    def _train_network(self, network: torch.nn.Module, split: TrainingSplit, max_epochs: int) -> History:
        """Train ``network`` in place on ``split`` for at most ``max_epochs`` epochs (through
        :meth:`_epochs`), leaving it at its best epoch."""
        raise NotImplementedError

    def _check_image_shape(self, height: int, width: int) -> None:
        """Raise ``ValueError`` for image sizes the network cannot take (any size by default)."""

    def _after_training(self, X: np.ndarray, y: np.ndarray) -> None:
        """Learn what is not in the network from the (fine-)tuned network and its training data."""

    # ------------------------------------------------------------------ fit and fine-tune
    def fit(self, X: np.ndarray, y: np.ndarray) -> "NeuralAttributor":
        self._check_precision()
        X, y = self._checked_training_data(X, y)
        classes = np.unique(y)
        image_shape = (int(X.shape[1]), int(X.shape[2]))
        arguments = self._network_arguments(image_shape, len(classes))
        network = self._new_network(arguments)
        self._train_through_cache(network, X, y, classes, max_epochs=self.max_epochs, start_key=None)
        self.network_arguments_ = arguments
        self.image_shape_ = image_shape
        self._after_training(X, y)
        return self

    def fine_tune(self, X: np.ndarray, y: np.ndarray) -> "NeuralAttributor":
        """Continue training the fitted network on ``X``, ``y`` (labels among ``classes_``, images
        of the fitted size) for at most ``fine_tune_epochs`` epochs, with the same validation split
        rule and early stopping; cached under a key naming the fit it starts from."""
        check_known_labels(self, y)
        self._check_precision()
        X, y = self._checked_training_data(X, y)
        check_same_size(X, self.image_shape_)
        self._train_through_cache(self.model_, X, y, self.classes_, max_epochs=self.fine_tune_epochs,
                                  start_key=self.fit_key_)
        self._after_training(X, y)
        return self

    def _checked_training_data(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        check_images(X)
        y = np.asarray(y).astype(str)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} images but y has {len(y)} labels")
        self._check_image_shape(int(X.shape[1]), int(X.shape[2]))
        return X, y

    def _check_precision(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}; got {self.precision!r}")

    @property
    def _bf16(self) -> bool:
        return getattr(self, "precision", "float32") == "bf16"

    def _autocast(self) -> ContextManager[Any]:
        """bfloat16 autocast on the device with ``precision="bf16"``, else nothing."""
        return torch.autocast(device().type, dtype=torch.bfloat16) if self._bf16 else nullcontext()

    def _memory_format(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` channels-last with ``precision="bf16"`` when it is a batch of images (4-D)."""
        return x.contiguous(memory_format=torch.channels_last) if self._bf16 and x.ndim == 4 else x

    def _new_network(self, arguments: Mapping[str, Any]) -> torch.nn.Module:
        """The network of ``arguments``, initialised from ``random_state``, on the device
        (channels-last with ``precision="bf16"``)."""
        seed_everything(self.random_state)
        network = self._build_network(arguments).to(device())
        return network.to(memory_format=torch.channels_last) if self._bf16 else network

    def _train_through_cache(self, network: torch.nn.Module, X: np.ndarray, y: np.ndarray,
                             classes: np.ndarray, *, max_epochs: int, start_key: str | None) -> None:
        """Train ``network`` from its current weights on ``X``, ``y`` (or load the result from the
        fitted-weights cache) and set the fitted state."""
        targets = np.searchsorted(classes, y).astype(np.int64)
        is_val = stratified_validation(y, self.validation_fraction, self.random_state)
        train_rows, val_rows = np.flatnonzero(~is_val), np.flatnonzero(is_val)
        split = TrainingSplit(take(X, train_rows), targets[train_rows], take(X, val_rows), targets[val_rows])
        params = {k: v for k, v in self.get_params(deep=False).items() if k not in self.NOT_IN_KEY}
        if params.get("precision") == "float32":
            del params["precision"]  # the arithmetic of every fit made before the parameter existed
        params["training_version"] = self.training_version
        if start_key is not None:
            params["fine_tune_epochs"] = max_epochs

        def train() -> dict[str, Any]:
            return history_record(self._train_network(network, split, max_epochs))

        history, key, hit = cached_fit(self.plugin_id, params, X, y, {"model": network}, train,
                                       enabled=self.cache, extra=start_key)
        network.eval()
        self.model_ = network
        self.classes_ = classes
        self.history_ = history
        self.fit_key_ = key
        self.cache_hit_ = hit

    def _rebuild_modules(self) -> dict[str, torch.nn.Module]:
        """The saving hook (:mod:`ganprint.saving`): a freshly built network of the recorded
        ``network_arguments_``, into which loading puts the saved weights of ``model_``."""
        return {"model_": self._build_network(self.network_arguments_).to(device())}

    # ------------------------------------------------------------------ what subclasses call
    def _patience(self, n_train: int) -> int:
        """``patience``, or by default one epoch per 20 training images, between 2 and 10: a tiny
        set (a conformance check) stops soon, a real one waits 10 epochs for an improvement."""
        if self.patience is not None:
            return self.patience
        return int(np.clip(n_train // 20, 2, 10))

    def _epochs(self, step: Callable[[list[torch.Tensor]], Mapping[str, float]], split: TrainingSplit,
                modules: Mapping[str, torch.nn.Module | torch.optim.Optimizer], *,
                evaluate: Callable[[], float], max_epochs: int, **stopping: Any) -> History:
        """Epochs of ``step`` over minibatches of (images, targets) of ``split``'s training part,
        early stopping on ``evaluate`` (higher is better; skipped without a validation part).
        ``stopping`` passes ``min_delta``, ``patience_from`` or ``stall_patience`` on to
        :func:`ganprint.training.train_epochs`. With ``precision="bf16"`` each step runs under
        bfloat16 autocast and its image batches are channels-last."""
        if self._bf16:
            plain_step = step

            def step(batch: list[torch.Tensor]) -> Mapping[str, float]:
                with self._autocast():
                    return plain_step([self._memory_format(t) for t in batch])

        return train_epochs(
            step, [split.images, split.targets], modules, batch_size=self.batch_size, max_epochs=max_epochs,
            seed=self.random_state, evaluate=evaluate if split.has_validation else None,
            patience=self._patience(len(split.images)), desc=f"fitting {self.plugin_id}",
            progress=self.progress, **stopping)

    def _checked(self, X: np.ndarray) -> np.ndarray:
        """``X`` once the attributor is fitted and ``X`` is a uint8 batch of the fitted size."""
        check_is_fitted(self)
        check_images(X)
        check_same_size(X, self.image_shape_)
        return X

    def _batched(self, fn: Callable[[torch.Tensor], torch.Tensor], X: np.ndarray,
                 batch_size: int = 256) -> np.ndarray:
        """``fn`` (a network in eval mode) applied to uint8 images in batches, as float32 numpy
        (under bfloat16 autocast on channels-last batches with ``precision="bf16"``)."""
        if not self._bf16:
            return predict_batched(fn, X, batch_size)

        def in_precision(x: torch.Tensor) -> torch.Tensor:
            with self._autocast():
                return fn(self._memory_format(x)).float()

        return predict_batched(in_precision, X, batch_size)
