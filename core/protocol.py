"""The evaluation protocol of DESIGN.md: fit once, then score the test split under each attack.

Which protocols apply follows from what a method is and what a dataset holds:

- detection (any Detector, when the test split has real and generated images): the accuracy
  threshold is the one maximising balanced accuracy on clean val images;
- closed-world attribution (Attributor): fitted on every source;
- open-world attribution (Attributor, at least two generated sources): a second instance is fitted
  without the held-out generated sources (a quarter of them, at least one, drawn with the seed);
  the rejection threshold on ``confidence`` accepts 95% of clean val images of known sources;
- fingerprint decoding (FingerprintDecoder, when the dataset records bits): bitwise accuracy over
  the images that record bits (real images among fingerprinted GANs record none).

Attacks are applied to test images only, batch by batch, with a generator seeded from the run
seed and the attack name, so the same seed gives the same attacked images.
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
from tqdm.auto import tqdm

from ganprint import metrics
from ganprint.dataset import Batch, Dataset
from ganprint.interfaces import REAL, Attack, Attributor, Detector, FingerprintDecoder
from ganprint.lazy_images import LazyImages, TrainingAttack, readable
from ganprint.seeding import seed_everything

REJECTION_ACCEPT = 0.95


def stable_int(text: str) -> int:
    """A 32-bit integer from a string, the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def attack_rng(seed: int, attack_name: str, purpose: str = "test") -> np.random.Generator:
    return np.random.default_rng([seed, stable_int(attack_name), stable_int(purpose)])


