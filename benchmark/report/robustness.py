"""Robustness figures: clean vs attacked vs immunized bars per attack, and stored sweep curves.

For each attack, each protocol's headline metric (the first column of its leaderboard) is drawn
per detector as three bars: on clean test images, on attacked ones, and on attacked ones after
immunization (Yu et al. 2019 §4.4). Sweeps come from ``bench sweep`` runs recorded in the store
on the same dataset content and seed; the latest curve of each (detector, attack, parameter,
metric) is drawn.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from ganprint.benchmark.leaderboard import PROTOCOLS
from ganprint.benchmark.store import CellResult, SweepRecord
from ganprint.sweep import SweepCurve, sweep_figure

NO_ATTACK = "none"
CONDITIONS = ("clean", "attacked", "immunized")
# Okabe & Ito's colour-blind-safe palette: grey, orange, blue.
COLOURS = {"clean": "#999999", "attacked": "#E69F00", "immunized": "#0072B2"}


@dataclass
class Bars:
    """One attack's headline metric of one protocol, per detector and condition."""

    protocol: str
    metric: str
    label: str
    detectors: list[str]
    values: dict[tuple[str, str], float] = field(default_factory=dict)
    failed: set[tuple[str, str]] = field(default_factory=set)

    @property
    def conditions(self) -> list[str]:
        present = {c for _, c in self.values} | {c for _, c in self.failed}
        return [c for c in CONDITIONS if c in present]


def attacks_of(cells: Sequence[CellResult]) -> list[str]:
    return list(dict.fromkeys(c.attack for c in cells if c.attack != NO_ATTACK))


def robustness_bars(cells: Sequence[CellResult], attack: str) -> list[Bars]:
    """The :class:`Bars` of every protocol measured under ``attack``, in leaderboard order."""
    condition = {(NO_ATTACK, False): "clean", (attack, False): "attacked", (attack, True): "immunized"}
    chosen = [(c, condition[(c.attack, c.immunized)]) for c in cells if (c.attack, c.immunized) in condition]
    detectors = list(dict.fromkeys(c.detector for c, _ in chosen if c.attack == attack))
    result = []
    for protocol, (_, metrics) in PROTOCOLS.items():
        metric, label = metrics[0]
        bars = Bars(protocol, metric, label, [])
        for cell, name in chosen:
            if cell.detector not in detectors:
                continue
            if not cell.ok:
                bars.failed.add((cell.detector, name))
            elif metric in cell.metrics.get(protocol, {}):
                bars.values[(cell.detector, name)] = float(cell.metrics[protocol][metric])
        measured = {d for d, c in bars.values if c == "attacked"}
        if measured:
            bars.detectors = [d for d in detectors if d in measured or any(f[0] == d for f in bars.failed)]
            result.append(bars)
    return result


def robustness_figure(bars: Sequence[Bars], attack: str) -> Figure:
    """Horizontal grouped bars, one panel per protocol, detectors top to bottom in run order.

    Every panel has the same rows (named on the first); a detector a protocol does not apply to
    is marked "n/a" in that panel, a failed cell "ERR".
    """
    detectors = list(dict.fromkeys(d for b in bars for d in b.detectors))
    conditions = [c for c in CONDITIONS if any(c in b.conditions for b in bars)]
    figure = Figure(figsize=(3.4 * len(bars) + 1.6, 0.5 * len(detectors) + 1.4), layout="constrained")
    figure.get_layout_engine().set(wspace=0.06)
    figure.suptitle(f"{attack}: {' vs '.join(conditions)}")
    height = 0.8 / len(conditions)
    y = np.arange(len(detectors))
    for index, panel in enumerate(bars):
        axes = figure.add_subplot(1, len(bars), index + 1)
        for k, condition in enumerate(conditions):
            offsets = y - 0.4 + height * (k + 0.5)
            values = [panel.values.get((d, condition), 0.0) for d in detectors]
            axes.barh(offsets, values, height=height, color=COLOURS[condition], label=condition)
            for offset, d in zip(offsets, detectors):
                if (d, condition) in panel.failed:
                    axes.text(0.01, offset, "ERR", va="center", fontsize="x-small", color="#B00000")
        for row, d in enumerate(detectors):
            if d not in panel.detectors:
                axes.text(0.01, row, "n/a", va="center", fontsize="x-small", color="dimgrey")
        axes.set_yticks(y, detectors if index == 0 else [""] * len(y))
        axes.set_xlim(0, 1)
        axes.set_ylim(len(detectors) - 0.5, -0.5)
        axes.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0", ".25", ".5", ".75", "1"])
        axes.set_xlabel(f"{PROTOCOLS[panel.protocol][0].split(' (')[0]}: {panel.label}")
        axes.grid(axis="x", alpha=0.3)
    handles, labels = figure.axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncol=len(conditions), frameon=False)
    return figure


def latest_sweeps(sweeps: Sequence[SweepRecord]) -> dict[tuple[str, str, str], list[tuple[SweepCurve, SweepRecord]]]:
    """The latest stored curve of each (detector, attack, parameter, metric), grouped by
    (attack, parameter, metric) for drawing together."""
    latest: dict[tuple[str, str, str, str], tuple[SweepCurve, SweepRecord]] = {}
    for record in sweeps:
        curve = SweepCurve(**record.curve)
        latest[(curve.label, curve.perturbation, curve.param, curve.metric)] = (curve, record)
    grouped: dict[tuple[str, str, str], list[tuple[SweepCurve, SweepRecord]]] = {}
    for (_, perturbation, param, metric), item in latest.items():
        grouped.setdefault((perturbation, param, metric), []).append(item)
    return grouped


def sweeps_figure(items: Sequence[tuple[SweepCurve, SweepRecord]], colour_of: dict[str, str] | None = None) -> Figure:
    """:func:`ganprint.sweep.sweep_figure` of the curves, each detector in its ``colour_of`` colour."""
    curves = [curve for curve, _ in items]
    figure = sweep_figure(curves, items[-1][1].threshold, title=f"{curves[0].perturbation} sweep: {curves[0].metric}")
    axes = figure.axes[0]
    for line, curve in zip(axes.get_lines(), curves):
        line.set_color((colour_of or {}).get(curve.label, line.get_color()))
    axes.legend(fontsize="small")
    return figure
