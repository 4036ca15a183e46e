"""Executors: the task graph, worker processes (`--jobs`), and a run's numbers being the same
whatever runs it."""
from __future__ import annotations

import multiprocessing
import os
import signal
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganprint import DetectorSpec, hookimpl
from ganprint.benchmark.executors import (
    LocalExecutor,
    ProcessExecutor,
    Ref,
    RunContext,
    Task,
    TaskGraph,
)
from ganprint.benchmark.outcome import Outcome
from ganprint.benchmark.runner import run_benchmark
from ganprint.benchmark.store import ResultStore
from ganprint.plugins.cnn.attributor import CNNAttributor
from ganprint.plugins.knn import KNNAttributor
from ganprint.registry import load_registry

from conftest import write_folder


def add(dataset, a, b):
    return a + b


def fail(dataset, message):
    raise RuntimeError(message)


def die_in_a_worker(dataset):
    if multiprocessing.parent_process() is not None:
        os.kill(os.getpid(), signal.SIGKILL)
    return "survived"


def graph_tasks() -> list[Task]:
    return [Task("a", add, (1, 2)), Task("b", add, (Ref("a"), 10)), Task("bad", fail, ("no",)),
            Task("after-bad", add, (Ref("bad"), 1)), Task("after-both", add, (Ref("b"), Ref("after-bad"))),
            Task("after-b", add, (Ref("b"), 100))]


def test_task_graph_runs_dependencies_first_and_skips_what_a_failure_blocks() -> None:
    outcomes = {task.id: outcome for task, outcome in LocalExecutor().run(graph_tasks(), RunContext("-", dataset=[]))}
    assert outcomes["b"].value == 13
    assert outcomes["bad"].error == "RuntimeError: no" and outcomes["bad"].cause is None
    assert outcomes["after-bad"].cause == "bad" and outcomes["after-bad"].error == "RuntimeError: no"
    assert outcomes["after-both"].cause == "after-bad"


def test_a_task_whose_every_dependent_was_skipped_is_not_run() -> None:
    """A closed-world fit fails: the calibration needing it is skipped, and so is the open-world
    fit that only that calibration needed; a task another live task needs still runs."""
    called: list[str] = []

    def fit(dataset, name):
        called.append(name)
        return name

    tasks = [Task("closed", fail, ("diverged",)), Task("open", fit, ("open",)), Task("other", fit, ("other",)),
             Task("calibrate", add, (Ref("closed"), Ref("open"))), Task("use-other", add, (Ref("other"), "!"))]
    outcomes = {task.id: outcome for task, outcome in LocalExecutor().run(tasks, RunContext("-", dataset=[]))}
    assert called == ["other"]
    assert outcomes["open"].cause == "closed" and outcomes["open"].error == "RuntimeError: diverged"
    assert outcomes["calibrate"].cause == "closed"
    assert outcomes["use-other"].value == "other!"
    assert set(outcomes) == {t.id for t in tasks}


def test_a_started_task_is_not_skipped_when_its_dependents_are() -> None:
    graph = TaskGraph([Task("closed", fail, ("x",)), Task("open", add, (1, 2)),
                       Task("calibrate", add, (Ref("closed"), Ref("open")))])
    graph.start(graph.tasks["closed"])
    graph.start(graph.tasks["open"])  # in flight in another worker
    finished = graph.complete(graph.tasks["closed"], Outcome(error="RuntimeError: x"))
    assert [t.id for t, _ in finished] == ["closed", "calibrate"]
    assert not graph.done
    assert [t.id for t, _ in graph.complete(graph.tasks["open"], Outcome(value=3))] == ["open"]
    assert graph.done


def test_task_graph_lets_go_of_results_no_task_needs() -> None:
    graph = TaskGraph([Task("a", add, (1, 2)), Task("b", add, (Ref("a"), 1))])
    graph.complete(graph.tasks["a"], Outcome(value=3))
    assert graph.arguments(graph.tasks["b"]) == ((3, 1), {})
    graph.complete(graph.tasks["b"], Outcome(value=4))
    assert graph.outcomes["a"].value is None and graph.outcomes["b"].value == 4


def test_task_graph_refuses_unknown_dependencies() -> None:
    with pytest.raises(ValueError, match="unknown tasks"):
        TaskGraph([Task("b", add, (Ref("nowhere"), 1))])


def test_process_executor_runs_the_graph_in_workers() -> None:
    with ProcessExecutor(2) as executor:
        outcomes = {t.id: o for t, o in executor.run(graph_tasks(), RunContext("-", dataset=[]))}
    assert outcomes["b"].value == 13 and outcomes["after-b"].value == 113
    assert outcomes["after-both"].cause == "after-bad"


