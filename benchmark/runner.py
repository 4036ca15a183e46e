"""``bench run``: every selected detector through the protocol, under every selected attack.

Each detector is fitted once (``ganprint.protocol.prepare``) and then evaluated on the test split
under each attack (``ganprint.protocol.evaluate``). Fitting and every (detector, attack) cell run
through :class:`Outcome`: an exception becomes an ERR cell with its message and the run goes on.
Each finished cell is written to the store at once, so ``--resume`` after a kill skips it.
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from tqdm.auto import tqdm

import ganprint
from ganprint import protocol
from ganprint.dataset import Dataset
from ganprint.registry import Registry
from ganprint.benchmark.outcome import Outcome
from ganprint.benchmark.store import CellResult, ResultStore

NO_ATTACK = "none"
PROTOCOL_VERSION = 1


@dataclass
class AttackChoice:
    """An attack selected for the run (``none`` is no attack), with its params for provenance."""

    name: str
    attack: Any = None
    params: dict[str, Any] = field(default_factory=dict)


def resolve_attacks(registry: Registry, selection: str) -> list[AttackChoice]:
    """``none`` plus registered attack names or globs, in the order given."""
    choices: list[AttackChoice] = []
    for part in [p.strip() for p in selection.split(",") if p.strip()]:
        if part == NO_ATTACK:
            choices.append(AttackChoice(NO_ATTACK))
            continue
        for spec in registry.select("attacks", part):
            attack = spec.factory()
            params = attack.get_params() if hasattr(attack, "get_params") else {}
            choices.append(AttackChoice(spec.name, attack, params))
    unique = {c.name: c for c in choices}
    return list(unique.values())


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr, sort_keys=True))


def cell_key(provenance: dict[str, Any]) -> str:
    """Hash of everything a cell's result depends on (not of when it ran)."""
    keyed = {k: v for k, v in provenance.items() if k not in ("time", "seconds", "ganprint_version")}
    text = json.dumps(keyed, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass
class RunResult:
    cells: list[CellResult]
    dataset: Dataset
    run_id: str


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
) -> RunResult:
    """Run and store every (detector, attack) cell; return the cells of this run in table order."""
    specs = registry.select("detectors", plugins)
    choices = resolve_attacks(registry, attacks)
    run_id = uuid.uuid4().hex[:12]
    dataset_hash = dataset.content_hash()
    cells: list[CellResult] = []
    groups = [(c, immunized) for c in choices
              for immunized in ((False, True) if immunize and c.name != NO_ATTACK else (False,))]
    show = progress is not False
    with tqdm(total=len(specs) * len(groups), desc="cells", unit="cell", disable=None if show else True) as bar:
        for spec in specs:
            info = registry.origin("detectors", spec.name)
            params = Outcome.of(lambda: _json_safe(spec.factory().get_params()))
            immunization = Outcome.of(lambda: "fine-tuned" if protocol.can_fine_tune(spec.factory()) else "refit")
            fits: dict[str, Outcome] = {}
            for choice, immunized in groups:
                provenance = {
                    "detector": spec.name,
                    "plugin": info.plugin,
                    "distribution": info.distribution,
                    "plugin_version": info.version,
                    "params": params.value if params.ok else None,
                    "dataset": dataset.name,
                    "dataset_hash": dataset_hash,
                    "attack": choice.name,
                    "attack_params": _json_safe(choice.params),
                    "immunized": immunized,
                    **({"immunization": immunization.value} if immunized and immunization.ok else {}),
                    "seed": seed,
                    "protocol_version": PROTOCOL_VERSION,
                }
                key = cell_key(provenance)
                bar.set_postfix_str(f"{spec.name} / {choice.name}{' (immunized)' if immunized else ''}")
                if resume and store.is_done(key):
                    cells.append(store.get(key))
                    bar.update(1)
                    continue
                fitted = params if not params.ok else _fitted(
                    fits, spec.factory, dataset, seed, batch_size, choice if immunized else None, show,
                    fine_tune=immunization.value == "fine-tuned")
                started = datetime.now(timezone.utc).isoformat(timespec="seconds")
                if fitted.ok:
                    outcome = Outcome.of(lambda: protocol.evaluate(
                        fitted.value, dataset, seed=seed, attack=choice.attack, attack_name=choice.name,
                        batch_size=batch_size, progress=f"{spec.name}/{choice.name}" if show else None))
                    error, tb = outcome.error, outcome.traceback
                else:
                    outcome, error, tb = fitted, f"fit failed: {fitted.error}", fitted.traceback
                metrics, outputs = outcome.value if outcome.ok and fitted.ok else ({}, None)
                provenance.update(time=started, seconds=round(fitted.seconds + outcome.seconds, 3),
                                  ganprint_version=ganprint.__version__)
                cell = CellResult(key, run_id, spec.name, choice.name, immunized, dataset.name,
                                  "ok" if error is None else "error", metrics, error, tb, provenance,
                                  time.time())
                store.put(cell, outputs.rows() if outputs is not None else ())
                cells.append(cell)
                bar.update(1)
    return RunResult(cells, dataset, run_id)


def _fitted(fits: dict[str, Outcome], factory: Callable[[], Any], dataset: Dataset, seed: int, batch_size: int,
            train_attack: AttackChoice | None, progress: bool, fine_tune: bool) -> Outcome:
    """The clean fit (no ``train_attack``) or the immunized one, each computed once into ``fits``.

    Immunizing fine-tunes a copy of the clean fit when the method offers ``fine_tune``, and
    refits from scratch otherwise.
    """
    name = NO_ATTACK if train_attack is None else train_attack.name
    if name not in fits:
        base = None
        if train_attack is not None and fine_tune:
            base = _fitted(fits, factory, dataset, seed, batch_size, None, progress, fine_tune)
        fits[name] = base if base is not None and not base.ok else Outcome.of(_fitter(
            factory, dataset, seed, batch_size, train_attack, progress, None if base is None else base.value))
    return fits[name]


def _fitter(factory: Callable[[], Any], dataset: Dataset, seed: int, batch_size: int,
            train_attack: AttackChoice | None, progress: bool,
            fine_tune_from: protocol.FittedMethod | None = None) -> Callable[[], protocol.FittedMethod]:
    return lambda: protocol.prepare(
        factory, dataset, seed=seed, batch_size=batch_size,
        train_attack=None if train_attack is None else train_attack.attack,
        attack_name=NO_ATTACK if train_attack is None else train_attack.name,
        progress=progress, fine_tune_from=fine_tune_from,
    )
