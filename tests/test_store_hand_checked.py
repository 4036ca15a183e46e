"""The SQLite results store on cells, runs and sweeps whose every field is written by hand here.

A round trip must give back exactly what was put; replacing a cell replaces its predictions; a run
lists its cells in the order it gave; the layout checks refuse what is not a results store.
"""
from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from ganprint.benchmark import store as store_module
from ganprint.benchmark.store import (
    SCHEMA_VERSION,
    CellResult,
    ResultStore,
    RunRecord,
    StoreError,
    SweepRecord,
    default_store_path,
)
from ganprint.commands import UsageError

CELLS_COLUMNS = ("key TEXT PRIMARY KEY, run_id TEXT NOT NULL, detector TEXT NOT NULL, attack TEXT NOT NULL, "
                 "immunized INTEGER NOT NULL, dataset TEXT NOT NULL, status TEXT NOT NULL, metrics TEXT NOT NULL, "
                 "error TEXT, traceback TEXT, provenance TEXT NOT NULL, finished REAL NOT NULL")


def knn_jpeg(**changes) -> CellResult:
    fields = dict(key="k-knn-jpeg", run_id="run-a", detector="knn", attack="jpeg", immunized=True,
                  dataset="hand", status="ok",
                  metrics={"detection": {"auc": 0.75, "acc": 0.5}, "closed_world": {"acc": 1.0, "n": 3}},
                  error=None, traceback=None, provenance={"seed": 7, "params": {"k": 3}, "held_out": ["b", "c"]},
                  finished=1700000000.25)
    fields.update(changes)
    return CellResult(**fields)


@pytest.fixture
def store(tmp_path: Path):
    with ResultStore(tmp_path / "results.sqlite") as opened:
        yield opened


# -- cells ----------------------------------------------------------------------------------------

def test_a_cell_comes_back_field_for_field(store: ResultStore) -> None:
    store.put(knn_jpeg())
    got = store.get("k-knn-jpeg")
    assert got == knn_jpeg()
    assert got.immunized is True and got.finished == 1700000000.25
    assert got.metrics["closed_world"] == {"acc": 1.0, "n": 3}
    assert store.get("k-missing") is None
    assert store.count_cells() == 1


def test_an_error_cell_keeps_its_message_and_traceback(store: ResultStore) -> None:
    failed = knn_jpeg(key="k-err", immunized=False, status="error", metrics={}, error="RuntimeError: boom",
                      traceback="Traceback (most recent call last):\n  line 1\nRuntimeError: boom\n")
    store.put(failed)
    got = store.get("k-err")
    assert got == failed and got.immunized is False and not got.ok
    assert got.as_dict()["error"] == "RuntimeError: boom"
    assert got.as_dict()["traceback"].endswith("RuntimeError: boom\n")


def test_a_provenance_value_json_cannot_write_is_kept_as_its_repr(store: ResultStore) -> None:
    store.put(knn_jpeg(provenance={"root": Path("/data/x"), "seed": 1}))
    assert store.get("k-knn-jpeg").provenance == {"root": "PosixPath('/data/x')", "seed": 1}


def test_is_done_only_for_a_stored_ok_cell(store: ResultStore) -> None:
    store.put(knn_jpeg(key="ok"))
    store.put(knn_jpeg(key="failed", status="error", error="E: x"))
    assert [store.is_done(k) for k in ("ok", "failed", "absent")] == [True, False, False]


def test_predictions_come_back_in_row_order_and_apart_from_other_cells(store: ResultStore) -> None:
    rows = [{"id": f"img{i}", "score": s} for i, s in enumerate([0.9, 0.1, 0.5, 0.3])]
    store.put(knn_jpeg(key="a"), rows)
    store.put(knn_jpeg(key="b"), [{"id": "other", "score": 0.0}])
    assert list(store.predictions("a")) == rows
    assert list(store.predictions("b")) == [{"id": "other", "score": 0.0}]
    assert list(store.predictions("none")) == []


def test_putting_a_key_again_replaces_the_cell_and_all_its_predictions(store: ResultStore) -> None:
    store.put(knn_jpeg(status="error", error="E: first"), [{"id": "x"}, {"id": "y"}, {"id": "z"}])
    store.put(knn_jpeg(run_id="run-b"), [{"id": "y2"}, {"id": "x2"}])
    assert store.count_cells() == 1
    got = store.get("k-knn-jpeg")
    assert got.run_id == "run-b" and got.ok and got.error is None
    assert list(store.predictions("k-knn-jpeg")) == [{"id": "y2"}, {"id": "x2"}]
    store.put(knn_jpeg())  # no predictions: the two above go
    assert list(store.predictions("k-knn-jpeg")) == []