def held_out_sources(sources: list[str], seed: int) -> list[str]:
    """Generated sources kept out of open-world training: a quarter (at least one), by seed."""
    generated = sorted(s for s in sources if s != REAL)
    if len(generated) < 2:
        return []
    k = max(1, len(generated) // 4)
    rng = np.random.default_rng([seed, stable_int("open-world")])
    return sorted(rng.choice(generated, size=k, replace=False).tolist())


def fit_method(
    factory: Callable[[], Any],
    dataset: Dataset,
    *,
    seed: int,
    sources: list[str] | None = None,
    train_attack: Attack | None = None,
    attack_name: str = "none",
    start_from: Any | None = None,
) -> Any:
    """A new instance from ``factory`` fitted on the train split (optionally attacked images).

    With ``start_from`` (a fitted method offering ``fine_tune``), a copy of it is fine-tuned on
    those images instead; ``start_from`` itself is left as it was.
    """
    method = factory() if start_from is None else copy.deepcopy(start_from)
    if not hasattr(method, "fit"):
        return method
    images, labels = training_images(method, dataset, sources, seed, train_attack, attack_name)
    seed_everything(seed)
    step = "fit" if start_from is None else "fine_tune"
    fitted = getattr(method, step)(images, labels)
    if fitted is not method:
        raise TypeError(f"{type(method).__name__}.{step} must return self")
    return method


def training_images(method: object, dataset: Dataset, sources: list[str] | None, seed: int,
                    train_attack: Attack | None, attack_name: str) -> tuple[Any, np.ndarray]:
    """The train split's images and labels as ``method`` takes them: read on demand when it
    ``streams_images`` (:class:`ganprint.lazy_images.LazyImages`), else loaded in memory.

    A training-time attack is applied to each image with a generator seeded from the run seed,
    the attack and the image's id, the same in both cases."""
    attack = None if train_attack is None else TrainingAttack(train_attack, attack_name, seed)
    if getattr(method, "streams_images", False):
        records = readable(dataset, dataset.select("train", sources))
        if not records:
            raise ValueError(f"dataset {dataset.name!r} has no readable train images"
                             + (f" of sources {list(sources)}" if sources else ""))
        return LazyImages(dataset, records, attack), np.array([r.source for r in records], dtype=str)
    train = dataset.load("train", sources)
    images = train.images if attack is None else attack(train.images, train.ids)
    return images, train.labels


def can_fine_tune(method: object) -> bool:
    """True when ``method`` offers ``fine_tune(X, y) -> self``, continuing from its learned state.

    Immunisation (Yu et al. 2019 §4.4) fine-tunes such a method on attacked training images;
    any other method is refit from scratch on them.
    """
    return callable(getattr(method, "fine_tune", None))


@dataclass
class Outputs:
    """Per-image outputs of a method on one split."""

    ids: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    confidence: list[float] = field(default_factory=list)
    open_predicted: list[str] = field(default_factory=list)
    open_confidence: list[float] = field(default_factory=list)
    bits_correct: list[float] = field(default_factory=list)
    n_bits_correct: int = 0
    n_bits: int = 0

    def rows(self) -> Iterator[dict[str, Any]]:
        columns = {k: v for k, v in vars(self).items() if isinstance(v, list) and v}
        for i in range(len(self.ids)):
            yield {k: v[i] for k, v in columns.items()}


def _overrides(method: object, name: str) -> bool:
    return getattr(type(method), name) is not getattr(Attributor, name)


def attributor_outputs(method: Attributor, X: np.ndarray, proba: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(predicted label, score, confidence) computing ``predict_proba`` once where allowed (not
    at all when its result ``proba`` is given)."""
    proba = np.asarray(method.predict_proba(X) if proba is None else proba)
    classes = np.asarray(method.classes_)
    predicted = method.predict(X) if _overrides(method, "predict") else classes[np.argmax(proba, axis=1)]
    if _overrides(method, "score"):
        scores = method.score(X)
    elif REAL in list(classes):
        scores = 1.0 - proba[:, list(classes).index(REAL)]
    else:
        scores = proba.max(axis=1)
    confidence = method.confidence(X) if _overrides(method, "confidence") else proba.max(axis=1)
    return np.asarray(predicted), np.asarray(scores, dtype=np.float64), np.asarray(confidence, dtype=np.float64)


@dataclass
class FittedMethod:
    """A method fitted for every protocol that applies, with thresholds calibrated on val."""

    method: Any
    open_method: Any | None = None
    known: list[str] = field(default_factory=list)
    held_out: list[str] = field(default_factory=list)
    detection_threshold: float | None = None
    rejection_threshold: float | None = None
    # the same rule on ``method``'s own confidence over val images of the sources it knows: what a
    # saved detector (ganprint.saving) calls ``unknown`` by
    own_rejection_threshold: float | None = None


def collect(
    fitted: FittedMethod,
    dataset: Dataset,
    split: str,
    *,
    attack: Attack | None = None,
    rng: np.random.Generator | None = None,
    batch_size: int = 256,
    sources: list[str] | None = None,
    progress: str | None = None,
) -> Outputs:
    """Run the fitted method(s) over ``split`` batch by batch, attacking each batch first."""
    out = Outputs()
    method = fitted.method
    total = len(dataset.select(split, sources))
    decodes_bits = dataset.n_bits is not None
    with tqdm(total=total, desc=progress, unit="img", disable=None if progress else True, leave=False) as bar:
        for batch in dataset.batches(split, batch_size, sources):
            X = batch.images if attack is None else attack(batch.images, rng)
            _collect_batch(fitted, method, batch, X, out, decodes_bits)
            bar.update(len(batch))
    return out


def _collect_batch(fitted: FittedMethod, method: Any, batch: Batch, X: np.ndarray, out: Outputs,
                   decodes_bits: bool = True) -> None:
    out.ids += batch.ids
    out.labels += batch.labels.tolist()
    if isinstance(method, Attributor):
        predicted, scores, confidence = attributor_outputs(method, X)
        out.predicted += [str(p) for p in predicted]
        out.scores += scores.tolist()
        out.confidence += confidence.tolist()
    elif isinstance(method, Detector):
        out.scores += np.asarray(method.score(X), dtype=np.float64).tolist()
    if fitted.open_method is not None:
        predicted, _, confidence = attributor_outputs(fitted.open_method, X)
        out.open_predicted += [str(p) for p in predicted]
        out.open_confidence += confidence.tolist()
    if isinstance(method, FingerprintDecoder) and decodes_bits:
        # images without recorded bits (real ones among fingerprinted GANs) are not scored: NaN
        marked = [i for i, r in enumerate(batch.records) if r.bits is not None]
        per_image = np.full(len(batch), np.nan)
        if marked:
            truth = np.array([batch.records[i].bits for i in marked], dtype=np.uint8)
            correct = np.asarray(method.decode(X[marked])) == truth
            per_image[marked] = correct.mean(axis=1)
            out.n_bits_correct += int(correct.sum())
            out.n_bits += int(correct.size)
        out.bits_correct += per_image.tolist()


def has_real_and_generated(dataset: Dataset) -> bool:
    sources = dataset.sources
    return REAL in sources and len(sources) > 1


def prepare(
    factory: Callable[[], Any],
    dataset: Dataset,
    *,
    seed: int,
    batch_size: int = 256,
    train_attack: Attack | None = None,
    attack_name: str = "none",
    progress: bool = False,
    fine_tune_from: FittedMethod | None = None,
) -> FittedMethod:
    """Fit for every protocol that applies and calibrate the thresholds on clean val images.

    With ``fine_tune_from`` (methods already prepared, offering ``fine_tune``; see
    :func:`can_fine_tune`), copies of them are fine-tuned on the (attacked) train split instead.
    """
    start = fine_tune_from if fine_tune_from is not None and can_fine_tune(fine_tune_from.method) else None
    fit = lambda sources=None, start_from=None: fit_method(  # noqa: E731
        factory, dataset, seed=seed, sources=sources, train_attack=train_attack, attack_name=attack_name,
        start_from=start_from,
    )
    method = fit(start_from=None if start is None else start.method)
    known, held_out = open_world_split(method, dataset, seed)
    open_method = fit(known, None if start is None else start.open_method) if held_out else None
    return calibrate(method, open_method, dataset, known=known, held_out=held_out, batch_size=batch_size,
                     progress=progress)


def open_world_split(method: object, dataset: Dataset, seed: int) -> tuple[list[str], list[str]]:
    """(known, held-out) sources of the open-world protocol for ``method``, or ([], []) when it
    does not apply (not an Attributor, or fewer than two generated sources)."""
    if not isinstance(method, Attributor):
        return [], []
    held_out = held_out_sources(dataset.sources, seed)
    if not held_out:
        return [], []
    return [s for s in dataset.sources if s not in held_out], held_out


def calibrate(
    method: Any,
    open_method: Any | None,
    dataset: Dataset,
    *,
    known: list[str],
    held_out: list[str],
    batch_size: int = 256,
    progress: bool = False,
    sources: list[str] | None = None,
) -> FittedMethod:
    """The fitted method(s) with their thresholds calibrated on clean val images: detection at
    the best balanced accuracy, open-world rejection accepting 95% of known sources' images (for
    ``open_method``, and for ``method`` itself over the sources it was fitted on). ``sources``
    limits calibration to the val images of those sources (default: all). The tie rules are those
    of :func:`ganprint.metrics.detection_threshold` and :func:`ganprint.metrics.rejection_threshold`;
    a threshold whose val images do not allow it (no real or no generated image; no image of a
    known source) stays None."""
    fitted = FittedMethod(method, open_method, list(known), list(held_out))
    label = "calibrating" if progress else None
    val = collect(fitted, dataset, "val", batch_size=batch_size, sources=sources, progress=label)
    if isinstance(method, Detector) and has_real_and_generated(dataset):
        is_fake = np.asarray(val.labels) != REAL
        if is_fake.any() and not is_fake.all():
            fitted.detection_threshold = metrics.detection_threshold(is_fake, np.asarray(val.scores))
    if isinstance(method, Attributor):
        knows = np.isin(val.labels, np.asarray(method.classes_).astype(str))
        if knows.any():
            fitted.own_rejection_threshold = metrics.rejection_threshold(
                np.asarray(val.confidence)[knows], REJECTION_ACCEPT)
    if fitted.open_method is not None:
        is_known = np.isin(val.labels, fitted.known)
        if is_known.any():
            fitted.rejection_threshold = metrics.rejection_threshold(
                np.asarray(val.open_confidence)[is_known], REJECTION_ACCEPT
            )
    return fitted


def evaluate(
    fitted: FittedMethod,
    dataset: Dataset,
    *,
    seed: int,
    attack: Attack | None = None,
    attack_name: str = "none",
    batch_size: int = 256,
    progress: str | None = None,
) -> tuple[dict[str, Any], Outputs]:
    """Metrics of every applicable protocol on the (attacked) test split, and per-image outputs.

    Beside its metrics, detection records the ``threshold`` its accuracy used, and open world the
    ``rejection_threshold`` on ``confidence`` and the ``held_out`` sources. A protocol whose threshold
    could not be calibrated (None: see :func:`calibrate`) is left out. An attack draws from one
    generator (:func:`attack_rng` of ``seed`` and ``attack_name``) batch after batch, so
    ``batch_size`` is part of what the attacked images are.
    """
    rng = attack_rng(seed, attack_name) if attack is not None else None
    out = collect(fitted, dataset, "test", attack=attack, rng=rng, batch_size=batch_size, progress=progress)
    if not out.ids:
        raise ValueError(f"dataset {dataset.name!r} has no readable test images")
    results: dict[str, Any] = {}
    method = fitted.method
    if out.scores and fitted.detection_threshold is not None:
        results["detection"] = metrics.detection_metrics(out.labels, np.asarray(out.scores),
                                                          fitted.detection_threshold)
        results["detection"]["threshold"] = fitted.detection_threshold
    if out.predicted:
        classes = list(dict.fromkeys(list(np.asarray(method.classes_).tolist()) + dataset.sources))
        results["closed_world"] = metrics.attribution_metrics(out.labels, out.predicted, classes)
    if out.open_predicted and fitted.rejection_threshold is not None:
        results["open_world"] = metrics.open_world_metrics(
            out.labels, out.open_predicted, np.asarray(out.open_confidence), fitted.known,
            fitted.rejection_threshold,
        )
        results["open_world"]["rejection_threshold"] = fitted.rejection_threshold
        results["open_world"]["held_out"] = fitted.held_out
    if out.n_bits:
        results["fingerprint"] = {"bitwise_acc": out.n_bits_correct / out.n_bits}
    if not results:
        raise ValueError(
            f"no protocol applies to {type(method).__name__} on dataset {dataset.name!r} "
            "(detection needs real and generated images, decoding needs recorded bits)"
        )
    return results, out
