"""Robustness sweeps (Yu et al. 2021 §4.6): a metric against the strength of one perturbation,
and the working range where it stays at or above a threshold (0.75 in the paper).

The pieces are usable on their own: :class:`SweepCurve` and :func:`working_range` take values
however they were measured (image attacks here, model perturbations elsewhere),
:func:`attack_sweep` measures an image attack at each strength through the evaluation protocol,
and :func:`sweep_figure` / :func:`plot_sweep` draw curves (as a PNG).

Strengths are listed from the mildest to the strongest (e.g. JPEG quality 90, 70, ..., 10); the
working range runs from the first strength to the last one before the metric first drops below
the threshold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ganprint import Attack, protocol
from ganprint.atomic import save_figure
from ganprint.dataset import Dataset

DEFAULT_THRESHOLD = 0.75
DEFAULT_METRICS = ("fingerprint.bitwise_acc", "closed_world.acc", "detection.acc")


def working_range(strengths: Sequence[Any], values: Sequence[float], threshold: float = DEFAULT_THRESHOLD
                  ) -> tuple[Any, Any] | None:
    """(mildest, strongest) strength of the leading run where ``value >= threshold``, or None."""
    if len(strengths) != len(values):
        raise ValueError(f"{len(strengths)} strengths but {len(values)} values")
    last = None
    for i, value in enumerate(values):
        if not value >= threshold:  # NaN (a failed point) ends the range too
            break
        last = i
    return None if last is None else (strengths[0], strengths[last])


@dataclass
class SweepCurve:
    """One method's metric at each strength of one perturbation."""

    label: str
    perturbation: str
    param: str
    metric: str
    strengths: list[Any] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def working_range(self, threshold: float = DEFAULT_THRESHOLD) -> tuple[Any, Any] | None:
        return working_range(self.strengths, self.values, threshold)

    def describe_range(self, threshold: float = DEFAULT_THRESHOLD) -> str:
        """The working range as text, e.g. ``quality 90..50``."""
        found = self.working_range(threshold)
        if found is None:
            first = self.strengths[0] if self.strengths else "?"
            return f"none ({self.metric} < {threshold:g} already at {self.param}={first})"
        low, high = found
        return f"{self.param} {low}" if low == high else f"{self.param} {low}..{high}"

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "perturbation": self.perturbation, "param": self.param,
                "metric": self.metric, "strengths": list(self.strengths), "values": list(self.values)}


def metric_value(results: dict[str, Any], metric: str) -> float:
    """The value at a dotted path of :func:`ganprint.protocol.evaluate` results (``closed_world.acc``)."""
    node: Any = results
    for part in metric.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ValueError(f"metric {metric!r} not in the results; available: {', '.join(available_metrics(results))}")
        node = node[part]
    if not isinstance(node, (int, float)):
        raise ValueError(f"metric {metric!r} is not a number")
    return float(node)


def available_metrics(results: dict[str, Any]) -> list[str]:
    """Every dotted path of ``results`` that holds a number."""
    return [f"{protocol_name}.{key}" for protocol_name, values in results.items() if isinstance(values, dict)
            for key, value in values.items() if isinstance(value, (int, float)) and not isinstance(value, bool)]


def default_metric(results: dict[str, Any]) -> str:
    """The first of :data:`DEFAULT_METRICS` the results hold (bits, then attribution, then detection)."""
    present = available_metrics(results)
    for metric in DEFAULT_METRICS:
        if metric in present:
            return metric
    if not present:
        raise ValueError("the results hold no numeric metric")
    return present[0]


def attack_sweep(
    fitted: protocol.FittedMethod,
    dataset: Dataset,
    make_attack: Callable[..., Attack],
    param: str,
    strengths: Sequence[Any],
    *,
    seed: int,
    metric: str | None = None,
    label: str = "",
    perturbation: str = "attack",
    batch_size: int = 256,
) -> SweepCurve:
    """``metric`` of a fitted method on test images under ``make_attack(**{param: s})`` for each s.

    Every strength uses the same attack generator (seeded from ``seed`` and ``perturbation``), so
    curves differ only by strength. ``metric`` defaults to :func:`default_metric` of the results.
    """
    if not strengths:
        raise ValueError("give at least one strength")
    results = [protocol.evaluate(fitted, dataset, seed=seed, attack=make_attack(**{param: strength}),
                                 attack_name=perturbation, batch_size=batch_size)[0]
               for strength in strengths]
    return curve_from_results(label, perturbation, param, strengths, results, metric)


def curve_from_results(label: str, perturbation: str, param: str, strengths: Sequence[Any],
                       results: Sequence[dict[str, Any]], metric: str | None = None) -> SweepCurve:
    """The curve of ``metric`` (default: :func:`default_metric` of the first results) through the
    :func:`ganprint.protocol.evaluate` results measured at each strength."""
    if len(results) != len(strengths) or not results:
        raise ValueError(f"{len(strengths)} strengths but {len(results)} results")
    chosen = metric or default_metric(results[0])
    return SweepCurve(label, perturbation, param, chosen, list(strengths),
                      [metric_value(r, chosen) for r in results])


def sweep_figure(curves: Sequence[SweepCurve], threshold: float = DEFAULT_THRESHOLD,
                 title: str | None = None) -> Any:
    """A matplotlib ``Figure`` of ``curves`` (metric against strength) with the threshold line.

    When the strengths decrease (JPEG quality), the axis is reversed so stronger is always right.
    """
    from matplotlib.figure import Figure  # a bare Figure renders with Agg, without pyplot's global state

    if not curves:
        raise ValueError("no curves to plot")
    figure = Figure(figsize=(5.5, 4.0), layout="constrained")
    axes = figure.add_subplot()
    for curve in curves:
        axes.plot(curve.strengths, curve.values, marker="o", label=f"{curve.label} ({curve.metric})")
    axes.axhline(threshold, color="grey", linestyle="--", linewidth=1, label=f"threshold {threshold:g}")
    first = curves[0]
    numeric = [s for s in first.strengths if isinstance(s, (int, float)) and math.isfinite(s)]
    if len(numeric) >= 2 and numeric[0] > numeric[-1]:
        axes.invert_xaxis()
    axes.set_xlabel(f"{first.perturbation}: {first.param}")
    axes.set_ylabel("metric")
    axes.set_ylim(-0.02, 1.02)
    axes.set_title(title or f"Robustness to {first.perturbation}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return figure


def plot_sweep(curves: Sequence[SweepCurve], path: Path | str, threshold: float = DEFAULT_THRESHOLD,
               title: str | None = None) -> Path:
    """Draw :func:`sweep_figure` into a PNG at ``path``."""
    return save_figure(sweep_figure(curves, threshold, title), path, dpi=120)
