"""The one training utility every neural method shares: device, seeding, batching, progress,
early stopping and resumable checkpoints.

Two loops cover the methods of the papers:

- :func:`train_epochs`: epochs over a fixed training set with early stopping on a validation
  score (attribution networks, visNet, BFR-VAE, steganography encoder/decoder);
- :func:`train_iterations`: a fixed number of iterations with a checkpoint every so often, so a
  run killed at any point resumes where it was (GAN training for the zoo).

The caller writes the optimisation step; the loop owns everything around it. Checkpoints are
``torch.save`` of state dicts and tensors only, read back with ``weights_only=True``; final weights
go to safetensors (:func:`save_weights` / :func:`load_weights`).

This module imports torch: ``import ganprint`` does not import it.
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from ganprint.seeding import seed_everything


def device() -> torch.device:
    """The device neural methods run on: CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def show_progress(requested: bool) -> bool:
    """Whether a training loop draws its progress bar: as ``requested``, unless the environment
    says no (``TQDM_DISABLE``, set by ``bench -q`` and in the workers of a parallel run)."""
    return bool(requested) and os.environ.get("TQDM_DISABLE", "") in ("", "0", "false", "False")


def seeded_generator(seed: int) -> torch.Generator:
    """A torch CPU generator for model initialisation and sampling independent of global state."""
    return torch.Generator().manual_seed(int(seed))


def to_tensor(images: np.ndarray, dev: torch.device | None = None) -> torch.Tensor:
    """uint8 (N, H, W, 3) → float32 (N, 3, H, W) in [−1, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(images)).to(dev or device())
    return x.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def to_images(x: torch.Tensor) -> np.ndarray:
    """float (N, 3, H, W) in [−1, 1] → uint8 (N, H, W, 3), rounded and clipped."""
    x = x.detach().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def batch_indices(n: int, batch_size: int, seed: int, epoch: int) -> Iterator[np.ndarray]:
    """A shuffled pass over ``range(n)`` in minibatches, a pure function of (seed, epoch)."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def minibatches(arrays: Sequence[Any], batch_size: int, seed: int, epoch: int
                ) -> Iterator[tuple[np.ndarray, list[np.ndarray]]]:
    """The (indices, parts) of each minibatch of one epoch (:func:`batch_indices`).

    Arrays that read their images from files when indexed (``reads_files``, e.g.
    :class:`ganprint.lazy_images.LazyImages` over a folder) are read by a ``DataLoader`` worker
    process, one batch ahead of the training step; the batches are the same either way."""
    indices = list(batch_indices(len(arrays[0]), batch_size, seed, epoch))
    if not any(getattr(a, "reads_files", False) for a in arrays):
        for idx in indices:
            yield idx, [a[idx] for a in arrays]
        return
    loader = torch.utils.data.DataLoader(_Minibatches(arrays, indices), batch_size=None, shuffle=False,
                                         num_workers=1, collate_fn=_as_read, prefetch_factor=2)
    yield from zip(indices, loader)


class _Minibatches(torch.utils.data.Dataset):
    """Minibatch ``i`` of an epoch, read in a DataLoader worker."""

    def __init__(self, arrays: Sequence[Any], indices: list[np.ndarray]) -> None:
        self.arrays, self.indices = arrays, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> list[np.ndarray]:
        return [a[self.indices[i]] for a in self.arrays]


def _as_read(parts: list[np.ndarray]) -> list[np.ndarray]:
    return parts


def sample_indices(n: int, batch_size: int, seed: int, iteration: int) -> np.ndarray:
    """The minibatch of iteration ``iteration``: the data order is a pure function of the seed,
    so runs that differ only in initialisation see the same images in the same order."""
    epoch, offset = divmod(iteration * batch_size, n)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    take = order[offset:offset + batch_size]
    if len(take) < batch_size:
        nxt = np.random.default_rng([seed, epoch + 1]).permutation(n)
        take = np.concatenate([take, nxt[: batch_size - len(take)]])
    return take


