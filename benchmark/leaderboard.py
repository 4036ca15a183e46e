"""Leaderboards: one table per protocol, a row per detector, a column per metric and attack.

As pytest-benchmark's tables: the best value of each column is marked (bold in github, \\textbf in
latex, a trailing ``*`` in plain; csv stays plain numbers), ERR cells are shown in place, and the
errors and plugin load failures are listed under the tables.

Every metric here is higher-is-better. The best of a column is its highest stored value (compared
before rounding to the three decimals shown); equal values are all marked; a table of one row
marks nothing. A failed cell is ``ERR`` in each of its columns; a metric a cell lacks is ``—``
(empty in csv).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Sequence

from tabulate import tabulate

from ganprint.benchmark.store import CellResult
from ganprint.registry import LoadFailure

FORMATS = ("github", "latex", "csv", "plain")

PROTOCOLS = {
    "detection": ("Detection (real vs generated)",
                  [("auc", "AUC"), ("ap", "AP"), ("acc", "Acc"), ("tpr@1%fpr", "TPR@1%FPR")]),
    "closed_world": ("Closed-world attribution", [("acc", "Acc")]),
    "open_world": ("Open-world attribution", [("acc", "Acc"), ("auroc", "AUROC")]),
    "fingerprint": ("Fingerprint decoding", [("bitwise_acc", "Bitwise acc")]),
}


def group_name(cell: CellResult) -> str:
    """The attack column group of a cell: the attack, with `` dfs`` when immunized."""
    return cell.attack + (" dfs" if cell.immunized else "")


def _mark(text: str, fmt: str) -> str:
    return {"github": f"**{text}**", "latex": f"\\textbf{{{text}}}", "plain": f"{text}*"}.get(fmt, text)


# LaTeX's special characters: in a table cell ``%`` would comment out the rest of the row
# (the ``TPR@1%FPR`` header) and ``_`` is allowed in math only (detector names such as tiny_cnn).
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _text(text: str, fmt: str) -> str:
    """A name or header as ``fmt`` shows it: LaTeX's special characters escaped, else as is."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text) if fmt == "latex" else text


@dataclass(frozen=True)
class Column:
    group: str
    metric: str
    label: str


@dataclass
class ProtocolTable:
    """One protocol's leaderboard as values: rows (detectors), columns (metric × attack group),
    the value of each filled (row, column), and the failed cell behind each ERR."""

    protocol: str
    columns: list[Column]
    detectors: list[str]
    values: dict[tuple[str, int], float] = field(default_factory=dict)
    failed: dict[tuple[str, int], CellResult] = field(default_factory=dict)

    def best(self, column: int) -> float | None:
        """The column's highest value; None when no row has a value there (all ERR or missing)."""
        return max((v for (d, j), v in self.values.items() if j == column), default=None)

    def is_best(self, detector: str, column: int) -> bool:
        """The column's highest value (ties all marked), when there is more than one row."""
        value = self.values.get((detector, column))
        return value is not None and value == self.best(column) and len(self.detectors) > 1


def protocol_values(cells: Sequence[CellResult], protocol: str) -> ProtocolTable:
    """One protocol's table; detectors without that protocol are left out unless all their cells
    failed (then they show ERR, so a broken plugin is never invisible)."""
    _, metrics = PROTOCOLS[protocol]
    groups = list(dict.fromkeys(group_name(c) for c in cells))
    by_key = {(c.detector, group_name(c)): c for c in cells}
    columns = [Column(g, key, label if len(groups) == 1 else f"{label} {g}") for g in groups for key, label in metrics]
    table = ProtocolTable(protocol, columns, [])
    for d in dict.fromkeys(c.detector for c in cells):
        mine = [by_key[(d, g)] for g in groups if (d, g) in by_key]
        if not (any(protocol in c.metrics for c in mine) or all(not c.ok for c in mine)):
            continue
        table.detectors.append(d)
        for j, column in enumerate(columns):
            cell = by_key.get((d, column.group))
            if cell is not None and not cell.ok:
                table.failed[(d, j)] = cell
            elif cell is not None and column.metric in cell.metrics.get(protocol, {}):
                table.values[(d, j)] = float(cell.metrics[protocol][column.metric])
    return table


def present_protocols(cells: Sequence[CellResult]) -> list[str]:
    """The protocols any cell has results for, in :data:`PROTOCOLS` order (detection if none)."""
    return [p for p in PROTOCOLS if any(p in c.metrics for c in cells)] or ["detection"]


def protocol_table(cells: Sequence[CellResult], protocol: str, fmt: str) -> tuple[list[str], list[list[str]]]:
    """Header and text rows of one protocol's table (:func:`protocol_values`), best values marked;
    in latex, names and headers have LaTeX's special characters escaped."""
    table = protocol_values(cells, protocol)
    rows = []
    for d in table.detectors:
        row = [_text(d, fmt)]
        for j in range(len(table.columns)):
            if (d, j) in table.failed:
                row.append("ERR")
            elif (d, j) in table.values:
                text = f"{table.values[(d, j)]:.3f}"
                row.append(_mark(text, fmt) if table.is_best(d, j) else text)
            else:
                row.append("—" if fmt != "csv" else "")
        rows.append(row)
    return ["detector"] + [_text(c.label, fmt) for c in table.columns], rows


def render(cells: Sequence[CellResult], fmt: str = "github", failures: Sequence[LoadFailure] = (),
           skipped: Sequence[object] = ()) -> str:
    """All protocol tables, then errors, plugin load failures and skipped images."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    parts = []
    for protocol in present_protocols(cells):
        title = PROTOCOLS[protocol][0]
        header, rows = protocol_table(cells, protocol, fmt)
        if not rows:
            continue
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(["table"] + header)
            writer.writerows([[protocol] + r for r in rows])
            parts.append(buffer.getvalue().rstrip("\n"))
        else:
            table = tabulate(rows, header, tablefmt="latex_raw" if fmt == "latex" else fmt,
                             disable_numparse=True)
            parts.append(f"{title}\n\n{table}" if fmt != "latex" else f"% {title}\n{table}")
    notes = []
    immunized = {c.detector: c.provenance.get("immunization", "refit") for c in cells if c.immunized}
    if immunized:
        notes.append("dfs = immunized on training images under the same attack: "
                     + ", ".join(f"{d} {how}" for d, how in immunized.items()))
    errors = [c for c in cells if not c.ok]
    if errors:
        notes.append("Errors:")
        notes += [f"  ERR {c.detector} / {group_name(c)}: {c.error}" for c in errors]
    if failures:
        notes.append("Plugin load failures:")
        notes += [f"  {f.plugin} ({f.distribution}) at {f.stage}: {f.error}" for f in failures]
    if skipped:
        notes.append(f"Skipped images ({len(skipped)}):")
        notes += [f"  {s.id}: {s.reason}" for s in skipped]
    comment = "# " if fmt == "csv" else ("% " if fmt == "latex" else "")
    if notes:
        parts.append("\n".join(comment + n for n in notes))
    return "\n\n".join(parts)