def test_a_killed_worker_is_retried_alone_then_reported() -> None:
    tasks = [Task("killer", die_in_a_worker, label="killer"), Task("other", add, (2, 3))]
    with ProcessExecutor(2) as executor:
        outcomes = {t.id: o for t, o in executor.run(tasks, RunContext("-", dataset=[]))}
    assert outcomes["other"].value == 5
    assert outcomes["killer"].error.startswith("WorkerDied: the worker process running killer died 2 times")


class Dies(KNNAttributor):
    def fit(self, X, y):
        die_in_a_worker(None)
        return super().fit(X, y)


class TinyPlugin:
    @hookimpl
    def ganprint_detectors(self):
        yield DetectorSpec("tinycnn", partial(CNNAttributor, width=4, max_epochs=4, cache=False, progress=False),
                           "a small cnn")
        yield DetectorSpec("dies", Dies, "kills its worker")


def rows_of(store_path: Path, cells) -> dict:
    with ResultStore(store_path) as store:
        return {(c.detector, c.attack, c.immunized): (c.status, c.metrics, list(store.predictions(c.key)))
                for c in cells}


@pytest.mark.parametrize("plugins", ["knn,eigenface,prnu,tinycnn"])
def test_jobs_give_the_same_cells_as_one_process(tmp_path: Path, plugins: str) -> None:
    registry = load_registry(modules=[("tiny", TinyPlugin())])
    dataset = registry.open_dataset("zoo:smoke")
    results = {}
    for name, executor in (("local", LocalExecutor()), ("jobs", ProcessExecutor(2))):
        with executor, ResultStore(tmp_path / f"{name}.db") as store:
            result = run_benchmark(registry, dataset, plugins=plugins, attacks="none,jpeg", immunize=True,
                                   store=store, progress=False, executor=executor, dataset_spec="zoo:smoke")
        assert all(c.ok for c in result.cells), [c.error for c in result.cells]
        results[name] = rows_of(tmp_path / f"{name}.db", result.cells)
        results[name + " order"] = [(c.detector, c.attack, c.immunized) for c in result.cells]
    assert results["local order"] == results["jobs order"]
    assert results["local"] == results["jobs"]


def test_a_killed_fit_is_an_err_cell_and_the_run_goes_on(tmp_path: Path) -> None:
    registry = load_registry(modules=[("tiny", TinyPlugin())])
    dataset = registry.open_dataset("zoo:smoke")
    with ProcessExecutor(2) as executor, ResultStore(tmp_path / "s.db") as store:
        result = run_benchmark(registry, dataset, plugins="dies,knn", store=store, progress=False,
                               executor=executor, dataset_spec="zoo:smoke")
    by_name = {c.detector: c for c in result.cells}
    assert by_name["knn"].ok
    assert by_name["dies"].error.startswith("fit failed: WorkerDied")


def test_a_worker_that_sees_other_data_gives_err_cells(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "images", n_per_source=8, size=16)
    registry = load_registry()
    dataset = registry.open_dataset(f"folder:{folder}")
    dataset.content_hash()
    image = np.zeros((16, 16, 3), dtype=np.uint8)
    Image.fromarray(image).save(folder / "real" / "extra.png")  # the copy workers open differs
    with ProcessExecutor(1) as executor, ResultStore(tmp_path / "s.db") as store:
        result = run_benchmark(registry, dataset, plugins="knn", store=store, progress=False,
                               executor=executor, dataset_spec=f"folder:{folder}")
    assert all(not c.ok for c in result.cells)
    assert "DatasetMismatch" in result.cells[0].error and "the copies differ" in result.cells[0].error


def test_executor_ray_without_ray_is_exit_2_with_the_install_line(tmp_path: Path) -> None:
    from conftest import run_bench

    hidden = tmp_path / "no-ray"
    (hidden / "ray").mkdir(parents=True)
    (hidden / "ray" / "__init__.py").write_text("raise ImportError('No module named ray (hidden by the test)')\n")
    folder = write_folder(tmp_path / "images", n_per_source=4)
    result = run_bench("run", "--plugins", "knn", "--dataset", f"folder:{folder}", "--executor", "ray",
                       "--store", str(tmp_path / "r.db"), pythonpath=hidden, timeout=120)
    assert result.returncode == 2, result.stderr
    assert 'pip install "ganprint[ray]"' in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
