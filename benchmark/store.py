"""The results store: SQLite (stdlib sqlite3) in WAL mode, one transaction per finished cell.

A cell is one (detector, attack) evaluation under a key that hashes everything its result depends
on (detector and version, its params, dataset content hash, attack and params, seed, whether it
was immunised), so ``--resume`` can skip finished cells and a run killed with SIGKILL loses at most
the cell in progress.

A finished ``bench run`` also records a :class:`RunRecord` (its command, dataset spec and hash,
seed, versions, skipped images, plugin load failures) and the keys of its cells in table order:
with ``--resume`` a run reuses cells an earlier run finished, so a run lists its cells itself.
``bench sweep`` records its curves, keyed by dataset hash and seed. ``bench report`` reads both.

The store records its layout in ``PRAGMA user_version`` (:data:`SCHEMA_VERSION`). Opening a store
checks it before any work: an older layout is migrated in place (:data:`MIGRATIONS`, one step per
version), a newer one, a file that is not SQLite, an SQLite file of some other program, a
directory or a path that cannot be created is a :class:`StoreError` (a usage error: ``bench``
prints one line and exits with 2); a store refused is left as it was.
A writer finding the store locked by another process waits (SQLite's busy timeout) and retries
until it can write, so a computed cell is never dropped because someone else was writing.
"""
from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import platformdirs

