"""visNet as an Attributor: the fingerprint visualisation network of Yu et al. 2019, §3.3 (Fig. 3,
eq. 4), evaluated for attribution in §4.5 (Table 3) and visualised in Fig. 7.

Training minimises eq. 4, λ1·L_pix + λ2·L_adv + λ3·L_cls with λ = (20, 0.1, 1): the L1
reconstruction loss of R, the adversarial loss of R against the reconstruction critic D_rec, and
the cross-entropy of the correlation logits. Each minibatch first takes one WGAN-GP step of D_rec
(real images against their reconstructions), then one step of R and the model fingerprints.
The validation split, early stopping (here on the validation cross-entropy), fitted-weights cache
and fine-tuning are :class:`ganprint.neural.NeuralAttributor`'s; ``torch_module`` makes the fitted
network exportable to ONNX with ``ganprint.onnx_export``.

Temperature: the paper uses the raw correlation index, which lies in [−1, 1], as the softmax
logit. A residual that also carries image content correlates with its own model fingerprint far
below 1, so raw logits leave every softmax nearly uniform (with 5 sources and an own-source
correlation of 0.3 against 0 elsewhere, P = 0.25): the cross-entropy keeps pushing long after
attribution is right, and ``confidence`` (used for open-world rejection) says little. Dividing by
a temperature of 0.05 (logit scale 20, the range of cosine-softmax scales in face recognition)
lets such a correlation gap of 0.3 reach P ≈ 0.99, and still bounds the logit gap at 40, so no
single image can dominate the loss. ``temperature=1`` gives the paper's raw logits.

Training budget: at most ``max_epochs`` (15) epochs with a patience of 3, and at most
``fine_tune_epochs`` (3) per fine-tune; the paper trains far longer. Why, with timings:
docs/results/visnet/README.md.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
import torch.nn.functional as F

from ganprint import check_is_fitted
from ganprint.gradient_penalty import wgan_gradient_penalty
from ganprint.neural import NeuralAttributor, TrainingSplit
from ganprint.seeding import seed_everything
from ganprint.training import History, device
from ganprint.plugins.visnet.network import FingerprintModel, ReconstructionCritic


class SourceProbabilities(torch.nn.Module):
    """The softmax over sources of a :class:`FingerprintModel`'s correlation logits."""

    def __init__(self, model: FingerprintModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x)[2], dim=1)


class VisNetAttributor(NeuralAttributor):
    """Reconstruction residuals (image fingerprints) correlated with learned model fingerprints."""

    plugin_id = "visnet"

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
        precision: str = "float32",
        cache: bool = True,
        progress: bool = False,
    ) -> None:
        self._store_init_arguments(locals())

    def _check_image_shape(self, height: int, width: int) -> None:
        if height % 2 ** self.depth or width % 2 ** self.depth:
            raise ValueError(f"visNet with depth {self.depth} needs image sides divisible by "
                             f"{2 ** self.depth}; got {height}x{width}")

    def _network_arguments(self, image_shape: tuple[int, int], n_classes: int) -> dict[str, Any]:
        return dict(n_sources=n_classes, image_size=list(image_shape), temperature=self.temperature,
                    width=self.width, depth=self.depth)

    def _build_network(self, arguments: Mapping[str, Any]) -> FingerprintModel:
        return FingerprintModel(**{**arguments, "image_size": tuple(arguments["image_size"])})

    def _train_network(self, model: FingerprintModel, split: TrainingSplit, max_epochs: int) -> History:
        """Eq. 4 with a reconstruction critic trained alongside (a new one for every fit or fine-tune)."""
        seed_everything(self.random_state)
        critic = ReconstructionCritic(tuple(model.model_fingerprints.shape[2:]), self.width).to(device())
        betas = (0.5, 0.999)
        opt_model = torch.optim.Adam(model.parameters(), lr=self.learning_rate, betas=betas)
        opt_critic = torch.optim.Adam(critic.parameters(), lr=self.learning_rate, betas=betas)

        def step(batch: list[torch.Tensor]) -> dict[str, float]:
            images, target = batch
            model.train()
            # One forward of R serves both steps: the critic sees it detached, before R changes.
            reconstruction, _, logits = model(images)
            fake = reconstruction.detach()
            penalty = wgan_gradient_penalty(critic, images, fake)
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
            logits = torch.from_numpy(self._batched(lambda x: model(x)[2], split.val_images))
            return -F.cross_entropy(logits, torch.from_numpy(split.val_targets)).item()

        return self._epochs(step, split, {"model": model, "critic": critic, "opt_model": opt_model,
                                          "opt_critic": opt_critic}, evaluate=evaluate, max_epochs=max_epochs)

    def torch_module(self) -> torch.nn.Module:
        """The fitted network from [−1, 1] images to ``predict_proba`` (for ONNX export)."""
        check_is_fitted(self)
        return SourceProbabilities(self.model_).eval()

    def _logits(self, X: np.ndarray) -> np.ndarray:
        return self._batched(lambda x: self.model_(x)[2], self._checked(X)).astype(np.float64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return torch.softmax(torch.from_numpy(self._logits(X)), dim=1).numpy()

    def responses(self, X: np.ndarray) -> np.ndarray:
        """(N, n_sources) correlation index of each image fingerprint with each model
        fingerprint (columns in the order of ``classes_``): the response matrix of Fig. 7."""
        return self._logits(X) * self.temperature

    def image_fingerprints(self, X: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) float32 residuals R(I) − I, on the [−1, 1] scale of the images."""
        residual = self._batched(lambda x: self.model_(x)[1], self._checked(X))
        return residual.transpose(0, 2, 3, 1)

    def model_fingerprints(self) -> np.ndarray:
        """(n_sources, H, W, 3) float32 learned model fingerprints, in the order of ``classes_``."""
        check_is_fitted(self)
        return self.model_.model_fingerprints.detach().cpu().numpy().transpose(0, 2, 3, 1).copy()