def stratified_validation(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of the validation part a method carves from ``fit``'s training data:
    ``fraction`` of each class (at least one of any class with two or more images, never all of
    it), drawn by a generator seeded with ``seed`` alone."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    mask = np.zeros(len(y), dtype=bool)
    for label in sorted(set(y.tolist())):
        rows = np.flatnonzero(y == label)
        if len(rows) < 2 or fraction <= 0:
            continue
        k = min(max(1, int(round(fraction * len(rows)))), len(rows) - 1)
        mask[rng.permutation(rows)[:k]] = True
    return mask


# At most this many pixels per inference batch (256 images of 64×64): a network's activations grow
# with it, so large images go through in smaller batches and memory does not grow with image size.
INFERENCE_PIXELS = 2 ** 20


@torch.no_grad()
def predict_batched(fn: Callable[[torch.Tensor], torch.Tensor], images: np.ndarray,
                    batch_size: int = 256) -> np.ndarray:
    """Apply ``fn`` to uint8 images in batches (in eval mode by the caller); concatenated numpy.

    A batch holds at most ``batch_size`` images and :data:`INFERENCE_PIXELS` pixels."""
    height, width = int(images.shape[1]), int(images.shape[2])
    batch_size = max(1, min(batch_size, INFERENCE_PIXELS // (height * width)))
    outs = [fn(to_tensor(images[i:i + batch_size])).cpu().numpy() for i in range(0, len(images), batch_size)]
    return np.concatenate(outs)


def _state(modules: Mapping[str, torch.nn.Module | torch.optim.Optimizer]) -> dict:
    return {name: m.state_dict() for name, m in modules.items()}


def _restore(modules: Mapping[str, torch.nn.Module | torch.optim.Optimizer], state: dict) -> None:
    for name, m in modules.items():
        m.load_state_dict(state[name])


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write atomically (temporary file, then rename): a kill never leaves half a checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`, executing nothing (weights_only)."""
    return torch.load(Path(path), map_location="cpu", weights_only=True)


@dataclass
class History:
    """What a training loop did: per-epoch (or per-log) losses and validation scores."""

    losses: list[dict[str, float]] = field(default_factory=list)
    val_scores: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False


def train_epochs(
    step: Callable[[list[torch.Tensor]], Mapping[str, float]],
    arrays: Sequence[np.ndarray],
    modules: Mapping[str, torch.nn.Module | torch.optim.Optimizer],
    *,
    batch_size: int,
    max_epochs: int,
    seed: int,
    evaluate: Callable[[], float] | None = None,
    patience: int = 5,
    min_delta: float = 0.0,
    patience_from: float = -np.inf,
    stall_patience: int | None = None,
    prepare: Callable[[list[np.ndarray]], list[torch.Tensor]] | None = None,
    desc: str = "training",
    progress: bool = True,
    on_epoch_end: Callable[[int, Mapping[str, float]], None] | None = None,
) -> History:
    """Epochs of ``step`` over minibatches of ``arrays`` with early stopping on ``evaluate``.

    ``step`` receives the minibatch (``prepare`` turns numpy slices into tensors; by default uint8
    images become [−1, 1] tensors and other arrays plain tensors), takes one optimisation step and
    returns the losses to log. ``evaluate`` (higher is better) runs after each epoch; training stops
    after ``patience`` epochs without an improvement above ``min_delta`` and the modules are put
    back to their best epoch. While the best score is at or below ``patience_from`` (for a
    classifier, a level above chance) the allowance is ``stall_patience`` epochs instead: a network
    that sits at chance for a while before it starts learning is not stopped there.
    """
    seed_everything(seed)
    dev = device()
    prepare = prepare or (lambda parts: [to_tensor(p, dev) if p.dtype == np.uint8 and p.ndim == 4
                                         else torch.as_tensor(p, device=dev) for p in parts])
    n = len(arrays[0])
    history = History()
    best, best_state, waited = -np.inf, None, 0
    with tqdm(total=max_epochs, desc=desc, unit="epoch", disable=not show_progress(progress), leave=False) as bar:
        for epoch in range(max_epochs):
            sums: dict[str, float] = {}
            count = 0
            for idx, parts in minibatches(arrays, batch_size, seed, epoch):
                logged = step(prepare(parts))
                for k, v in logged.items():
                    sums[k] = sums.get(k, 0.0) + float(v) * len(idx)
                count += len(idx)
            means = {k: v / max(count, 1) for k, v in sums.items()}
            history.losses.append(means)
            if on_epoch_end is not None:
                on_epoch_end(epoch, means)
            postfix = dict(means)
            if evaluate is not None:
                score = float(evaluate())
                history.val_scores.append(score)
                postfix["val"] = score
                if score > best + min_delta or best_state is None:
                    best, best_state, waited = score, copy.deepcopy(_state(modules)), 0
                    history.best_epoch = epoch
                else:
                    waited += 1
            bar.set_postfix({k: f"{v:.4g}" for k, v in postfix.items()})
            bar.update(1)
            allowance = patience if best > patience_from or stall_patience is None else stall_patience
            if evaluate is not None and waited >= allowance:
                history.stopped_early = True
                break
    if best_state is not None:
        _restore(modules, best_state)
    return history


def train_iterations(
    step: Callable[[int], Mapping[str, float]],
    modules: Mapping[str, torch.nn.Module | torch.optim.Optimizer],
    *,
    n_iterations: int,
    seed: int,
    checkpoint: Path | None = None,
    checkpoint_every: int = 500,
    desc: str = "training",
    progress: bool = True,
    on_checkpoint: Callable[[int], None] | None = None,
) -> list[dict[str, float]]:
    """Run ``step(iteration)`` for iterations ``0..n_iterations-1``, resuming from ``checkpoint``.

    Every ``checkpoint_every`` iterations (and at the end) the modules, optimisers, iteration
    count, logged losses and torch's RNG state are written atomically; a run started again with
    the same arguments continues from the last checkpoint and ends in the same weights.
    """
    seed_everything(seed)
    start, log = 0, []
    if checkpoint is not None and Path(checkpoint).exists():
        saved = load_checkpoint(checkpoint)
        _restore(modules, saved["modules"])
        torch.set_rng_state(saved["torch_rng"])
        start, log = int(saved["iteration"]), json.loads(saved["log"])

    def write(iteration: int) -> None:
        if checkpoint is not None:
            save_checkpoint(checkpoint, {"modules": _state(modules), "iteration": iteration,
                                         "torch_rng": torch.get_rng_state(), "log": json.dumps(log)})
            if on_checkpoint is not None:
                on_checkpoint(iteration)

    with tqdm(total=n_iterations, initial=start, desc=desc, unit="it", disable=not show_progress(progress)) as bar:
        for iteration in range(start, n_iterations):
            logged = {k: float(v) for k, v in step(iteration).items()}
            if iteration % 50 == 0:
                log.append({"iteration": iteration, **logged})
                bar.set_postfix({k: f"{v:.3g}" for k, v in logged.items()})
            bar.update(1)
            if (iteration + 1) % checkpoint_every == 0 and iteration + 1 < n_iterations:
                write(iteration + 1)
    if start < n_iterations:
        write(n_iterations)
    return log


def save_weights(path: Path, module: torch.nn.Module, metadata: Mapping[str, str] | None = None,
                 dtype: torch.dtype | None = None) -> str:
    """Save a module's state dict as safetensors (atomically); return the file's sha256.
    ``dtype`` stores its floating-point tensors in that precision (they load back into the module's
    own precision)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tensors = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous()
               for k, v in module.state_dict().items()}
    save_file(tensors, str(tmp), metadata=dict(metadata or {}))
    os.replace(tmp, path)
    return file_sha256(path)


def load_weights(path: Path, module: torch.nn.Module, sha256: str | None = None) -> torch.nn.Module:
    """Load safetensors weights into ``module``, first checking the file's sha256 if given."""
    if sha256 is not None and file_sha256(path) != sha256:
        raise ValueError(f"{path}: sha256 does not match the manifest (corrupt or replaced file)")
    module.load_state_dict(load_file(str(path)))
    return module


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run a block with torch limited to ``n`` intra-op threads, restoring the count afterwards
    (small networks on a shared CPU only lose time to thread contention)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
