"""Metrics against direct computations from their definitions."""
from __future__ import annotations

import numpy as np
import pytest

from ganprint import metrics


def test_tpr_at_fpr_matches_brute_force(rng) -> None:
    labels = np.array(["real"] * 300 + ["gan"] * 200)
    scores = np.concatenate([rng.normal(0, 1, 300), rng.normal(1.5, 1, 200)])
    is_fake = labels != "real"
    best = 0.0
    for t in np.unique(scores):
        fpr = np.mean(scores[~is_fake] >= t)
        if fpr <= 0.01:
            best = max(best, np.mean(scores[is_fake] >= t))
    assert metrics.tpr_at_fpr(is_fake, scores, 0.01) == pytest.approx(best)


def test_detection_accuracy_uses_threshold(rng) -> None:
    labels = np.array(["real"] * 50 + ["gan"] * 50)
    scores = rng.uniform(size=100)
    out = metrics.detection_metrics(labels, scores, threshold=0.5)
    assert out["acc"] == pytest.approx(np.mean((scores >= 0.5) == (labels != "real")))
    assert 0 <= out["auc"] <= 1 and 0 <= out["ap"] <= 1


def test_detection_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both real and generated"):
        metrics.detection_metrics(["gan", "gan"], np.array([0.1, 0.2]), 0.5)


def test_attribution_per_class_and_confusion() -> None:
    labels = ["real", "real", "a", "a", "b"]
    predicted = ["real", "a", "a", "a", "real"]
    out = metrics.attribution_metrics(labels, predicted, ["real", "a", "b"])
    assert out["acc"] == pytest.approx(3 / 5)
    assert out["per_class_acc"] == {"real": 0.5, "a": 1.0, "b": 0.0}
    assert out["confusion"]["matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_open_world_rejects_below_threshold() -> None:
    labels = ["real", "a", "held", "held"]
    predicted = ["real", "a", "a", "real"]
    confidence = np.array([0.9, 0.4, 0.3, 0.95])
    out = metrics.open_world_metrics(labels, predicted, confidence, ["real", "a"], threshold=0.5)
    # real accepted (right), a rejected (wrong), held rejected (right), held accepted as real (wrong)
    assert out["acc"] == pytest.approx(0.5)
    assert out["auroc"] == pytest.approx(0.5)


def test_rejection_threshold_accepts_the_fraction(rng) -> None:
    confidence = rng.uniform(size=1000)
    t = metrics.rejection_threshold(confidence, 0.95)
    assert np.mean(confidence >= t) == pytest.approx(0.95, abs=0.002)


def test_bitwise_accuracy() -> None:
    truth = np.array([[0, 1, 1, 0], [1, 1, 1, 1]], np.uint8)
    decoded = np.array([[0, 1, 0, 0], [1, 1, 1, 1]], np.uint8)
    assert metrics.bitwise_accuracy(decoded, truth) == pytest.approx(7 / 8)
    with pytest.raises(ValueError, match="shape"):
        metrics.bitwise_accuracy(decoded[:, :3], truth)