def test_count_cells_counts_keys(store: ResultStore) -> None:
    assert store.count_cells() == 0
    for key in ("a", "b", "c", "b"):
        store.put(knn_jpeg(key=key))
    assert store.count_cells() == 3


def test_cells_written_by_one_store_are_read_by_another(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.db") as first:
        first.put(knn_jpeg(), [{"id": "a"}])
    with ResultStore(tmp_path / "s.db") as second:
        assert second.get("k-knn-jpeg") == knn_jpeg()
        assert list(second.predictions("k-knn-jpeg")) == [{"id": "a"}]


# -- runs -----------------------------------------------------------------------------------------

def run_record(run_id: str = "run-a", finished: float = 20.5, **changes) -> RunRecord:
    fields = dict(run_id=run_id, command="bench run --plugins knn", started=10.0, finished=finished,
                  dataset="hand", dataset_spec="folder:/data/hand", dataset_hash="abc123", seed=3,
                  versions={"ganprint": "0.1.0", "plugins": {"knn": "ganprint 0.1.0"}},
                  skipped=[{"id": "real/1.png", "reason": "truncated"}],
                  load_failures=[{"plugin": "p", "distribution": "d", "stage": "import", "error": "E"}])
    fields.update(changes)
    return RunRecord(**fields)


def test_a_run_comes_back_with_its_cells_in_the_order_it_gave(store: ResultStore) -> None:
    for key in ("k1", "k2", "k3"):
        store.put(knn_jpeg(key=key))
    store.put_run(run_record(), ["k3", "k1", "k2"])
    assert store.get_run("run-a") == run_record()
    assert [c.key for c in store.run_cells("run-a")] == ["k3", "k1", "k2"]
    assert store.get_run("run-zzz") is None and store.run_cells("run-zzz") == []


def test_a_run_listing_a_key_the_store_lacks_shows_the_others(store: ResultStore) -> None:
    store.put(knn_jpeg(key="k1"))
    store.put_run(run_record(), ["gone", "k1"])
    assert [c.key for c in store.run_cells("run-a")] == ["k1"]


def test_recording_a_run_again_replaces_its_cell_list(store: ResultStore) -> None:
    for key in ("k1", "k2", "k3"):
        store.put(knn_jpeg(key=key))
    store.put_run(run_record(), ["k1", "k2", "k3"])
    store.put_run(run_record(seed=4), ["k2"])
    assert store.get_run("run-a").seed == 4
    assert [c.key for c in store.run_cells("run-a")] == ["k2"]
    store.put_run(run_record("run-b"), ["k3", "k1"])  # another run's list leaves run-a's alone
    assert [c.key for c in store.run_cells("run-a")] == ["k2"]
    assert [c.key for c in store.run_cells("run-b")] == ["k3", "k1"]


def test_run_ids_are_ordered_by_finish_time_then_id(store: ResultStore) -> None:
    # finished: c 1.0 < a 2.0 = b 2.0 (a before b by id) < d 3.0, recorded in another order
    for run_id, finished in (("d", 3.0), ("b", 2.0), ("c", 1.0), ("a", 2.0)):
        store.put_run(run_record(run_id, finished), [])
    assert store.run_ids() == ["c", "a", "b", "d"]


# -- sweeps ---------------------------------------------------------------------------------------

def sweep(label: str, finished: float, dataset_hash: str = "h1", seed: int = 0) -> SweepRecord:
    return SweepRecord("hand", dataset_hash, seed, "bench sweep", 0.5,
                       {"label": label, "x": [1, 2], "y": [0.9, 0.4]}, finished)


def test_sweeps_of_one_dataset_and_seed_oldest_first(store: ResultStore) -> None:
    # kept: (h1, 0) at 5.0, 2.0 and 2.0 again (the later insert second); left out: other hash, other seed
    for record in (sweep("late", 5.0), sweep("early", 2.0), sweep("other-data", 1.0, dataset_hash="h2"),
                   sweep("other-seed", 1.0, seed=1), sweep("early-again", 2.0)):
        store.put_sweep(record)
    got = store.sweeps("h1", 0)
    assert [s.curve["label"] for s in got] == ["early", "early-again", "late"]
    assert got[2] == sweep("late", 5.0)
    assert [s.curve["label"] for s in store.sweeps("h1", 1)] == ["other-seed"]
    assert store.sweeps("h3", 0) == []


# -- opening: layout and version checks -------------------------------------------------------------

def sql(path: Path, *statements: str) -> None:
    """Run ``statements`` on the SQLite file ``path`` as another program would, and commit."""
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)
    db.close()


