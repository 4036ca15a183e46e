"""ROC curves of many detectors, drawn in panels of a few curves each.

A curve is drawn as steps: at each FPR, the TPR of the best threshold whose FPR does not exceed
it (tied scores make a vertical jump), which is how the leaderboard's TPR@1%FPR is read.
Detection (real vs generated) draws the false-positive rate on a log axis, so the TPR at 1% FPR
that the leaderboard reports can be read off; an FPR of 0 cannot sit on a log axis and is drawn
at the axis' left edge. Open world (known versus unknown sources, ranked by ``confidence``) is
drawn on linear axes with a dot where the rejection threshold operates. Curves are grouped by the
plugin that registered them, and a panel holds at most :data:`MAX_CURVES_PER_PANEL`, so no legend
lists every detector of a large run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

MAX_CURVES_PER_PANEL = 8
ONE_PERCENT = 0.01


@dataclass
class Curve:
    """One detector's ROC: its points, the area to print in the legend, an optional operating point."""

    label: str
    group: str
    fpr: np.ndarray
    tpr: np.ndarray
    area: float
    point: tuple[float, float] | None = None
    note: str = ""


def roc_points(positive: Sequence[bool], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) at every threshold, ``positive`` being the class that should score high."""
    fpr, tpr, _ = roc_curve(np.asarray(positive, dtype=bool), np.asarray(scores, dtype=np.float64))
    return fpr, tpr


def operating_point(positive: Sequence[bool], scores: Sequence[float], threshold: float) -> tuple[float, float]:
    """(FPR, TPR) of the rule ``score >= threshold``."""
    positive = np.asarray(positive, dtype=bool)
    accepted = np.asarray(scores, dtype=np.float64) >= threshold
    return float(accepted[~positive].mean()), float(accepted[positive].mean())


def panels(curves: Sequence[Curve], limit: int = MAX_CURVES_PER_PANEL) -> list[list[Curve]]:
    """Curves in panels of at most ``limit``: whole groups packed in order, a larger group split
    evenly over as few panels as it needs."""
    groups: dict[str, list[Curve]] = {}
    for curve in curves:
        groups.setdefault(curve.group, []).append(curve)
    result: list[list[Curve]] = []
    for members in groups.values():
        if result and len(result[-1]) + len(members) <= limit:
            result[-1].extend(members)
            continue
        pieces = math.ceil(len(members) / limit)
        size = math.ceil(len(members) / pieces)
        result += [list(members[i:i + size]) for i in range(0, len(members), size)]
    return result


def colours(labelled: Sequence[tuple[str, str]]) -> dict[str, str]:
    """A colour per (label, group), distinct within each panel :func:`panels` would draw; computed
    once for every detector of a run, it gives a detector the same colour in every figure."""
    placed = panels([Curve(label, group, np.empty(0), np.empty(0), 0.0) for label, group in labelled])
    return {curve.label: f"C{i % 10}" for panel in placed for i, curve in enumerate(panel)}


def log_floor(n_negative: int) -> float:
    """Left edge of a log FPR axis: half the smallest non-zero FPR, and at most 0.005 so that
    1% FPR is always on the axis."""
    return min(0.5 / max(n_negative, 1), 0.005)


def roc_figure(curves: Sequence[Curve], *, title: str, xlabel: str, ylabel: str, legend: str,
               log_floor: float | None = None, colour_of: dict[str, str] | None = None) -> Figure:
    """One panel per :func:`panels` group, two panels a row, legends sorted by area (best first).

    ``legend`` formats each entry from ``label``, ``area`` and ``note``. With ``log_floor`` the FPR
    axis is logarithmic from ``log_floor`` to 1, labelled in percent, with a dotted line at 1% FPR. ``colour_of`` (see
    :func:`colours`) fixes each label's colour; a panel where it would repeat a colour, or without
    it, colours its curves in order.
    """
    groups = panels(curves)
    columns = min(2, len(groups))
    rows = math.ceil(len(groups) / columns)
    legend_rows = math.ceil(max(len(m) for m in groups) / 2)
    figure = Figure(figsize=(5.6 * columns, (4.4 + 0.22 * legend_rows) * rows), layout="constrained")
    figure.suptitle(title)
    for index, members in enumerate(groups):
        axes = figure.add_subplot(rows, columns, index + 1)
        fixed = [(colour_of or {}).get(c.label) for c in members]
        palette = fixed if None not in fixed and len(set(fixed)) == len(fixed) else [f"C{i % 10}" for i in range(len(members))]
        colour_by_label = {c.label: colour for c, colour in zip(members, palette)}
        for curve in sorted(members, key=lambda c: (-c.area, c.label)):
            fpr = curve.fpr if log_floor is None else np.maximum(curve.fpr, log_floor)
            colour = colour_by_label[curve.label]
            axes.plot(fpr, curve.tpr, color=colour, linewidth=1.6, drawstyle="steps-post",
                      label=legend.format(label=curve.label, area=curve.area, note=curve.note))
            if curve.point is not None:
                x = curve.point[0] if log_floor is None else max(curve.point[0], log_floor)
                axes.plot([x], [curve.point[1]], "o", color=colour, markersize=6, markeredgecolor="black")
        if log_floor is not None:
            axes.set_xscale("log")
            axes.set_xlim(log_floor, 1.0)
            axes.axvline(ONE_PERCENT, color="grey", linestyle=":", linewidth=1)
            ticks = [10.0 ** k for k in range(math.ceil(math.log10(log_floor)), 1)]
            axes.set_xticks(ticks, [f"{t:.{max(0, -round(math.log10(t)) - 2)}%}" for t in ticks])
        else:
            axes.set_xlim(-0.01, 1.01)
            axes.plot([0, 1], [0, 1], color="lightgrey", linestyle="--", linewidth=1)
        axes.set_ylim(-0.01, 1.01)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.grid(alpha=0.3, which="both" if log_floor is None else "major")
        if len(groups) > 1:
            axes.set_title(", ".join(dict.fromkeys(c.group for c in members)), fontsize="medium")
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize="small", frameon=False)
    return figure
