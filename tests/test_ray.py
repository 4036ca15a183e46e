"""`--executor ray` on a real two-node Ray cluster started on this machine: the same cells as one
process, a killed worker retried, a node that sees other data reported."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganprint.benchmark.executors import LocalExecutor, RunContext, Task
from ganprint.benchmark.runner import run_benchmark
from ganprint.benchmark.store import ResultStore
from ganprint.registry import load_registry

from conftest import run_bench, write_folder
from test_executors import TinyPlugin, rows_of

ray = pytest.importorskip("ray", reason="Ray is the optional extra ganprint[ray], part of ganprint[test]")
from ray.cluster_utils import Cluster  # noqa: E402

from ganprint.benchmark.ray_executor import RayExecutor  # noqa: E402


def die_once(dataset, marker: str) -> str:
    """Kills its own worker process the first time it runs, then succeeds."""
    if not os.path.exists(marker):
        Path(marker).write_text("died once")
        os.kill(os.getpid(), signal.SIGKILL)
    return "second attempt"


def die_always(dataset) -> str:
    os.kill(os.getpid(), signal.SIGKILL)
    return "never"


@pytest.fixture(scope="module")
def cluster():
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cloudpickle.register_pickle_by_value(sys.modules["test_executors"])
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def test_two_nodes_are_up(cluster) -> None:
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2


def test_ray_gives_the_same_cells_as_one_process(cluster, tmp_path: Path) -> None:
    registry = load_registry(modules=[("tiny", TinyPlugin())])
    dataset = registry.open_dataset("zoo:smoke")
    results = {}
    for name, executor in (("local", LocalExecutor()), ("ray", RayExecutor(address=cluster.address))):
        with executor, ResultStore(tmp_path / f"{name}.db") as store:
            result = run_benchmark(registry, dataset, plugins="knn,prnu,tinycnn", attacks="none,jpeg",
                                   immunize=True, store=store, progress=False, executor=executor,
                                   dataset_spec="zoo:smoke")
        assert all(c.ok for c in result.cells), [c.error for c in result.cells]
        results[name] = rows_of(tmp_path / f"{name}.db", result.cells)
        results[name + " keys"] = [c.key for c in result.cells]
    assert results["local keys"] == results["ray keys"]
    assert results["local"] == results["ray"]


def test_a_killed_worker_is_retried_by_ray_then_reported(cluster, tmp_path: Path) -> None:
    tasks = [Task("flaky", die_once, (str(tmp_path / "marker"),), label="flaky"),
             Task("doomed", die_always, label="doomed")]
    with RayExecutor(address=cluster.address) as executor:
        outcomes = {t.id: o for t, o in executor.run(tasks, RunContext("-", dataset=[]))}
    assert (tmp_path / "marker").exists()
    assert outcomes["flaky"].value == "second attempt"
    assert outcomes["doomed"].error.startswith("WorkerDied: the Ray worker running it died 2 times")


def test_a_node_that_sees_other_data_gives_err_cells(cluster, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "images", n_per_source=8, size=16)
    registry = load_registry()
    dataset = registry.open_dataset(f"folder:{folder}")
    dataset.content_hash()
    Image.fromarray(np.zeros((16, 16, 3), dtype=np.uint8)).save(folder / "real" / "extra.png")
    with RayExecutor(address=cluster.address) as executor, ResultStore(tmp_path / "s.db") as store:
        result = run_benchmark(registry, dataset, plugins="knn", store=store, progress=False,
                               executor=executor, dataset_spec=f"folder:{folder}")
    assert result.cells and all(not c.ok for c in result.cells)
    assert "DatasetMismatch" in result.cells[0].error and "the copies differ" in result.cells[0].error


def test_bench_run_joins_the_cluster(cluster, tmp_path: Path) -> None:
    result = run_bench("run", "--executor", "ray", "--ray-address", cluster.address, "--dataset", "zoo:smoke",
                       "--plugins", "knn", "--store", str(tmp_path / "s.db"), timeout=240)
    assert result.returncode == 0, result.stderr
    assert "| knn " in result.stdout
