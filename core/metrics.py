"""Metrics of the evaluation protocol (DESIGN.md): detection, attribution, open world, bits.

scikit-learn's metric functions are used wherever one exists.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn import metrics as skm

from ganprint.interfaces import REAL, UNKNOWN


def tpr_at_fpr(is_fake: np.ndarray, scores: np.ndarray, fpr: float = 0.01) -> float:
    """The largest true-positive rate of any threshold whose false-positive rate is at most ``fpr``.

    A score at or above a threshold is called generated (as in :func:`is_generated`). "At most"
    includes a false-positive rate equal to ``fpr``: with 200 real images, "1% FPR" allows exactly two
    false positives. Every distinct score is a candidate threshold: tied scores form one ROC point, and
    the points scikit-learn drops by default from a straight run of the curve (``drop_intermediate``)
    are kept, since one of them can be the last point at or below ``fpr``.
    """
    fprs, tprs, _ = skm.roc_curve(is_fake, scores, drop_intermediate=False)
    return float(tprs[np.searchsorted(fprs, fpr, side="right") - 1])


def detection_threshold(is_fake: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold maximising balanced accuracy, to be chosen on validation images.

    Balanced accuracy is (TPR + TNR) / 2, so the threshold maximises TPR - FPR (Youden's J) over the
    distinct scores, a score at or above it being called generated (:func:`is_generated`). Among
    thresholds with the same balanced accuracy the highest is taken (the fewest images called
    generated). When calling nothing generated is best (scores no better than chance: TPR - FPR is
    at most 0 everywhere), the threshold is the smallest float above every score, so that on these
    images nothing is called generated, as that choice says; it stays a finite number.
    """
    fprs, tprs, thresholds = skm.roc_curve(is_fake, scores)
    best = int(np.argmax(tprs - fprs))
    if np.isfinite(thresholds[best]):
        return float(thresholds[best])
    return float(np.nextafter(np.max(np.asarray(scores, dtype=np.float64)), np.inf))


def is_generated(scores: np.ndarray, threshold: float) -> np.ndarray:
    """The detection verdict: a score at or above ``threshold`` (``>=``) means generated.

    Scores are compared in float64: a float32 score is not rounded to the threshold's precision.
    """
    return np.asarray(scores, dtype=np.float64) >= threshold


def open_world_decisions(predictions: Sequence[str], confidence: np.ndarray, threshold: float) -> np.ndarray:
    """The open-world verdict: each prediction, or ``"unknown"`` where its confidence is below
    ``threshold``; a confidence equal to ``threshold`` keeps its prediction (``>=``).

    Confidences are compared in float64; predictions are kept as given (an object array: an integer
    class stays an integer, a string is not truncated or stripped)."""
    accepted = np.asarray(confidence, dtype=np.float64) >= threshold
    return np.where(accepted, np.asarray(predictions, dtype=object), UNKNOWN)


def detection_metrics(labels: Sequence[str], scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Real vs generated: AUC, average precision, accuracy at ``threshold``, TPR at 1% FPR.

    Every label other than ``"real"`` counts as generated. Scores are read as float64 numbers (so
    scores read back as text from a CSV rank as numbers); accuracy calls a score at or above
    ``threshold`` generated (:func:`is_generated`), ``tpr@1%fpr`` is :func:`tpr_at_fpr` at 0.01.
    """
    is_fake = np.asarray(labels) != REAL
    scores = np.asarray(scores, dtype=np.float64)
    if is_fake.all() or not is_fake.any():
        raise ValueError("detection needs both real and generated test images")
    return {
        "auc": float(skm.roc_auc_score(is_fake, scores)),
        "ap": float(skm.average_precision_score(is_fake, scores)),
        "acc": float(skm.accuracy_score(is_fake, is_generated(scores, threshold))),
        "tpr@1%fpr": tpr_at_fpr(is_fake, scores, 0.01),
    }


def attribution_metrics(labels: Sequence[str], predictions: Sequence[str], classes: Sequence[str]) -> dict:
    """Closed world: accuracy, per-class accuracy (recall) and the confusion matrix over ``classes``.

    ``matrix[i][j]`` counts the images of ``classes[i]`` predicted as ``classes[j]``. A class without
    any image among ``labels`` has a row of zeros and no entry in ``per_class_acc`` (its recall is
    undefined, neither 0 nor 1). A label or prediction that is not among ``classes`` is a ValueError:
    the confusion matrix would leave that image out, and the per-class accuracies would be computed
    without it.
    """
    labels = np.asarray(labels, dtype=object)
    predictions = np.asarray(predictions, dtype=object)
    classes = list(classes)
    outside = (set(labels.tolist()) | set(predictions.tolist())) - set(classes)
    if outside:
        raise ValueError(f"labels or predictions {sorted(map(str, outside))} are not among the classes {classes}")
    confusion = skm.confusion_matrix(labels, predictions, labels=classes)
    totals = confusion.sum(axis=1)
    per_class = {c: float(confusion[i, i] / totals[i]) for i, c in enumerate(classes) if totals[i]}
    return {
        "acc": float(skm.accuracy_score(labels, predictions)),
        "per_class_acc": per_class,
        "confusion": {"labels": classes, "matrix": confusion.tolist()},
    }


def rejection_threshold(val_confidence: np.ndarray, accept: float = 0.95) -> float:
    """Confidence threshold accepting a fraction ``accept`` of known-source validation images.

    The threshold is the ``1 - accept`` quantile of ``val_confidence`` in float64, linearly
    interpolated (numpy's default): with n distinct confidences sorted ascending it lies at position
    (1 - accept)(n - 1), so the ceil((1 - accept)(n - 1)) lowest are rejected (21 values: exactly one
    at 95%). An image is accepted when its confidence is at or above the threshold
    (:func:`open_world_decisions`), so confidences tied with it are all accepted.
    """
    return float(np.quantile(np.asarray(val_confidence, dtype=np.float64), 1.0 - accept))


def open_world_metrics(
    labels: Sequence[str],
    predictions: Sequence[str],
    confidence: np.ndarray,
    known: Sequence[str],
    threshold: float,
) -> dict[str, float]:
    """Open world: an image of a held-out source is right only if it is called ``"unknown"``.

    Returns open-world accuracy (after rejecting confidence below ``threshold``; a confidence equal
    to it is accepted, :func:`open_world_decisions`) and the AUROC of known (positive) versus unknown
    test images ranked by confidence. An image is known when its label is in ``known``; its
    prediction must then be that label and be accepted. The AUROC is left out (no ``"auroc"`` key)
    when the test images are all known or all unknown, where it is undefined.
    """
    labels = np.asarray(labels, dtype=object)
    confidence = np.asarray(confidence, dtype=np.float64)
    is_known = np.isin(labels, list(known))
    truth = np.where(is_known, labels, UNKNOWN)
    decided = open_world_decisions(predictions, confidence, threshold)
    out = {"acc": float(skm.accuracy_score(truth, decided))}
    if is_known.any() and not is_known.all():
        out["auroc"] = float(skm.roc_auc_score(is_known, confidence))
    return out


def bitwise_accuracy(decoded: np.ndarray, truth: np.ndarray) -> float:
    """Fraction of fingerprint bits decoded correctly (Yu et al. 2021, §4)."""
    decoded, truth = np.asarray(decoded), np.asarray(truth)
    if decoded.shape != truth.shape:
        raise ValueError(f"decoded bits {decoded.shape} and true bits {truth.shape} differ in shape")
    return float(np.mean(decoded == truth))
