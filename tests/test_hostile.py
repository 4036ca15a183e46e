"""Hostile cases (issue #29): a plugin taking a built-in name or calling sys.exit, a corrupt or
shared cache, an interrupted write, a bad output path, an odd or locked results store, bad option
values. Each was a wrong number, a lost result or a crash before; each is now a right number, or
an ERR/skip with its reason, or one line with exit status 2.

End-to-end cases run ``bench`` in a subprocess with real pip-installed plugins (conftest)."""
from __future__ import annotations

import ast
import errno
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ganprint.benchmark.store import SCHEMA

from conftest import install_plugin, run_bench, write_folder

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("data") / "images", n_per_source=10)


def bench_run(folder: Path, store: Path, *extra: str, pythonpath: Path | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess:
    return run_bench("run", "--dataset", f"folder:{folder}", "--store", str(store), *extra,
                     pythonpath=pythonpath, timeout=timeout)


def table(stdout: str) -> list[str]:
    """The leaderboard rows (github format), without the notes under them."""
    return [line for line in stdout.splitlines() if line.startswith("|")]


def one_line(stderr: str) -> str:
    """The only line of ``stderr`` (a usage error or a failure is one line, never a traceback)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def assert_usage_error(result: subprocess.CompletedProcess) -> None:
    """Exit status 2, nothing done (no output), the reason on the last line (argparse adds its usage)."""
    assert result.returncode == 2, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
    assert "error:" in result.stderr.strip().splitlines()[-1], result.stderr


# 1. Reserved names ------------------------------------------------------------------------------

IMPOSTOR = '''
from ganprint import Attributor, DetectorSpec, hookimpl


class Impostor(Attributor):
    """Says every image is of the first class: far worse numbers than the real knn."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        p = np.zeros((len(X), len(self.classes_)))
        p[:, 0] = 1.0
        return p


@hookimpl{marker}
def ganprint_detectors():
    yield DetectorSpec("knn", Impostor, "an impostor of ganprint's knn")
'''


@pytest.mark.parametrize("entry_point, marker", [("aaa", ""), ("zzz", "(trylast=True)")],
                         ids=["entry-point-sorting-first", "trylast-hookimpl"])
def test_a_third_party_spec_cannot_take_a_builtin_name(folder: Path, tmp_path: Path, entry_point: str,
                                                       marker: str) -> None:
    site = install_plugin(tmp_path / "site", "ganprint_impostor", IMPOSTOR.format(marker=marker),
                          f"{entry_point} = ganprint_impostor")
    listing = run_bench("list", "detectors", pythonpath=site)
    assert listing.returncode == 0, listing.stderr
    knn_line = next(line for line in listing.stdout.splitlines() if line.startswith("knn "))
    assert knn_line.rstrip().endswith("ganprint 0.1.0"), knn_line
    assert (f"{entry_point} (ganprint-impostor) at hook ganprint_detectors: detector name 'knn' is reserved: "
            "ganprint's own plugin 'knn' (ganprint) provides it; this one from plugin "
            f"'{entry_point}' (ganprint-impostor) was refused") in listing.stdout

    genuine = bench_run(folder, tmp_path / "genuine.db", "--plugins", "knn")
    hostile = bench_run(folder, tmp_path / "hostile.db", "--plugins", "knn", pythonpath=site)
    assert genuine.returncode == 0 and hostile.returncode == 0, hostile.stderr
    assert table(hostile.stdout) == table(genuine.stdout)
    with sqlite3.connect(tmp_path / "hostile.db") as db:
        provenance = [json.loads(p) for (p,) in db.execute("SELECT provenance FROM cells")]
    assert [p["distribution"] for p in provenance] == ["ganprint"]


DUPLICATE = '''
from ganprint import DetectorSpec, hookimpl
from ganprint.plugins.knn import KNNAttributor


@hookimpl
def ganprint_detectors():
    yield DetectorSpec("samename", KNNAttributor, "one of two third-party specs named samename")
'''


def test_two_third_party_specs_with_one_name_are_both_refused(folder: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_plugin(site, "ganprint_dup_one", DUPLICATE, "dupone = ganprint_dup_one")
    install_plugin(site, "ganprint_dup_two", DUPLICATE, "duptwo = ganprint_dup_two")
    listing = run_bench("list", "detectors", pythonpath=site)
    assert "samename " not in listing.stdout
    assert listing.stdout.count("duplicate detector name 'samename'") == 2
    result = bench_run(folder, tmp_path / "store.db", "--plugins", "samename", pythonpath=site)
    assert_usage_error(result)
    assert one_line(result.stderr) == (
        "bench: error: detector 'samename' was refused: it is provided by plugin 'dupone' (ganprint-dup-one), "
        "plugin 'duptwo' (ganprint-dup-two), and a name must be unique (`bench list` shows the plugin load "
        "failures)")


# 2. Isolation: sys.exit -------------------------------------------------------------------------

EXIT_AT_IMPORT = '''
import sys
sys.exit(3)
'''

EXIT_IN_HOOK = '''
import sys
from ganprint import hookimpl


@hookimpl
def {hook}():
    sys.exit(4)
'''


@pytest.mark.parametrize("hook", [None, "ganprint_detectors", "ganprint_attacks", "ganprint_datasets",
                                  "ganprint_commands"])
def test_sys_exit_in_a_plugin_is_a_load_failure(folder: Path, tmp_path: Path, hook: str | None) -> None:
    source = EXIT_AT_IMPORT if hook is None else EXIT_IN_HOOK.format(hook=hook)
    site = install_plugin(tmp_path / "site", "ganprint_quitter", source, "quitter = ganprint_quitter")
    listing = run_bench("list", pythonpath=site)
    assert listing.returncode == 0, listing.stderr
    assert "knn" in listing.stdout
    stage = "import: SystemExit: 3" if hook is None else f"hook {hook}: SystemExit: 4"
    assert f"quitter (ganprint-quitter) at {stage}" in listing.stdout
    helped = run_bench("--help", pythonpath=site)
    assert helped.returncode == 0 and "the harness:" in helped.stdout
    result = bench_run(folder, tmp_path / "store.db", "--plugins", "knn", pythonpath=site)
    assert result.returncode == 0, result.stderr
    assert any(line.startswith("| knn") for line in result.stdout.splitlines())


EXITING_METHODS = '''
import sys
from ganprint import AttackSpec, CommandSpec, DetectorSpec, hookimpl
from ganprint.plugins.knn import KNNAttributor


class ExitInFit(KNNAttributor):
    def fit(self, X, y):
        sys.exit(6)


def exit_now(**params):
    sys.exit(0)


def add_arguments(parser):
    sys.exit(0)


@hookimpl
def ganprint_detectors():
    yield DetectorSpec("exitfactory", exit_now, "its factory calls sys.exit(0)")
    yield DetectorSpec("exitfit", ExitInFit, "its fit calls sys.exit(6)")


@hookimpl
def ganprint_attacks():
    yield AttackSpec("exitattack", exit_now, "its factory calls sys.exit(0)")


@hookimpl
def ganprint_commands():
    yield CommandSpec("exitparser", "its add_arguments calls sys.exit(0)", add_arguments, lambda args: 0)
'''


def test_sys_exit_in_a_factory_fit_or_command_is_an_error_never_a_success(folder: Path, tmp_path: Path) -> None:
    site = install_plugin(tmp_path / "site", "ganprint_exiting", EXITING_METHODS, "exiting = ganprint_exiting")
    result = bench_run(folder, tmp_path / "store.db", "--plugins", "knn,exitfactory,exitfit",
                       "--attacks", "none,exitattack", pythonpath=site)
    assert result.returncode == 0, result.stderr
    rows = {line.split("|")[1].strip(): line for line in table(result.stdout)}
    assert "ERR" not in rows["knn"].split("|")[2]  # knn's clean AUC is a number
    assert "ERR" in rows["exitfactory"] and "ERR" in rows["exitfit"]
    assert "ERR exitfit / none: fit failed: SystemExit: 6" in result.stdout
    assert "ERR knn / exitattack: attack exitattack failed: SystemExit: 0" in result.stdout

    exported = run_bench("export", "exitfactory", "--dataset", f"folder:{folder}", "--onnx",
                         str(tmp_path / "m.onnx"), pythonpath=site)
    assert exported.returncode == 1
    assert "SystemExit(0)" in one_line(exported.stderr) and not (tmp_path / "m.onnx").exists()
    parser = run_bench("exitparser", pythonpath=site)
    assert parser.returncode == 1
    assert "could not add its options: SystemExit(0)" in one_line(parser.stderr)


# 3. Cache integrity -----------------------------------------------------------------------------

@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GANPRINT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_zeroed_cached_zoo_dataset_is_reported_and_rebuilt_not_scored(own_cache: Path, tmp_path: Path) -> None:
    args = ("run", "--plugins", "knn", "--dataset", "zoo:smoke", "--store")
    first = run_bench(*args, str(tmp_path / "first.db"))
    assert first.returncode == 0, first.stderr
    (images,) = own_cache.glob("zoo/smoke-architectures-*/images.npy")
    data = bytearray(images.read_bytes())
    data[len(data) // 4: len(data) // 2] = bytes(len(data) // 2 - len(data) // 4)
    images.write_bytes(bytes(data))
    second = run_bench(*args, str(tmp_path / "second.db"))
    assert second.returncode == 0, second.stderr
    assert f"ganprint: cached file {images} does not match its recorded sha256" in second.stderr
    assert second.stderr.count(str(images)) == 1
    assert second.stdout == first.stdout  # the same dataset hash and the same numbers


def _quick_generators(preset, experiment):
    """Untrained generators, the same at every call (a rebuilt entry is then the same dataset)."""
    import torch

    from ganprint.datasets.gan_training import generator_module

    torch.manual_seed(0)
    return {label: generator_module(c).eval() for label, c in preset.experiment(experiment).items()}


@pytest.mark.parametrize("damage", ["truncated images", "broken index", "no digest"])
def test_a_damaged_cache_entry_is_one_line_naming_the_file_then_rebuilt(
        own_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, damage: str) -> None:
    from ganprint.datasets import zoo

    monkeypatch.setattr(zoo, "_generators", _quick_generators)
    clean = zoo.open_zoo("smoke", progress=False).content_hash()
    folder = zoo.build("smoke", progress=False)
    damaged = folder / ("index.json" if damage == "broken index" else "images.npy")
    if damage == "truncated images":
        damaged.write_bytes(damaged.read_bytes()[:1000])
    elif damage == "broken index":
        damaged.write_text('{"labels": [')
    else:
        damaged.with_name(damaged.name + ".sha256").unlink()
    capsys.readouterr()
    assert zoo.open_zoo("smoke", progress=False).content_hash() == clean
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ganprint:")]
    assert line.startswith(f"ganprint: cached file {damaged} ") and line.endswith("building zoo:smoke again")
    assert zoo.open_zoo("smoke", progress=False).content_hash() == clean
    assert "ganprint:" not in capsys.readouterr().err  # rebuilt once, then trusted


def test_a_corrupt_fitted_cache_entry_is_reported_and_refitted(own_cache: Path, capsys: pytest.CaptureFixture) -> None:
    import torch

    from ganprint.fitted_cache import load_fitted, save_fitted

    path = own_cache / "entry.safetensors"
    saved = torch.nn.Linear(3, 2)
    save_fitted(path, {"m": saved}, {"classes": ["a", "b"]})
    path.write_bytes(path.read_bytes()[:-8] + bytes(8))
    fresh = torch.nn.Linear(3, 2)
    before = fresh.weight.clone()
    assert load_fitted(path, {"m": fresh}) is None
    assert torch.equal(fresh.weight, before)
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"ganprint: cached file {path} does not match") and line.endswith("fitting again")


def test_a_cached_file_others_could_change_is_never_used_silently(
        own_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from ganprint.datasets import zoo

    monkeypatch.setattr(zoo, "_generators", _quick_generators)
    folder = zoo.build("smoke", progress=False)
    (folder / "images.npy").chmod(0o666)  # e.g. a cache shared with a group, written with umask 0
    capsys.readouterr()
    zoo.open_zoo("smoke", progress=False)
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"ganprint: note: using cached file {folder / 'images.npy'}, writable by other users")


@pytest.mark.parametrize("damage", ["damaged after it finished", "no digest"])
def test_zoo_install_refuses_finished_weights_that_fail_their_check(own_cache: Path, tmp_path: Path,
                                                                    damage: str) -> None:
    from ganprint.dataset import DatasetError
    from ganprint.datasets.gan_training import generator_module
    from ganprint.datasets.zoo_presets import PRESETS
    from ganprint.datasets.zoo_train import install_finished, train_dir
    from ganprint.training import save_weights

    preset = PRESETS["smoke"]
    config = preset.generators()[0]
    weights = train_dir("smoke") / f"{config.name}.safetensors"
    save_weights(weights, generator_module(config))
    if damage == "damaged after it finished":
        from ganprint.cache import seal

        seal(weights)
        data = bytearray(weights.read_bytes())
        data[-1] ^= 0xFF
        weights.write_bytes(bytes(data))
    (train_dir("smoke") / f"{config.name}.json").write_text(
        json.dumps({"config": config.as_dict(), "iterations": config.iterations}))
    with pytest.raises(DatasetError, match=f"cached file {re.escape(str(weights))} .*not installed; train it again"):
        install_finished(preset, tmp_path / "weights")
    assert not list((tmp_path / "weights").glob("*.safetensors"))


# 4. Skipped images (benchmark side) -------------------------------------------------------------

@pytest.mark.parametrize("jobs", [(), ("--jobs", "2")], ids=["default-jobs", "two-worker-processes"])
def test_a_fully_resumed_run_still_lists_the_skipped_images(tmp_path: Path, jobs: tuple[str, ...]) -> None:
    root = write_folder(tmp_path / "images", n_per_source=10)
    victim = sorted((root / "real").glob("*.png"))[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # header intact, pixels cut
    first = bench_run(root, tmp_path / "store.db", "--plugins", "knn", *jobs)
    assert first.returncode == 0, first.stderr
    note = f"real/{victim.name}: OSError: image file is truncated"
    assert "Skipped images (1):" in first.stdout and note in first.stdout
    resumed = bench_run(root, tmp_path / "store.db", "--plugins", "knn", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == first.stdout


# 5. Outputs -------------------------------------------------------------------------------------

def test_an_interrupted_write_leaves_the_previous_file(folder: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture) -> None:
    from ganprint.benchmark.cli import main

    out = tmp_path / "show"
    out.mkdir()
    (out / "real.png").write_bytes(b"the previous good grid")

    def disk_full(image, fp, *args, **kwargs):
        Path(fp).write_bytes(b"\x89PNG half a fi")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", disk_full)
    assert main(["data", "show", "--dataset", f"folder:{folder}", "--out", str(out)]) == 1
    assert "No space left on device" in one_line(capsys.readouterr().err)
    assert (out / "real.png").read_bytes() == b"the previous good grid"
    assert sorted(p.name for p in out.iterdir()) == ["real.png"]  # no temporary left behind


# Modules whose functions write a command's output files; caches have their own check (item 3).
OUTPUT_MODULES = sorted([*REPO.glob("benchmark/cmd_*.py"), *REPO.glob("plugins/*/commands.py"),
                         *REPO.glob("plugins/*/analysis.py"), *REPO.glob("plugins/*/experiments.py"),
                         *REPO.glob("plugins/*/feature_analysis.py"), *REPO.glob("plugins/stega/report.py"),
                         REPO / "core/sweep.py", REPO / "core/onnx_export.py", REPO / "datasets/grid.py",
                         REPO / "datasets/zoo_commands.py"])
DIRECT_WRITES = {"savefig", "write_text", "write_bytes", "save", "savez", "savez_compressed", "imwrite",
                 "dump", "to_csv", "copyfile", "copytree"}


@pytest.mark.parametrize("module", OUTPUT_MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_output_file_is_written_through_ganprint_atomic(module: Path) -> None:
    offences = []
    for node in ast.walk(ast.parse(module.read_text())):
        if not isinstance(node, ast.Call):
            continue
        method = node.func.attr if isinstance(node.func, ast.Attribute) else None
        mode = next((a.value for a in node.args[1:2] if isinstance(a, ast.Constant)), "")
        opened = getattr(node.func, "id", method) == "open" and isinstance(mode, str) and "w" in mode
        if method in DIRECT_WRITES or opened:
            offences.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
    assert not offences, f"{module.name} writes files directly (use ganprint.atomic): {offences}"


def test_output_paths_are_checked_before_any_work(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "results.json").mkdir(parents=True)
    store = tmp_path / "store.db"
    result = bench_run(folder, store, "--plugins", "knn", "--out", str(out))
    assert result.returncode == 2
    assert one_line(result.stderr) == f"bench: error: --out {out / 'results.json'} is a folder; it must be a file name"
    assert not store.exists() or sqlite3.connect(store).execute("SELECT count(*) FROM cells").fetchone()[0] == 0

    data_home = tmp_path / "data-home"
    (data_home / "ganprint" / "results.sqlite").mkdir(parents=True)
    env = dict(os.environ, XDG_DATA_HOME=str(data_home))
    default = subprocess.run([sys.executable, "-m", "ganprint.benchmark.cli", "run", "--plugins", "knn",
                              "--dataset", f"folder:{folder}"], env=env, capture_output=True, text=True)
    assert default.returncode == 2
    assert "results.sqlite is a folder" in one_line(default.stderr)


# 6. The results store ---------------------------------------------------------------------------

def test_a_file_that_is_not_a_results_store_is_refused_in_one_line(folder: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    result = bench_run(folder, text, "--plugins", "knn")
    assert result.returncode == 2
    assert one_line(result.stderr).startswith(f"bench: error: {text} is not a results store")
    assert text.read_text() == "not a database\n" * 100


def test_a_store_of_a_newer_layout_is_refused_up_front(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    with sqlite3.connect(store) as db:
        db.executescript(SCHEMA)
        db.execute("ALTER TABLE cells ADD COLUMN executor TEXT")
        db.execute("PRAGMA user_version = 2")
    result = bench_run(folder, store, "--plugins", "knn")
    assert result.returncode == 2
    assert one_line(result.stderr) == (f"bench: error: results store {store} has layout version 2, newer than "
                                       "this ganprint reads (1): upgrade ganprint, or give another --store")


def test_a_store_written_before_the_version_was_recorded_is_migrated(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    first = bench_run(folder, store, "--plugins", "knn")
    assert first.returncode == 0, first.stderr
    with sqlite3.connect(store) as db:  # as ganprint wrote it before it recorded a version
        db.execute("PRAGMA user_version = 0")
        (run_id,) = db.execute("SELECT run_id FROM cells").fetchone()
    resumed = bench_run(folder, store, "--plugins", "knn", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert table(resumed.stdout) == table(first.stdout)
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (1,)
        assert db.execute("SELECT run_id FROM cells").fetchall() == [(run_id,)]  # resumed, not recomputed


HOLD_LOCK = '''
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("COMMIT")
'''


def test_a_writer_waits_for_another_process_holding_the_store_lock(folder: Path, tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    assert bench_run(folder, store, "--plugins", "eigenface").returncode == 0  # the store exists, in WAL mode
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(store)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    bench = None
    try:
        assert holder.stdout.readline().strip() == "locked"
        bench = subprocess.Popen([sys.executable, "-m", "ganprint.benchmark.cli", "run", "--dataset",
                                  f"folder:{folder}", "--store", str(store), "--plugins", "knn"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        waiting = f"bench: results store {store} is locked by another process; still waiting to write knn / none"
        seen = []
        for line in bench.stderr:  # sqlite3's own default gave up after 5 s: a traceback, the cell lost
            seen.append(line)
            if line.startswith(waiting):
                break
        assert seen and seen[-1].startswith(waiting), "".join(seen)
    finally:
        holder.communicate("release\n", timeout=60)
        if bench is not None:
            out, err = bench.communicate(timeout=300)
    assert bench.returncode == 0, err
    assert "| knn" in out
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM cells WHERE detector = 'knn' AND status = 'ok'").fetchone() == (1,)


# 7. Option values -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["sweep", "--plugins", "knn", "--attack", "jpeg", "--strengths", "50", "--metric", "detection.nope"],
    ["cnn", "--baselines", "knn,nosuchdetector"],
    ["prnu", "analyse", "--pair", "real,nosuchsource"],
    ["stega", "recipe", "--gan-ema", "1.5"],
    ["stega", "recipe", "--gan-ema", "1"],
    ["stega", "recipe", "--family", "nosuchgan"],
    ["stega", "recipe", "--crop-centre"],
], ids=lambda argv: " ".join(argv))
def test_bad_option_values_are_usage_errors_before_any_work(folder: Path, tmp_path: Path, argv: list[str]) -> None:
    out = tmp_path / "out"
    if argv[0] in ("sweep", "cnn", "prnu"):
        argv = argv + ["--dataset", f"folder:{folder}", "--out", str(out)]
    result = run_bench(*argv, timeout=90)
    assert_usage_error(result)
    assert not out.exists() or not any(out.iterdir())
