"""The task graph on a Ray cluster (``bench run --executor ray [--ray-address ADDRESS]``).

Ray schedules: every task is a Ray task that asks for ``threads`` CPUs (and a GPU for a neural
task when the cluster has GPUs), and its dependencies are passed as object references, so a
fine-tune starts where its clean fit finished without the driver in between. A worker process
that dies mid-task is retried by Ray (bounded); after that its outcome is the error. The driver
alone writes the results store, as outcomes arrive. Ray is an optional dependency
(``pip install "ganprint[ray]"``).
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Callable, Iterator, Sequence

from ganprint.benchmark.executors import (
    WORKER_DEATHS_ALLOWED,
    Executor,
    Ref,
    RunContext,
    Task,
    TaskGraph,
    execute,
)
from ganprint.benchmark.outcome import Outcome

INSTALL = 'pip install "ganprint[ray]"'


class RayMissing(ImportError):
    """Ray is not installed."""


def _run_on_worker(fn: Callable[..., Any], context: RunContext, args: tuple, kwargs: dict,
                   dependency_ids: list[str], *dependencies: Outcome) -> Outcome:
    """A Ray task: the dependencies' outcomes arrive resolved; a failed one is passed on."""
    import os

    os.environ["TQDM_DISABLE"] = "1"
    results = dict(zip(dependency_ids, dependencies))
    for task_id, outcome in results.items():
        if not outcome.ok:
            return Outcome(error=outcome.error, traceback=outcome.traceback, cause=task_id)
    value = lambda v: results[v.task].value if isinstance(v, Ref) else v  # noqa: E731
    return execute(fn, context, tuple(value(a) for a in args), {k: value(v) for k, v in kwargs.items()})


class RayExecutor(Executor):
    """Runs the graph on the Ray cluster at ``address``, or on a Ray instance it starts here."""

    name = "ray"

    def __init__(self, address: str | None = None) -> None:
        super().__init__()
        try:
            import ray
        except ImportError as error:
            raise RayMissing(f"--executor ray needs Ray: {INSTALL}") from error
        self._ray = ray
        self._address = address
        self._started = False
        self._remote = ray.remote(_run_on_worker)

    def _connect(self) -> None:
        """Join the cluster (or start a Ray instance here) on first use."""
        if not self._ray.is_initialized():
            self._ray.init(address=self._address, include_dashboard=False, log_to_driver=False,
                           runtime_env={"env_vars": {"TQDM_DISABLE": "1"}})
            self._started = True

    def run(self, tasks: Sequence[Task], context: RunContext) -> Iterator[tuple[Task, Outcome]]:
        ray = self._ray
        TaskGraph(tasks)  # validates the dependencies
        self._connect()
        shipped = ray.put(context if context.dataset_spec is None else replace(context, dataset=None))
        gpus = ray.cluster_resources().get("GPU", 0) > 0
        refs: dict[str, Any] = {}
        for task in _topological(tasks):
            deps = task.dependencies
            options = dict(num_cpus=context.threads, num_gpus=1 if gpus and task.neural else 0,
                           max_retries=WORKER_DEATHS_ALLOWED, retry_exceptions=False,
                           name=(task.label or task.id)[:100])
            refs[task.id] = self._remote.options(**options).remote(
                task.fn, shipped, task.args, task.kwargs, deps, *[refs[d] for d in deps])
        by_ref = {ref: task_id for task_id, ref in refs.items()}
        tasks_by_id = {t.id: t for t in tasks}
        outcomes: dict[str, Outcome] = {}
        pending = list(refs.values())
        while pending:
            self.running = [tasks_by_id[by_ref[r]].label for r in pending[:4]]
            done, pending = ray.wait(pending, num_returns=1)
            task = tasks_by_id[by_ref[done[0]]]
            yield task, self._outcome(task, refs, tasks_by_id, outcomes)
        self.running = []

    def _outcome(self, task: Task, refs: dict[str, Any], tasks: dict[str, Task],
                 outcomes: dict[str, Outcome]) -> Outcome:
        """The task's outcome; a Ray error (a worker that died for good) becomes an error outcome,
        or, when a dependency failed that way first, repeats that dependency's error."""
        if task.id in outcomes:
            return outcomes[task.id]
        try:
            outcome = self._ray.get(refs[task.id])
        except self._ray.exceptions.RayError as error:
            outcome = Outcome(error=_describe(error))
            for dep in task.dependencies:
                failed = self._outcome(tasks[dep], refs, tasks, outcomes)
                if not failed.ok:
                    outcome = Outcome(error=failed.error, traceback=failed.traceback, cause=dep)
                    break
        outcomes[task.id] = outcome
        return outcome

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False


def _describe(error: BaseException) -> str:
    """One line for a Ray error: a worker lost for good, or the error a task could not catch
    itself (e.g. its function could not be loaded on the worker)."""
    died = ("WorkerCrashedError", "NodeDiedError", "OutOfMemoryError", "ActorDiedError")
    kind = type(error).__name__
    if kind in died:
        return (f"WorkerDied: the Ray worker running it died {WORKER_DEATHS_ALLOWED + 1} times "
                f"({kind}: killed, out of memory or its node was lost)")
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException) and cause is not error:
        return _describe(cause)
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line).strip() for line in str(error).splitlines()]
    meaningful = [line for line in lines if line and not line.startswith(("ray::", "Traceback", "^"))]
    return f"{kind}: {meaningful[-1]}" if meaningful else kind


def _topological(tasks: Sequence[Task]) -> list[Task]:
    """The tasks with every dependency before its dependents, otherwise in the order given."""
    by_id = {t.id: t for t in tasks}
    seen: set[str] = set()
    order: list[Task] = []

    def visit(task: Task) -> None:
        if task.id in seen:
            return
        seen.add(task.id)
        for dep in task.dependencies:
            visit(by_id[dep])
        order.append(task)

    for task in tasks:
        visit(task)
    return order
