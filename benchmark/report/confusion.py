"""Closed-world confusion matrices, row-normalised: each row (a true source) sums to 1."""
from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from ganprint.interfaces import REAL


def row_normalised(labels: Sequence[str], matrix: Sequence[Sequence[int]]
                   ) -> tuple[list[str], list[str], np.ndarray]:
    """(true sources, predicted sources, fractions) of a confusion matrix over ``labels``.

    Rows are the sources with test images (a class only the method knows has none and is left
    out); columns are every label predicted at least once or present as a row. ``real`` comes
    first, the other labels keep their order.
    """
    counts = np.asarray(matrix, dtype=np.float64)
    totals = counts.sum(axis=1)
    order = sorted(range(len(labels)), key=lambda i: labels[i] != REAL)
    rows = [i for i in order if totals[i] > 0]
    columns = [j for j in order if counts[:, j].sum() > 0 or j in rows]
    fractions = counts[np.ix_(rows, columns)] / totals[rows][:, None]
    return [labels[i] for i in rows], [labels[j] for j in columns], fractions


def confusion_figure(true: Sequence[str], predicted: Sequence[str], fractions: np.ndarray, title: str) -> Figure:
    """A heat map of ``fractions`` (white 0 to dark blue 1) with each cell's value written in it."""
    side = 0.42 * max(len(true), len(predicted)) + 1.3
    figure = Figure(figsize=(side, side), layout="constrained")
    axes = figure.add_subplot()
    axes.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(len(predicted)), predicted, rotation=45, ha="right", rotation_mode="anchor", fontsize="small")
    axes.set_yticks(range(len(true)), true, fontsize="small")
    axes.set_xlabel("predicted source", fontsize="small")
    axes.set_ylabel("true source", fontsize="small")
    axes.set_title(title, fontsize="medium")
    for i in range(len(true)):
        for j in range(len(predicted)):
            value = fractions[i, j]
            axes.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize="x-small",
                      color="white" if value > 0.55 else "black")
    return figure
