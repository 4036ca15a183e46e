"""The results store: SQLite (stdlib sqlite3) in WAL mode, one transaction per finished cell.

A cell is one (detector, attack) evaluation under a key that hashes everything its result depends
on (detector and version, its params, dataset content hash, attack and params, seed, whether it
was immunised), so ``--resume`` can skip finished cells and a run killed with SIGKILL loses at most
the cell in progress.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

import platformdirs

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
"""


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


class ResultStore:
    """Results by cell key, with the per-image predictions of each cell."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ResultStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put(self, cell: CellResult, predictions: Iterable[dict[str, Any]] = ()) -> None:
        """Write a finished cell and its predictions in one transaction (replacing an older one)."""
        with self._conn:
            self._conn.execute("DELETE FROM predictions WHERE key = ?", (cell.key,))
            self._conn.execute(
                "INSERT OR REPLACE INTO cells VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (cell.key, cell.run_id, cell.detector, cell.attack, int(cell.immunized), cell.dataset,
                 cell.status, json.dumps(cell.metrics), cell.error, cell.traceback,
                 json.dumps(cell.provenance, default=repr), cell.finished),
            )
            self._conn.executemany(
                "INSERT INTO predictions VALUES (?,?,?)",
                ((cell.key, i, json.dumps(p)) for i, p in enumerate(predictions)),
            )

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
