"""Everything the report shows about one run, read from the results store (nothing is re-fitted)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ganprint.benchmark.report.images import RunImages, reopen
from ganprint.benchmark.store import CellResult, ResultStore, RunRecord, SweepRecord
from ganprint.commands import UsageError


@dataclass
class ReportData:
    """A run's record, its cells in table order, the per-image predictions of its clean cells
    (the figures draw those), the store's sweeps on the same dataset and seed, and the run's test
    images (or why they are unavailable)."""

    run: RunRecord
    cells: list[CellResult]
    predictions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sweeps: list[SweepRecord] = field(default_factory=list)
    images: RunImages = field(default_factory=RunImages)

    def clean_cells(self) -> list[CellResult]:
        """The finished cells on unattacked test images, fitted on clean training images."""
        return [c for c in self.cells if c.ok and c.attack == "none" and not c.immunized]


def resolve_run_id(store: ResultStore, run: str | None) -> str:
    """``run`` (an id or an unambiguous prefix of one), or the latest run when ``run`` is None.

    :class:`UsageError` when the store holds no run or no run matches.
    """
    ids = store.run_ids()
    if not ids:
        if store.count_cells():
            raise UsageError(f"the store {store.path} holds results but no run record (an older ganprint wrote "
                             "them); `bench run --resume` with the same options records one in seconds")
        raise UsageError(f"the store {store.path} holds no runs; `bench run --store {store.path} ...` first")
    if run is None:
        return ids[-1]
    matches = [i for i in ids if i == run] or [i for i in ids if i.startswith(run)]
    if len(matches) == 1:
        return matches[0]
    recent = ", ".join(reversed(ids[-3:]))
    if not matches:
        raise UsageError(f"no run {run!r} in {store.path} (latest: {recent})")
    raise UsageError(f"run id {run!r} is ambiguous in {store.path}: {', '.join(matches[:5])}")


def gather(store: ResultStore, run_id: str, registry: Any = None) -> ReportData:
    """The :class:`ReportData` of ``run_id`` (an id :func:`resolve_run_id` returned)."""
    run = store.get_run(run_id)
    if run is None:
        raise UsageError(f"no run {run_id!r} in {store.path}")
    data = ReportData(run, store.run_cells(run_id), {}, store.sweeps(run.dataset_hash, run.seed),
                      reopen(run.dataset_spec, run.dataset_hash, registry))
    data.predictions = {c.key: list(store.predictions(c.key)) for c in data.clean_cells()}
    return data
