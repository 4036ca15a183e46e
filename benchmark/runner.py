"""``bench run``: every selected detector through the protocol, under every selected attack.

Each detector is fitted once per training condition (closed and open world, then calibrated:
:mod:`ganprint.protocol`) and evaluated on the test split under each attack. The fits and
evaluations are tasks run by an executor (:mod:`ganprint.benchmark.executors`: in this process,
in worker processes, or on Ray); an exception becomes an ERR cell with its message and the run
goes on. Each finished cell is written to the store at once, by this process alone, so
``--resume`` after a kill skips it. An attack whose factory fails makes ERR cells of that attack,
as a failing detector does. The images the dataset could not read, wherever a task read them, are
gathered into ``dataset.skipped`` and recorded with each cell, so a resumed run still lists them.
With ``save_fitted`` (``bench run --save-fitted DIR``), each calibrated fit is also saved
(:func:`ganprint.saving.save_fitted`) by a task of its own: ``DIR/NAME`` for the clean fit,
``DIR/NAME.immunized-ATTACK`` for an immunized one; a fit skipped by ``--resume`` is not saved.
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from tqdm.auto import tqdm

import ganprint
from ganprint import protocol
from ganprint.benchmark import tasks as tasks_module
from ganprint.benchmark.executors import Executor, LocalExecutor, Ref, RunContext, Task
from ganprint.benchmark.outcome import Outcome
from ganprint.benchmark.store import CellResult, ResultStore
from ganprint.dataset import Dataset, SkippedImage
from ganprint.registry import Registry

NO_ATTACK = "none"
PROTOCOL_VERSION = 2  # 2: training-time attacks seeded per image (ganprint.lazy_images)


@dataclass
class AttackChoice:
    """An attack selected for the run (``none`` is no attack), with its params for provenance."""

    name: str
    attack: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    failed: Outcome | None = None


def resolve_attacks(registry: Registry, selection: str) -> list[AttackChoice]:
    """``none`` plus registered attack names or globs, in the order given (an attack that cannot
    be created carries its failure in ``failed``)."""
    choices: list[AttackChoice] = []
    for part in [p.strip() for p in selection.split(",") if p.strip()]:
        if part == NO_ATTACK:
            choices.append(AttackChoice(NO_ATTACK))
            continue
        for spec in registry.select("attacks", part):
            made = Outcome.of(lambda: _made_attack(spec.factory))
            choices.append(AttackChoice(spec.name, *made.value) if made.ok else AttackChoice(spec.name, failed=made))
    unique = {c.name: c for c in choices}
    return list(unique.values())


def _made_attack(factory: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    attack = factory()
    return attack, _json_safe(attack.get_params() if hasattr(attack, "get_params") else {})


def note_skipped(dataset: Dataset, skipped: Iterable[Sequence[str]]) -> None:
    """Add (id, reason) pairs of images that could not be read (by a worker, or by an earlier run
    of a resumed cell) to ``dataset.skipped``, each image once."""
    known = {s.id for s in dataset.skipped}
    for image_id, reason in skipped:
        if image_id not in known:
            dataset.skipped.append(SkippedImage(image_id, reason))
            known.add(image_id)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr, sort_keys=True))


def cell_key(provenance: dict[str, Any]) -> str:
    """Hash of everything a cell's result depends on (not of when it ran)."""
    keyed = {k: v for k, v in provenance.items() if k not in ("time", "seconds", "ganprint_version")}
    text = json.dumps(keyed, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class SavedFit:
    """A fit ``--save-fitted`` saved into ``path``, or the ``error`` that kept it from being saved
    (``unfitted`` when that error is the fit's own, already an ERR cell)."""

    detector: str
    path: str
    error: str | None = None
    unfitted: bool = False


@dataclass
class RunResult:
    cells: list[CellResult]
    dataset: Dataset
    run_id: str
    saved: list[SavedFit] = field(default_factory=list)


@dataclass
class PlannedCell:
    """One (detector, attack, immunized) cell of the table: its provenance, key and the tasks
    whose outcomes make it (the fit chain and the evaluation)."""

    index: int
    detector: str
    attack: str
    immunized: bool
    provenance: dict[str, Any]
    key: str
    fit_tasks: list[str] = field(default_factory=list)
    eval_task: str | None = None
    error: str | None = None


def run_benchmark(
    registry: Registry,
    dataset: Dataset,
    *,
    plugins: str = "all",
    attacks: str = NO_ATTACK,
    seed: int = 0,
    store: ResultStore,
    resume: bool = False,
    batch_size: int = 256,
    immunize: bool = False,
    progress: bool | None = None,
    executor: Executor | None = None,
    dataset_spec: str | None = None,
    threads: int = 1,
    save_fitted: Path | None = None,
) -> RunResult:
    """Run and store every (detector, attack) cell; return the cells of this run in table order.

    The fits and evaluations are tasks of ``executor`` (this process, one at a time, by default);
    the driver alone writes the store, each cell as soon as its evaluation finishes.
    """
    specs = registry.select("detectors", plugins)
    choices = resolve_attacks(registry, attacks)
    run_id = uuid.uuid4().hex[:12]
    dataset_hash = dataset.content_hash()
    executor = executor or LocalExecutor()
    local = isinstance(executor, LocalExecutor)
    show = progress is not False
    planner = _Planner(registry, dataset, dataset_hash, seed, batch_size, immunize, show and local, save_fitted)
    for spec in specs:
        planner.add(spec, choices, resume, store)
    cells: list[CellResult | None] = [store.get(c.key) if c.error is None and c.eval_task is None else None
                                      for c in planner.cells]
    for resumed in filter(None, cells):
        note_skipped(dataset, resumed.provenance.get("skipped_images", ()))
    seconds: dict[str, float] = {}
    context = RunContext(dataset_hash, dataset_spec, dataset, threads)
    with tqdm(total=len(cells), desc="cells", unit="cell", disable=None if show else True) as bar:
        bar.update(sum(c is not None for c in cells))
        for planned in planner.cells:  # cells that fail before any task (no params, no factory)
            if planned.error is not None:
                cells[planned.index] = _store(store, planned, run_id, planned.error, None, {}, (), 0.0, dataset)
                bar.update(1)
        by_eval = {c.eval_task: c for c in planner.cells if c.eval_task is not None}
        saved: list[SavedFit] = []
        for task, outcome in executor.run(planner.tasks, context):
            seconds[task.id] = outcome.seconds
            note_skipped(dataset, outcome.skipped)
            if task.id in planner.saves:
                saved.append(SavedFit(*planner.saves[task.id], outcome.error, outcome.cause is not None))
            planned = by_eval.get(task.id)
            if planned is not None:
                error, tb = outcome.error, outcome.traceback
                if error is not None and outcome.cause is not None:
                    error = f"fit failed: {error}"
                metrics, rows = outcome.value if outcome.ok else ({}, ())
                elapsed = sum(seconds.get(t, 0.0) for t in planned.fit_tasks) + outcome.seconds
                cells[planned.index] = _store(store, planned, run_id, error, tb, metrics, rows, elapsed, dataset)
                bar.update(1)
            bar.set_postfix_str(", ".join(executor.running)[:80])
    return RunResult([c for c in cells if c is not None], dataset, run_id, sorted(saved, key=lambda s: s.path))


def _store(store: ResultStore, planned: PlannedCell, run_id: str, error: str | None, tb: str | None,
           metrics: dict[str, Any], rows: Any, seconds: float, dataset: Dataset) -> CellResult:
    provenance = dict(planned.provenance, time=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      seconds=round(seconds, 3), ganprint_version=ganprint.__version__,
                      skipped_images=[[s.id, s.reason] for s in dataset.skipped])
    cell = CellResult(planned.key, run_id, planned.detector, planned.attack, planned.immunized,
                      provenance["dataset"], "ok" if error is None else "error", metrics, error, tb,
                      provenance, time.time())
    store.put(cell, rows)
    return cell


class _Planner:
    """Turns the selected detectors and attacks into cells and the task graph that computes them.

    Per detector and training condition (clean, or immunized against one attack): a closed-world
    fit, an open-world fit when the protocol applies, a calibration; then one evaluation per cell.
    An immunized fit of a method offering ``fine_tune`` starts from the clean fits. Detectors that
    train networks are planned first, so their long fits start first.
    """

    def __init__(self, registry: Registry, dataset: Dataset, dataset_hash: str, seed: int, batch_size: int,
                 immunize: bool, progress: bool, save_fitted: Path | None = None) -> None:
        self.registry, self.dataset, self.dataset_hash = registry, dataset, dataset_hash
        self.seed, self.batch_size, self.immunize, self.progress = seed, batch_size, immunize, progress
        self.save_fitted = save_fitted
        self.saves: dict[str, tuple[str, str]] = {}  # save task id -> (detector, folder)
        self.cells: list[PlannedCell] = []
        self._neural: list[Task] = []
        self._other: list[Task] = []

    @property
    def tasks(self) -> list[Task]:
        return self._neural + self._other

    def add(self, spec: Any, choices: list[AttackChoice], resume: bool, store: ResultStore) -> None:
        info = self.registry.origin("detectors", spec.name)
        params = Outcome.of(lambda: _json_safe(spec.factory().get_params()))
        probe = Outcome.of(spec.factory)
        fine_tunes = probe.ok and protocol.can_fine_tune(probe.value)
        groups = [(c, immunized) for c in choices
                  for immunized in ((False, True) if self.immunize and c.name != NO_ATTACK else (False,))]
        tasks: list[Task] = []
        fits: dict[str, list[str]] = {}
        factory = tasks_module.DetectorFactory.of(spec.name, spec.factory)
        for choice, immunized in groups:
            provenance = {
                "detector": spec.name,
                "plugin": info.plugin,
                "distribution": info.distribution,
                "plugin_version": info.version,
                "params": params.value if params.ok else None,
                "dataset": self.dataset.name,
                "dataset_hash": self.dataset_hash,
                "attack": choice.name,
                "attack_params": _json_safe(choice.params),
                "immunized": immunized,
                **({"immunization": "fine-tuned" if fine_tunes else "refit"} if immunized and probe.ok else {}),
                "seed": self.seed,
                "protocol_version": PROTOCOL_VERSION,
            }
            planned = PlannedCell(len(self.cells), spec.name, choice.name, immunized, provenance,
                                  cell_key(provenance))
            self.cells.append(planned)
            if resume and store.is_done(planned.key):
                continue
            if choice.failed is not None:
                planned.error = f"attack {choice.name} failed: {choice.failed.error}"
                continue
            failed = params if not params.ok else probe
            if not failed.ok:
                planned.error = failed.error if failed is params else f"fit failed: {failed.error}"
                continue
            train = choice if immunized else None
            planned.fit_tasks = self._fit(tasks, fits, spec.name, factory, probe.value, train, fine_tunes)
            planned.eval_task = f"{spec.name}|eval|{choice.name}|{'immunized' if immunized else 'clean'}"
            tasks.append(Task(planned.eval_task, tasks_module.evaluate, (Ref(planned.fit_tasks[-1]),), dict(
                seed=self.seed, attack=choice.attack, attack_name=choice.name, batch_size=self.batch_size,
                progress=f"{spec.name}/{choice.name}" if self.progress else None),
                label=f"{spec.name} score {choice.name}" + (" (immunized)" if immunized else "")))
        (self._neural if fine_tunes else self._other).extend(tasks)

    def _fit(self, tasks: list[Task], fits: dict[str, list[str]], name: str, factory: Any, probe: Any,
             train: AttackChoice | None, fine_tunes: bool) -> list[str]:
        """The ids of the tasks fitting ``name`` under ``train`` (None: clean), the calibration
        last; planned once per training condition."""
        condition = NO_ATTACK if train is None else train.name
        if condition in fits:
            return fits[condition]
        start: list[str | None] = [None, None]
        if train is not None and fine_tunes:
            base = self._fit(tasks, fits, name, factory, probe, None, fine_tunes)
            start = [base[0], base[1] if len(base) == 3 else None]
        known, held_out = protocol.open_world_split(probe, self.dataset, self.seed)
        common = dict(seed=self.seed, train_attack=None if train is None else train.attack, attack_name=condition)
        ids = [f"{name}|fit|{condition}|closed"]
        worlds = [(ids[0], None, start[0])]
        if held_out:
            ids.append(f"{name}|fit|{condition}|open")
            worlds.append((ids[1], known, start[1]))
        for task_id, sources, start_from in worlds:
            tasks.append(Task(task_id, tasks_module.fit, (factory,), dict(
                common, sources=sources, start_from=None if start_from is None else Ref(start_from)),
                label=f"{name} fit{'' if train is None else ' ' + condition}{' (open world)' if sources else ''}",
                neural=fine_tunes))
        ids.append(f"{name}|calibrate|{condition}")
        tasks.append(Task(ids[-1], tasks_module.calibrate,
                          (Ref(ids[0]), Ref(ids[1]) if held_out else None),
                          dict(known=known, held_out=held_out, batch_size=self.batch_size, progress=self.progress),
                          label=f"{name} calibrate"))
        fits[condition] = ids
        if self.save_fitted is not None:
            folder = str(Path(self.save_fitted) / (name if train is None else f"{name}.immunized-{condition}"))
            save_id = f"{name}|save|{condition}"
            tasks.append(Task(save_id, tasks_module.save, (Ref(ids[-1]),), dict(path=folder, name=name, seed=self.seed),
                              label=f"{name} save"))
            self.saves[save_id] = (name, folder)
        return ids
