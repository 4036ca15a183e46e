"""Applying a saved detector (:mod:`ganprint.saving`) to new images.

Per image, whatever the detector offers:

- a Detector: its ``score`` and, with a calibrated detection threshold, the verdict
  ``generated`` (score at or above it) or ``real`` (:func:`ganprint.metrics.is_generated`);
- an Attributor: the attributed source (``predict``) with its probability (``predict_proba``),
  its ``confidence``, and, with a calibrated rejection threshold, the open-world decision: that
  source, or ``unknown`` when the confidence is below the threshold
  (:func:`ganprint.metrics.open_world_decisions`);
- a FingerprintDecoder: the decoded bits, as a string of 0 and 1.

``predict_proba`` is computed once per batch (:func:`ganprint.protocol.attributor_outputs`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ganprint import metrics
from ganprint.interfaces import Attributor, Detector, FingerprintDecoder
from ganprint.protocol import attributor_outputs
from ganprint.saving import Calibration

GENERATED, REAL_VERDICT = "generated", "real"


@dataclass(frozen=True)
class Prediction:
    """What a saved detector says of one image (None where the detector or its calibration does
    not say it)."""

    score: float | None = None
    verdict: str | None = None
    attributed: str | None = None
    probability: float | None = None
    confidence: float | None = None
    source: str | None = None
    bits: str | None = None


def predict(detector: Any, calibration: Calibration, X: np.ndarray) -> list[Prediction]:
    """The :class:`Prediction` of each image of the uint8 batch ``X`` (images of the size the
    detector was fitted on)."""
    n = len(X)
    columns: dict[str, list[Any]] = {}
    if isinstance(detector, Attributor):
        proba = np.asarray(detector.predict_proba(X), dtype=np.float64)
        attributed, scores, confidence = attributor_outputs(detector, X, proba)
        classes = [str(c) for c in np.asarray(detector.classes_)]
        columns["attributed"] = [str(a) for a in attributed]
        columns["probability"] = [float(proba[i, classes.index(a)]) for i, a in enumerate(columns["attributed"])]
        columns["confidence"] = confidence.tolist()
        if calibration.rejection_threshold is not None:
            columns["source"] = [str(s) for s in metrics.open_world_decisions(
                attributed, confidence, calibration.rejection_threshold)]
    elif isinstance(detector, Detector):
        scores = np.asarray(detector.score(X), dtype=np.float64)
    if isinstance(detector, Detector):
        columns["score"] = scores.tolist()
        if calibration.detection_threshold is not None:
            generated = metrics.is_generated(scores, calibration.detection_threshold)
            columns["verdict"] = [GENERATED if g else REAL_VERDICT for g in generated]
    if isinstance(detector, FingerprintDecoder):
        bits = np.asarray(detector.decode(X))
        columns["bits"] = ["".join(map(str, row.tolist())) for row in bits]
    return [Prediction(**{k: v[i] for k, v in columns.items()}) for i in range(n)]
