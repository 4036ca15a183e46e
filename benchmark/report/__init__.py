"""``bench report``: one self-contained HTML page of a run's results, read from the results store.

:func:`write_report` writes ``DIR/index.html``: the leaderboards, ROC curves, confusion matrices,
robustness bars and sweeps, thumbnails and most confident mistakes, and every cell's provenance,
with every figure and image inside the file (``data:`` URIs), so it opens from ``file://``
without a network. The modules: ``gather`` (what the store holds about a run), ``images`` (its
test images, reopened and verified), ``roc``, ``confusion``, ``robustness``, ``mistakes``
(figures and selections), ``encode`` (data URIs), ``html`` (elements, style, sort script) and
``page`` (the sections).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ganprint.atomic import write_text
from ganprint.benchmark.store import ResultStore


def write_report(store: ResultStore, run_id: str, out: Path | str, registry: Any = None) -> Path:
    """Write the report of ``run_id`` to ``out/index.html`` (atomically) and return its path."""
    from ganprint.benchmark.report.gather import gather
    from ganprint.benchmark.report.page import render_page

    data = gather(store, run_id, registry)
    return write_text(Path(out) / "index.html", render_page(data, store.path.resolve()))