from ganprint.commands import UsageError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 10.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    detector TEXT NOT NULL,
    attack TEXT NOT NULL,
    immunized INTEGER NOT NULL,
    dataset TEXT NOT NULL,
    status TEXT NOT NULL,
    metrics TEXT NOT NULL,
    error TEXT,
    traceback TEXT,
    provenance TEXT NOT NULL,
    finished REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS predictions (
    key TEXT NOT NULL,
    row INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (key, row)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL NOT NULL,
    dataset TEXT NOT NULL,
    dataset_spec TEXT NOT NULL,
    dataset_hash TEXT NOT NULL,
    seed INTEGER NOT NULL,
    versions TEXT NOT NULL,
    skipped TEXT NOT NULL,
    load_failures TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS run_cells (
    run_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    dataset_hash TEXT NOT NULL,
    seed INTEGER NOT NULL,
    command TEXT NOT NULL,
    threshold REAL NOT NULL,
    curve TEXT NOT NULL,
    finished REAL NOT NULL
);
"""


# The columns of each table at SCHEMA_VERSION: a store of version 0 (written before the version was
# recorded) with exactly these is the same layout.
COLUMNS = {
    "cells": ["key", "run_id", "detector", "attack", "immunized", "dataset", "status", "metrics", "error",
              "traceback", "provenance", "finished"],
    "predictions": ["key", "row", "data"],
}


class StoreError(UsageError):
    """The results store cannot be used as it is (not SQLite, another program's, a newer layout)."""


def _migrate_unversioned(conn: sqlite3.Connection) -> None:
    """Version 0 → 1: stores written before the version was recorded have the version-1 layout."""
    _check_columns(conn)


# MIGRATIONS[v] brings a store from version v to v + 1 inside one transaction: a change to an existing
# table adds a step here and raises SCHEMA_VERSION. A new table needs neither: every store lacking
# one of SCHEMA's tables gets it when opened.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {0: _migrate_unversioned}


def _schema_tables() -> list[str]:
    return re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA)


def _tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {n: [row[1] for row in conn.execute(f"PRAGMA table_info({n!r})")] for n in names}


def _check_columns(conn: sqlite3.Connection) -> None:
    tables = _tables(conn)
    for table, columns in COLUMNS.items():
        if table in tables and tables[table] != columns:
            raise sqlite3.DatabaseError(f"its table {table!r} has columns {tables[table]}, expected {columns}")


def default_store_path() -> Path:
    return Path(platformdirs.user_data_dir("ganprint")) / "results.sqlite"


@dataclass
class CellResult:
    """One stored (detector, attack) result: metrics or an error, with provenance."""

    key: str
    run_id: str
    detector: str
    attack: str
    immunized: bool
    dataset: str
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    finished: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunRecord:
    """One finished ``bench run``: what it was asked, on which data, with which code.

    ``dataset_spec`` is the ``--dataset`` text that reopens the dataset (paths made absolute);
    ``versions`` maps ``ganprint`` and ``python`` to versions and ``plugins`` to
    ``{plugin: "distribution version"}``; ``skipped`` and ``load_failures`` are lists of dicts
    (``id``, ``reason``; ``plugin``, ``distribution``, ``stage``, ``error``). Times are Unix seconds.
    """

    run_id: str
    command: str
    started: float
    finished: float
    dataset: str
    dataset_spec: str
    dataset_hash: str
    seed: int
    versions: dict[str, Any] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    load_failures: list[dict[str, str]] = field(default_factory=list)


@dataclass
class SweepRecord:
    """One stored sweep curve (:meth:`ganprint.sweep.SweepCurve.as_dict`) and where it was measured."""

    dataset: str
    dataset_hash: str
    seed: int
    command: str
    threshold: float
    curve: dict[str, Any]
    finished: float


class ResultStore:
    """Results by cell key, with the per-image predictions of each cell."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(f"results store {self.path} is a folder; give a file name (--store FILE)")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS)
        except (OSError, sqlite3.Error) as error:
            raise StoreError(f"results store {self.path} cannot be opened: {error}") from error
        try:
            self._open()
        except sqlite3.DatabaseError as error:
            self._conn.close()
            if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
                raise StoreError(f"results store {self.path} stayed locked by another process for "
                                 f"{BUSY_TIMEOUT_SECONDS:g} s; try again when it is done") from error
            raise StoreError(f"{self.path} is not a results store ({error}); give another --store, "
                             "or move that file away") from error

    def _open(self) -> None:
        """Check the layout and version, create or migrate the tables, then switch to WAL."""
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        tables = _tables(self._conn)
        if version > SCHEMA_VERSION:
            raise StoreError(f"results store {self.path} has layout version {version}, newer than this "
                             f"ganprint reads ({SCHEMA_VERSION}): upgrade ganprint, or give another --store")
        if tables and not set(COLUMNS) & set(tables):
            raise sqlite3.DatabaseError(f"an SQLite database of another program (tables: {', '.join(sorted(tables))})")
        if version < SCHEMA_VERSION or set(_schema_tables()) - set(tables):
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                # another process may have migrated the store while this one waited for the lock
                version = self._conn.execute("PRAGMA user_version").fetchone()[0]
                for step in range(version, SCHEMA_VERSION):
                    MIGRATIONS[step](self._conn)
                _check_columns(self._conn)  # a store refused is left as it was: no table added
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        _check_columns(self._conn)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, what: str, statements: Callable[[sqlite3.Connection], None]) -> None:
        """Run ``statements`` in one transaction. While another process holds the write lock this
        waits, retrying after each busy timeout (with a note on stderr), until it can write."""
        start = time.monotonic()
        while True:
            try:
                with self._conn:
                    statements(self._conn)
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                time.sleep(0.1)
                print(f"bench: results store {self.path} is locked by another process; still waiting "
                      f"to write {what} ({time.monotonic() - start:.0f} s)", file=sys.stderr, flush=True)

    def put(self, cell: CellResult, predictions: Iterable[dict[str, Any]] = ()) -> None:
        """Write a finished cell and its predictions in one transaction (replacing an older one),
        waiting for the write lock as long as another process holds it."""
        rows = [(cell.key, i, json.dumps(p)) for i, p in enumerate(predictions)]
        values = (cell.key, cell.run_id, cell.detector, cell.attack, int(cell.immunized), cell.dataset,
                  cell.status, json.dumps(cell.metrics), cell.error, cell.traceback,
                  json.dumps(cell.provenance, default=repr), cell.finished)

        def statements(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM predictions WHERE key = ?", (cell.key,))
            conn.execute("INSERT OR REPLACE INTO cells VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", values)
            conn.executemany("INSERT INTO predictions VALUES (?,?,?)", rows)

        self._write(f"{cell.detector} / {cell.attack}", statements)

    def get(self, key: str) -> CellResult | None:
        row = self._conn.execute("SELECT * FROM cells WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        (key, run_id, detector, attack, immunized, dataset, status, metrics, error, tb,
         provenance, finished) = row
        return CellResult(key, run_id, detector, attack, bool(immunized), dataset, status,
                          json.loads(metrics), error, tb, json.loads(provenance), finished)

    def is_done(self, key: str) -> bool:
        cell = self.get(key)
        return cell is not None and cell.ok

    def predictions(self, key: str) -> Iterator[dict[str, Any]]:
        for (data,) in self._conn.execute("SELECT data FROM predictions WHERE key = ? ORDER BY row", (key,)):
            yield json.loads(data)

    def put_run(self, run: RunRecord, keys: Iterable[str]) -> None:
        """Record a finished run and the keys of its cells, in table order, in one transaction."""
        positions = [(run.run_id, i, key) for i, key in enumerate(keys)]

        def statements(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM run_cells WHERE run_id = ?", (run.run_id,))
            conn.execute(
                "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (run.run_id, run.command, run.started, run.finished, run.dataset, run.dataset_spec,
                 run.dataset_hash, run.seed, json.dumps(run.versions), json.dumps(run.skipped),
                 json.dumps(run.load_failures)),
            )
            conn.executemany("INSERT INTO run_cells VALUES (?,?,?)", positions)

        self._write(f"run {run.run_id}", statements)

    def get_run(self, run_id: str) -> RunRecord | None:
        row = self._conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        *head, versions, skipped, failures = row
        return RunRecord(*head, json.loads(versions), json.loads(skipped), json.loads(failures))

    def run_ids(self) -> list[str]:
        """Ids of the recorded runs, the most recently finished last."""
        return [r for (r,) in self._conn.execute("SELECT run_id FROM runs ORDER BY finished, run_id")]

    def run_cells(self, run_id: str) -> list[CellResult]:
        """The cells a run lists, in its table order (cells it reused from earlier runs included)."""
        keys = [k for (k,) in self._conn.execute(
            "SELECT key FROM run_cells WHERE run_id = ? ORDER BY position", (run_id,))]
        return [cell for cell in map(self.get, keys) if cell is not None]

    def count_cells(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0]

    def put_sweep(self, sweep: SweepRecord) -> None:
        self._write(f"a sweep of {sweep.curve.get('label', '?')}", lambda conn: conn.execute(
            "INSERT INTO sweeps (dataset, dataset_hash, seed, command, threshold, curve, finished) "
            "VALUES (?,?,?,?,?,?,?)",
            (sweep.dataset, sweep.dataset_hash, sweep.seed, sweep.command, sweep.threshold,
             json.dumps(sweep.curve), sweep.finished)))

    def sweeps(self, dataset_hash: str, seed: int) -> list[SweepRecord]:
        """Sweep curves measured on this dataset content with this seed, oldest first."""
        rows = self._conn.execute(
            "SELECT dataset, dataset_hash, seed, command, threshold, curve, finished FROM sweeps "
            "WHERE dataset_hash = ? AND seed = ? ORDER BY finished, id", (dataset_hash, seed))
        return [SweepRecord(d, h, s, c, t, json.loads(curve), f) for d, h, s, c, t, curve, f in rows]
