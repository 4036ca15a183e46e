"""`bench list` and `bench run` end to end, in subprocesses, with real pip-installed plugins."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import install_plugin, run_bench, write_folder

FAILING_PLUGINS = '''
import numpy as np
from ganprint import DetectorSpec, hookimpl
from ganprint.plugins.knn import KNNAttributor


class FitRaises(KNNAttributor):
    def fit(self, X, y):
        raise RuntimeError("this detector cannot fit")


@hookimpl
def ganprint_detectors():
    yield DetectorSpec("fitraises", FitRaises, "raises in fit")
'''


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("data") / "images", n_per_source=20)


def bench_run(folder: Path, tmp: Path, *extra: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    return run_bench("run", "--dataset", f"folder:{folder}", "--store", str(tmp / "store.db"), *extra,
                     pythonpath=pythonpath)


def test_list_shows_baselines() -> None:
    result = run_bench("list", "detectors")
    assert result.returncode == 0, result.stderr
    assert "knn" in result.stdout and "eigenface" in result.stdout and "ganprint" in result.stdout


def test_run_prints_every_protocol_and_writes_outputs(folder: Path, tmp_path: Path) -> None:
    result = bench_run(folder, tmp_path, "--plugins", "knn,eigen*", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    for title in ("Detection", "Closed-world attribution", "Open-world attribution"):
        assert title in result.stdout
    assert "**" in result.stdout  # the best value of a column is marked
    rows = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {r["detector"] for r in rows} == {"knn", "eigenface"}
    provenance = rows[0]["provenance"]
    for field in ("plugin", "plugin_version", "params", "dataset", "dataset_hash", "attack", "seed", "time"):
        assert field in provenance
    lines = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert lines[0].startswith("detector,attack") and len(lines) == 1 + 2 * 12  # 12 test images each


@pytest.mark.parametrize("fmt, marker", [("latex", "\\textbf"), ("plain", "*"), ("csv", "closed_world,")])
def test_formats(folder: Path, tmp_path: Path, fmt: str, marker: str) -> None:
    result = bench_run(folder, tmp_path, "--plugins", "knn,eigenface", "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout


def test_same_seed_same_leaderboard(folder: Path, tmp_path: Path) -> None:
    first = bench_run(folder, tmp_path, "--plugins", "knn,eigenface", "--seed", "3")
    second = run_bench("run", "--dataset", f"folder:{folder}", "--store", str(tmp_path / "other.db"),
                       "--plugins", "knn,eigenface", "--seed", "3")
    assert first.returncode == 0 and first.stdout == second.stdout


def test_unknown_plugin_suggests(folder: Path, tmp_path: Path) -> None:
    result = bench_run(folder, tmp_path, "--plugins", "eigenfase")
    assert result.returncode == 2 and "did you mean eigenface" in result.stderr


def test_broken_plugins_are_reported_and_others_still_score(folder: Path, tmp_path: Path) -> None:
    site = install_plugin(tmp_path / "site", "ganprint_failing", FAILING_PLUGINS, "failing = ganprint_failing")
    (site / "ganprint_noimport.py").write_text("raise ImportError('missing dependency xyz')\n")
    dist_info = next(site.glob("ganprint_failing-*.dist-info"))
    with open(dist_info / "entry_points.txt", "a") as f:
        f.write("noimport = ganprint_noimport\n")

    listing = run_bench("list", pythonpath=site)
    assert listing.returncode == 0
    assert "fitraises" in listing.stdout
    assert "noimport (ganprint-failing) at import: ImportError: missing dependency xyz" in listing.stdout

    result = bench_run(folder, tmp_path, "--plugins", "knn,fitraises", pythonpath=site)
    assert result.returncode == 0, result.stderr
    knn_row = next(line for line in result.stdout.splitlines() if line.startswith("| knn"))
    err_row = next(line for line in result.stdout.splitlines() if line.startswith("| fitraises"))
    assert "ERR" not in knn_row and "ERR" in err_row
    assert "ERR fitraises / none: fit failed: RuntimeError: this detector cannot fit" in result.stdout
    assert "Plugin load failures" in result.stdout and "noimport" in result.stdout


SLOW_PLUGIN = '''
import os, time
from ganprint import DetectorSpec, hookimpl
from ganprint.plugins.knn import KNNAttributor


class Slow(KNNAttributor):
    def fit(self, X, y):
        time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
        return super().fit(X, y)


@hookimpl
def ganprint_detectors():
    yield DetectorSpec("zzslow", Slow, "sleeps in fit")
'''


def _children(pid: int) -> set[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (a zombie waiting to be reaped has ended)."""
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def test_resume_after_sigkill_loses_only_the_cell_in_progress(folder: Path, tmp_path: Path) -> None:
    site = install_plugin(tmp_path / "site", "ganprint_slow", SLOW_PLUGIN, "slow = ganprint_slow")
    store = tmp_path / "store.db"
    env = dict(os.environ, PYTHONPATH=str(site), SLOW_SECONDS="120")
    args = [sys.executable, "-m", "ganprint.benchmark.cli", "run", "--dataset", f"folder:{folder}",
            "--store", str(store), "--plugins", "knn,zzslow"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if store.exists():
                try:
                    with sqlite3.connect(store) as db:
                        if db.execute("SELECT count(*) FROM cells WHERE detector='knn'").fetchone()[0]:
                            break
                except sqlite3.OperationalError:
                    pass
            time.sleep(0.2)
        else:
            pytest.fail("the knn cell was never stored")
    finally:
        children = _children(process.pid)
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert children, "the run had started no worker process"
    deadline = time.time() + 15
    while _alive(children) and time.time() < deadline:  # the workers end with their driver
        time.sleep(0.2)
    assert not _alive(children), f"processes left behind by the killed run: {sorted(_alive(children))}"
    with sqlite3.connect(store) as db:
        (first_run,) = db.execute("SELECT run_id FROM cells WHERE detector='knn'").fetchone()
        assert db.execute("SELECT count(*) FROM cells WHERE detector='zzslow'").fetchone()[0] == 0
    resumed = subprocess.run(args + ["--resume"], env=dict(env, SLOW_SECONDS="0"), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    with sqlite3.connect(store) as db:
        runs = dict(db.execute("SELECT detector, run_id FROM cells").fetchall())
    assert runs["knn"] == first_run and runs["zzslow"] != first_run
    assert "zzslow" in resumed.stdout and "knn" in resumed.stdout