def layout(path: Path) -> tuple[int, set[str]]:
    """The file's ``user_version`` and the names of its tables."""
    with sqlite3.connect(path) as db:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    return version, tables


def test_a_new_store_has_the_current_layout_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "results.sqlite"
    with ResultStore(path) as opened:
        assert opened.path == path
        assert opened._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert opened._conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    version, tables = layout(path)
    assert version == SCHEMA_VERSION == 1
    assert {"cells", "predictions", "runs", "run_cells", "sweeps"} <= tables


def test_a_folder_is_refused_as_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"is a folder; give a file name \(--store FILE\)"):
        ResultStore(tmp_path)
    assert issubclass(StoreError, UsageError)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 200)
    with pytest.raises(StoreError, match="is not a results store .*give another --store, or move that file away"):
        ResultStore(path)
    assert path.read_text().startswith("these are my notes")


def test_another_programs_database_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sql(path, "CREATE TABLE users (name TEXT)", "CREATE TABLE accounts (id INTEGER)")
    with pytest.raises(StoreError, match=r"an SQLite database of another program \(tables: accounts, users\)"):
        ResultStore(path)
    assert layout(path) == (0, {"users", "accounts"})


def test_a_newer_layout_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    sql(path, "PRAGMA user_version = 2")
    with pytest.raises(StoreError, match=r"has layout version 2, newer than this ganprint reads \(1\): upgrade"):
        ResultStore(path)
    assert layout(path) == (2, set())


def test_an_unversioned_store_with_the_same_columns_is_migrated_and_keeps_its_cells(tmp_path: Path) -> None:
    path = tmp_path / "v0.db"
    sql(path, f"CREATE TABLE cells ({CELLS_COLUMNS})",
        "CREATE TABLE predictions (key TEXT NOT NULL, row INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (key, row))",
        "INSERT INTO cells VALUES ('k0','r0','knn','none',0,'hand','ok','{\"a\": 1}',NULL,NULL,'{}',5)")
    with ResultStore(path) as opened:
        assert opened.get("k0") == CellResult("k0", "r0", "knn", "none", False, "hand", "ok", {"a": 1},
                                              None, None, {}, 5.0)
        assert opened.run_ids() == []  # the runs table was added
    assert layout(path)[0] == 1


def test_an_unversioned_store_with_other_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v0-other.db"
    sql(path, "CREATE TABLE cells (key TEXT, value REAL)")
    with pytest.raises(StoreError, match=r"its table 'cells' has columns \['key', 'value'\], expected \['key', "):
        ResultStore(path)
    assert layout(path) == (0, {"cells"}), "the failed migration is rolled back"


def test_a_current_store_with_a_changed_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v1-changed.db"
    ResultStore(path).close()
    sql(path, "ALTER TABLE predictions ADD COLUMN extra TEXT")
    with pytest.raises(StoreError, match=r"its table 'predictions' has columns \['key', 'row', 'data', 'extra'\]"):
        ResultStore(path)


def test_a_current_store_missing_a_newer_table_gets_it(tmp_path: Path) -> None:
    path = tmp_path / "no-sweeps.db"
    with ResultStore(path) as opened:
        opened.put(knn_jpeg())
    sql(path, "DROP TABLE sweeps")
    with ResultStore(path) as opened:
        opened.put_sweep(sweep("s", 1.0))
        assert [s.curve["label"] for s in opened.sweeps("h1", 0)] == ["s"]
        assert opened.get("k-knn-jpeg") == knn_jpeg()


def test_a_current_store_with_a_changed_table_and_a_missing_one_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "v1-changed-and-short.db"
    ResultStore(path).close()
    sql(path, "ALTER TABLE cells ADD COLUMN extra TEXT", "DROP TABLE sweeps")
    with pytest.raises(StoreError, match=r"its table 'cells' has columns \[.*'extra'\]"):
        ResultStore(path)
    tables = layout(path)[1]
    assert "sweeps" not in tables and {"cells", "predictions", "runs", "run_cells"} <= tables


def test_a_path_that_cannot_be_made_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(StoreError, match=r"results store .*a-file/s.db cannot be opened: .*File exists"):
        ResultStore(tmp_path / "a-file" / "s.db")
    (tmp_path / "link.db").symlink_to(tmp_path / "missing" / "s.db")
    with pytest.raises(StoreError, match=r"results store .*link.db cannot be opened: unable to open database file"):
        ResultStore(tmp_path / "link.db")


