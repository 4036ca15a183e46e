"""Metrics of the evaluation protocol (DESIGN.md): detection, attribution, open world, bits.

scikit-learn's metric functions are used wherever one exists.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn import metrics as skm

from ganprint.interfaces import REAL, UNKNOWN


def tpr_at_fpr(is_fake: np.ndarray, scores: np.ndarray, fpr: float = 0.01) -> float:
    """True-positive rate at the largest threshold whose false-positive rate is at most ``fpr``."""
    fprs, tprs, _ = skm.roc_curve(is_fake, scores)
    return float(tprs[np.searchsorted(fprs, fpr, side="right") - 1])


def detection_threshold(is_fake: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold maximising balanced accuracy, to be chosen on validation images."""
    fprs, tprs, thresholds = skm.roc_curve(is_fake, scores)
    best = int(np.argmax(tprs - fprs))
    return float(thresholds[best]) if np.isfinite(thresholds[best]) else float(np.max(scores))


def is_generated(scores: np.ndarray, threshold: float) -> np.ndarray:
    """The detection verdict: a score at or above ``threshold`` means generated."""
    return np.asarray(scores, dtype=np.float64) >= threshold


def open_world_decisions(predictions: Sequence[str], confidence: np.ndarray, threshold: float) -> np.ndarray:
    """The open-world verdict: each prediction, or ``"unknown"`` where its confidence is below
    ``threshold``."""
    accepted = np.asarray(confidence, dtype=np.float64) >= threshold
    return np.where(accepted, np.asarray(predictions, dtype=object), UNKNOWN)


def detection_metrics(labels: Sequence[str], scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Real vs generated: AUC, average precision, accuracy at ``threshold``, TPR at 1% FPR."""
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
    """Closed world: accuracy, per-class accuracy (recall) and the confusion matrix over ``classes``."""
    labels = np.asarray(labels, dtype=object)
    predictions = np.asarray(predictions, dtype=object)
    classes = list(classes)
    confusion = skm.confusion_matrix(labels, predictions, labels=classes)
    totals = confusion.sum(axis=1)
    per_class = {c: float(confusion[i, i] / totals[i]) for i, c in enumerate(classes) if totals[i]}
    return {
        "acc": float(skm.accuracy_score(labels, predictions)),
        "per_class_acc": per_class,
        "confusion": {"labels": classes, "matrix": confusion.tolist()},
    }


def rejection_threshold(val_confidence: np.ndarray, accept: float = 0.95) -> float:
    """Confidence threshold accepting a fraction ``accept`` of known-source validation images."""
    return float(np.quantile(np.asarray(val_confidence, dtype=np.float64), 1.0 - accept))


def open_world_metrics(
    labels: Sequence[str],
    predictions: Sequence[str],
    confidence: np.ndarray,
    known: Sequence[str],
    threshold: float,
) -> dict[str, float]:
    """Open world: an image of a held-out source is right only if it is called ``"unknown"``.

    Returns open-world accuracy (after rejecting confidence below ``threshold``) and the AUROC of
    known (positive) versus unknown test images ranked by confidence.
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
