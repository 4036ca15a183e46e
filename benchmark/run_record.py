"""What a finished ``bench run`` records about itself in the results store (:class:`RunRecord`).

The record lets ``bench report`` describe a run after the fact: the command line, the dataset
spec that reopens the images (paths made absolute, as
:func:`ganprint.benchmark.executors.dataset_spec_for_workers` gives it), the content hash that
proves they are the same images, the seed, the versions of ganprint and of every plugin whose
detectors ran, the skipped images and the plugin load failures.
"""
from __future__ import annotations

import platform
import shlex
import time
from typing import Sequence

import ganprint
from ganprint.benchmark.runner import RunResult
from ganprint.benchmark.store import ResultStore, RunRecord
from ganprint.registry import Registry


def command_line(argv: Sequence[str] | None) -> str:
    """The ``bench`` command as typed (shell-quoted), or ``""`` when unknown."""
    return "" if argv is None else shlex.join(["bench", *argv])


def record_run(store: ResultStore, result: RunResult, registry: Registry, *, dataset_spec: str, seed: int,
               started: float, argv: Sequence[str] | None = None) -> RunRecord:
    """Write the :class:`RunRecord` of a finished run and the keys of its cells into ``store``."""
    plugins = {}
    for cell in result.cells:
        plugin = cell.provenance.get("plugin")
        if plugin:
            plugins[plugin] = f"{cell.provenance.get('distribution', '?')} {cell.provenance.get('plugin_version', '?')}"
    record = RunRecord(
        run_id=result.run_id,
        command=command_line(argv),
        started=started,
        finished=time.time(),
        dataset=result.dataset.name,
        dataset_spec=dataset_spec,
        dataset_hash=result.dataset.content_hash(),
        seed=seed,
        versions={"ganprint": ganprint.__version__, "python": platform.python_version(),
                  "plugins": dict(sorted(plugins.items()))},
        skipped=[{"id": s.id, "reason": s.reason} for s in result.dataset.skipped],
        load_failures=[{"plugin": f.plugin, "distribution": f.distribution, "stage": f.stage, "error": f.error}
                       for f in registry.failures],
    )
    store.put_run(record, [cell.key for cell in result.cells])
    return record