def test_another_error_while_opening_is_not_called_a_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(conn: sqlite3.Connection) -> dict:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store_module, "_tables", failing)
    with pytest.raises(StoreError, match=r"is not a results store \(disk I/O error\)"):
        ResultStore(tmp_path / "s.db")


def test_the_default_store_is_results_sqlite_in_the_users_data_folder(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert default_store_path() == tmp_path / "share" / "ganprint" / "results.sqlite"


def test_a_closed_store_cannot_be_used(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.db") as opened:
        pass
    with pytest.raises(sqlite3.ProgrammingError):
        opened.count_cells()


# -- locks ----------------------------------------------------------------------------------------

def test_opening_a_store_another_connection_keeps_locked_is_one_usage_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.05)
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match=r"stayed locked by another process for 0.05 s; try again when it is done"):
            ResultStore(path)
    finally:
        holder.close()


def test_a_current_store_opens_while_another_connection_writes(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a store of the current layout reads only: ``bench report`` is not kept waiting by a
    run writing its cells."""
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.05)
    path = tmp_path / "current.db"
    with ResultStore(path) as opened:
        opened.put(knn_jpeg())
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with ResultStore(path) as reader:
            assert reader.get("k-knn-jpeg") == knn_jpeg()
    finally:
        holder.close()


def test_a_write_waits_while_another_connection_holds_the_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.05)
    pauses: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(store_module.time, "sleep", lambda seconds: (pauses.append(seconds), real_sleep(seconds)))
    path = tmp_path / "busy.db"
    with ResultStore(path) as opened:
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        releaser = threading.Timer(0.4, holder.rollback)
        releaser.start()
        start = time.monotonic()
        opened.put(knn_jpeg(), [{"id": "a"}])
        waited = time.monotonic() - start
        releaser.join()
        holder.close()
        assert waited >= 0.3  # released after 0.4 s
        assert pauses and set(pauses) == {0.1}  # tried again 0.1 s after each busy timeout
        assert opened.get("k-knn-jpeg") == knn_jpeg() and list(opened.predictions("k-knn-jpeg")) == [{"id": "a"}]
    notes = capsys.readouterr().err.splitlines()
    assert len(notes) == len(pauses)
    found = re.fullmatch(rf"bench: results store {re.escape(str(path))} is locked by another process; "
                         r"still waiting to write knn / jpeg \((\d+) s\)", notes[0])
    assert found and int(found[1]) < 60, "seconds since the write began, not a clock reading"


def test_a_write_error_that_is_not_a_lock_is_raised_at_once(store: ResultStore,
                                                            capsys: pytest.CaptureFixture) -> None:
    store._conn.execute("DROP TABLE predictions")
    with pytest.raises(sqlite3.OperationalError, match="no such table: predictions"):
        store.put(knn_jpeg(), [{"id": "a"}])
    assert capsys.readouterr().err == "", "no wait: it is not a lock"
    assert store.get("k-knn-jpeg") is None, "the cell's transaction was rolled back"


@pytest.mark.parametrize("write, what", [
    (lambda s: s.put_run(run_record("run-q"), ["k"]), "run run-q"),
    (lambda s: s.put_sweep(sweep("roc", 1.0)), "a sweep of roc"),
    (lambda s: s.put_sweep(SweepRecord("hand", "h1", 0, "bench sweep", 0.5, {"x": []}, 1.0)), "a sweep of ?"),
])
def test_the_wait_note_names_what_is_being_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture, write, what: str) -> None:
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_SECONDS", 0.02)
    with ResultStore(tmp_path / "s.db") as opened:
        holder = sqlite3.connect(opened.path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        releaser = threading.Timer(0.1, holder.rollback)
        releaser.start()
        write(opened)
        releaser.join()
        holder.close()
    assert re.search(rf"still waiting to write {re.escape(what)} \(\d+ s\)", capsys.readouterr().err)


def test_a_busy_error_is_waited_out_as_a_locked_one(store: ResultStore, capsys: pytest.CaptureFixture) -> None:
    calls = []

    def busy_once(conn: sqlite3.Connection) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("database busy")
        conn.execute("INSERT INTO runs VALUES ('r','c',0,0,'d','s','h',0,'{}','[]','[]')")

    store._write("a test row", busy_once)
    assert len(calls) == 2 and store.run_ids() == ["r"]
    assert "still waiting to write a test row" in capsys.readouterr().err
