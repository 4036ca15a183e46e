"""Leaderboards: one table per protocol, a row per detector, a column per metric and attack.

As pytest-benchmark's tables: the best value of each column is marked (bold in github, \\textbf in
latex, a trailing ``*`` in plain; csv stays plain numbers), ERR cells are shown in place, and the
errors and plugin load failures are listed under the tables.
"""
from __future__ import annotations

import csv
import io
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


def _group(cell: CellResult) -> str:
    return cell.attack + (" dfs" if cell.immunized else "")


def _mark(text: str, fmt: str) -> str:
    return {"github": f"**{text}**", "latex": f"\\textbf{{{text}}}", "plain": f"{text}*"}.get(fmt, text)


def protocol_table(cells: Sequence[CellResult], protocol: str, fmt: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows of one protocol's table; detectors without that protocol are left out
    unless all their cells failed (then they show ERR, so a broken plugin is never invisible)."""
    _, metrics = PROTOCOLS[protocol]
    groups = list(dict.fromkeys(_group(c) for c in cells))
    detectors = list(dict.fromkeys(c.detector for c in cells))
    by_key = {(c.detector, _group(c)): c for c in cells}
    columns = [(g, key, label if len(groups) == 1 else f"{label} {g}") for g in groups for key, label in metrics]
    values: dict[tuple[str, int], float] = {}
    shown: list[str] = []
    for d in detectors:
        mine = [by_key[(d, g)] for g in groups if (d, g) in by_key]
        if any(protocol in c.metrics for c in mine) or all(not c.ok for c in mine):
            shown.append(d)
        for j, (g, key, _) in enumerate(columns):
            cell = by_key.get((d, g))
            if cell is not None and cell.ok and key in cell.metrics.get(protocol, {}):
                values[(d, j)] = float(cell.metrics[protocol][key])
    best = {j: max((v for (d, jj), v in values.items() if jj == j and d in shown), default=None)
            for j in range(len(columns))}
    rows = []
    for d in shown:
        row = [d]
        for j, (g, _, _) in enumerate(columns):
            cell = by_key.get((d, g))
            if cell is not None and not cell.ok:
                row.append("ERR")
            elif (d, j) in values:
                text = f"{values[(d, j)]:.3f}"
                row.append(_mark(text, fmt) if values[(d, j)] == best[j] and len(shown) > 1 else text)
            else:
                row.append("—" if fmt != "csv" else "")
        rows.append(row)
    return ["detector"] + [label for _, _, label in columns], rows


def render(cells: Sequence[CellResult], fmt: str = "github", failures: Sequence[LoadFailure] = (),
           skipped: Sequence[object] = ()) -> str:
    """All protocol tables, then errors, plugin load failures and skipped images."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    parts = []
    present = [p for p in PROTOCOLS if any(p in c.metrics for c in cells)] or ["detection"]
    for protocol in present:
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
        notes += [f"  ERR {c.detector} / {_group(c)}: {c.error}" for c in errors]
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
