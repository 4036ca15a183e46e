"""A detector's most confident mistakes on clean test images, from its stored predictions.

An attributor's mistake is a closed-world prediction other than the true source, ranked by the
method's ``confidence`` (highest first). A detector that only scores makes a mistake when its
score falls on the wrong side of the detection threshold calibrated on val, ranked by how far.
Ties keep the order of the image ids.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ganprint.interfaces import REAL

GENERATED = "generated"


@dataclass(frozen=True)
class Mistake:
    image_id: str
    true: str
    predicted: str
    confidence: float
    measure: str  # what ``confidence`` is: "confidence" or "score"


def confident_mistakes(rows: Sequence[dict[str, Any]], count: int,
                       detection_threshold: float | None = None) -> list[Mistake]:
    """Up to ``count`` mistakes, the most confident first (see the module docstring)."""
    if rows and "predicted" in rows[0]:
        wrong = [Mistake(r["ids"], r["labels"], r["predicted"], float(r["confidence"]), "confidence")
                 for r in rows if r["predicted"] != r["labels"]]
        wrong.sort(key=lambda m: (-m.confidence, m.image_id))
        return wrong[:count]
    if detection_threshold is None:
        return []
    wrong = []
    for r in rows:
        called = GENERATED if float(r["scores"]) >= detection_threshold else REAL
        if called != (REAL if r["labels"] == REAL else GENERATED):
            wrong.append((abs(float(r["scores"]) - detection_threshold),
                          Mistake(r["ids"], r["labels"], called, float(r["scores"]), "score")))
    wrong.sort(key=lambda item: (-item[0], item[1].image_id))
    return [m for _, m in wrong[:count]]
