"""Where the runner's work units run: :class:`LocalExecutor` (this process, one task at a time),
:class:`ProcessExecutor` (``--jobs N`` worker processes on this machine) and
:class:`~ganprint.benchmark.ray_executor.RayExecutor` (a Ray cluster). The runner does not know
which one it has.

A run is a graph of :class:`Task` records. A task calls a module-level function with the run's
dataset as its first argument; :class:`Ref` placeholders among its arguments stand for the results
of the tasks it depends on. :meth:`Executor.run` yields every task with its :class:`Outcome` as it
finishes; a task whose dependency failed is not run, and its outcome names that dependency.

Each task runs with ``threads`` torch and BLAS threads whatever the number of jobs, so a run gives
the same numbers with ``--jobs 1`` and ``--jobs N``: a different thread count splits floating-point
sums differently and changes the last digits of a neural fit, and then possibly its early stop.
Worker processes open the dataset from its spec string and check its content hash against the
driver's (:func:`resolve_dataset`); a dataset without a spec (built in memory) is sent to them.
"""
from __future__ import annotations

import os
import pickle
import socket
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Sequence

from ganprint.benchmark.outcome import Outcome
from ganprint.processes import spawn_pool
from ganprint.dataset import Dataset

WORKER_DEATHS_ALLOWED = 1  # a task in flight when a worker process dies is tried once more


@dataclass(frozen=True)
class Ref:
    """Stands, among a task's arguments, for the result of the task ``task``."""

    task: str


@dataclass
class Task:
    """One work unit: ``fn(dataset, *args, **kwargs)`` with :class:`Ref` arguments resolved.

    ``fn`` must be a module-level function (worker processes import it by name). ``neural``
    marks a task that trains or runs a network (a Ray cluster with GPUs gives it one).
    """

    id: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    neural: bool = False

    @property
    def dependencies(self) -> list[str]:
        values = list(self.args) + list(self.kwargs.values())
        return list(dict.fromkeys(v.task for v in values if isinstance(v, Ref)))


@dataclass(frozen=True)
class RunContext:
    """What every task needs besides its arguments: the dataset (by spec, with the content hash
    the driver saw, or the object itself) and the threads a task may use."""

    dataset_hash: str
    dataset_spec: str | None = None
    dataset: Dataset | None = None
    threads: int = 1


class DatasetMismatch(RuntimeError):
    """A worker opened the run's dataset and found other content than the driver."""


_OPENED: dict[tuple[str, str], Dataset] = {}


def resolve_dataset(context: RunContext) -> Dataset:
    """The run's dataset in this process: the object sent with the context, or the one its spec
    opens here (once per process), refused when its content hash is not the driver's."""
    if context.dataset is not None:
        return context.dataset
    if context.dataset_spec is None:
        raise ValueError("the run context has neither a dataset nor a dataset spec")
    key = (context.dataset_spec, context.dataset_hash)
    if key not in _OPENED:
        from ganprint.registry import load_registry

        dataset = load_registry().open_dataset(context.dataset_spec)
        seen = dataset.content_hash()
        if seen != context.dataset_hash:
            raise DatasetMismatch(
                f"worker {socket.gethostname()} (pid {os.getpid()}) sees dataset {context.dataset_spec!r} with "
                f"content hash {seen}, the driver {context.dataset_hash}: the copies differ")
        _OPENED[key] = dataset
    return _OPENED[key]


def execute(fn: Callable[..., Any], context: RunContext, args: Sequence[Any], kwargs: dict[str, Any]) -> Outcome:
    """Run one task here, within the context's thread limit; its error becomes the outcome, and
    the images its dataset could not read go with it."""
    opened: list[Dataset] = []

    def call() -> Any:
        from threadpoolctl import threadpool_limits

        from ganprint.training import torch_threads

        opened.append(resolve_dataset(context))
        with torch_threads(context.threads), threadpool_limits(limits=context.threads):
            return fn(opened[0], *args, **kwargs)

    outcome = Outcome.of(call)
    if opened:
        outcome.skipped = [(s.id, s.reason) for s in getattr(opened[0], "skipped", ())]
    return outcome


class TaskGraph:
    """Dependency bookkeeping shared by the executors: which tasks are ready, which are skipped
    because a dependency failed, which are skipped because every task that needed them was (the
    open-world fit of a detector whose closed-world fit failed), and the results still needed by a
    task not yet run."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.tasks = {t.id: t for t in tasks}
        if len(self.tasks) != len(tasks):
            raise ValueError("task ids must be unique")
        self.order = {t.id: i for i, t in enumerate(tasks)}
        self.waiting = {t.id: set(t.dependencies) for t in tasks}
        for task_id, deps in self.waiting.items():
            unknown = deps - set(self.tasks)
            if unknown:
                raise ValueError(f"task {task_id!r} depends on unknown tasks {sorted(unknown)}")
        self.dependents: dict[str, list[str]] = {t.id: [] for t in tasks}
        for t in tasks:
            for dep in t.dependencies:
                self.dependents[dep].append(t.id)
        self.outcomes: dict[str, Outcome] = {}
        self.started: set[str] = set()

    def ready(self) -> list[Task]:
        """Tasks not started whose dependencies all succeeded, in the order they were given."""
        return [self.tasks[i] for i in sorted(self.waiting, key=self.order.get)
                if not self.waiting[i] and i not in self.started]

    def start(self, task: Task) -> None:
        self.started.add(task.id)

    def unstart(self, task: Task) -> None:
        self.started.discard(task.id)

    def arguments(self, task: Task) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The task's arguments with each :class:`Ref` replaced by that dependency's result."""
        value = lambda v: self.outcomes[v.task].value if isinstance(v, Ref) else v  # noqa: E731
        return tuple(value(a) for a in task.args), {k: value(v) for k, v in task.kwargs.items()}

    def complete(self, task: Task, outcome: Outcome) -> list[tuple[Task, Outcome]]:
        """Record ``outcome``; return it with the outcomes of tasks skipped because of it."""
        finished = [(task, outcome)]
        self.outcomes[task.id] = outcome
        self.waiting.pop(task.id, None)
        self.started.discard(task.id)
        for dependent in self.dependents[task.id]:
            if dependent not in self.waiting:
                continue
            if outcome.ok:
                self.waiting[dependent].discard(task.id)
            else:
                skipped = Outcome(error=outcome.error, traceback=outcome.traceback, cause=task.id)
                finished += self.complete(self.tasks[dependent], skipped)
        if not outcome.ok:  # a dependency not started that no task needs any longer is not run
            for dep in task.dependencies:
                if (dep in self.waiting and dep not in self.started
                        and all(d not in self.waiting for d in self.dependents[dep])):
                    unneeded = Outcome(error=outcome.error, traceback=outcome.traceback,
                                       cause=outcome.cause or task.id)
                    finished += self.complete(self.tasks[dep], unneeded)
        for dep in task.dependencies:  # a result no task still needs is let go
            if dep in self.outcomes and all(d not in self.waiting for d in self.dependents[dep]):
                self.outcomes[dep] = replace(self.outcomes[dep], value=None)
        return finished

    @property
    def done(self) -> bool:
        return not self.waiting


class Executor(ABC):
    """Runs a task graph; ``running`` lists the labels of the tasks in progress."""

    name = "executor"

    def __init__(self) -> None:
        self.running: list[str] = []

    @abstractmethod
    def run(self, tasks: Sequence[Task], context: RunContext) -> Iterator[tuple[Task, Outcome]]:
        """Yield each task with its outcome as it finishes (skipped tasks included)."""

    def close(self) -> None:
        """Release workers (the default holds none)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalExecutor(Executor):
    """Every task in this process, one after another, in the order given.

    A result another task uses is passed on as a copy made by pickling, as it would reach a
    worker process: pickling turns a non-contiguous array into a contiguous one, and BLAS rounds
    the two differently, so without this a fitted model scored in this process and in a worker
    would differ in the last digits."""

    name = "local"

    def run(self, tasks: Sequence[Task], context: RunContext) -> Iterator[tuple[Task, Outcome]]:
        graph = TaskGraph(tasks)
        while not graph.done:
            task = graph.ready()[0]
            graph.start(task)
            self.running = [task.label]
            args, kwargs = graph.arguments(task)
            outcome = execute(task.fn, context, args, kwargs)
            if outcome.ok and graph.dependents[task.id]:
                outcome.value = _as_sent(outcome.value)
            self.running = []
            yield from graph.complete(task, outcome)


def _as_sent(value: Any) -> Any:
    """``value`` as another process would receive it (itself, if it cannot be pickled)."""
    try:
        return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - such a value could only be used in this process anyway
        return value


def _init_worker(threads: int) -> None:
    """A worker process: no progress bars of its own and ``threads`` for every library (it ends
    with its driver: ``ganprint.processes``)."""
    os.environ["TQDM_DISABLE"] = "1"
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)


class ProcessExecutor(Executor):
    """Up to ``jobs`` tasks at once, each in a worker process of this machine (spawned, so no
    state is inherited). A task in flight when a worker dies (killed, out of memory) is run once
    more in a new pool; if its worker dies again its outcome is that error."""

    name = "process"

    def __init__(self, jobs: int) -> None:
        super().__init__()
        if jobs < 1:
            raise ValueError(f"jobs must be at least 1; got {jobs}")
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None
        self._threads = 1

    def _new_pool(self) -> ProcessPoolExecutor:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = spawn_pool(self.jobs, _init_worker, (self._threads,))
        return self._pool

    def run(self, tasks: Sequence[Task], context: RunContext) -> Iterator[tuple[Task, Outcome]]:
        shipped = context if context.dataset_spec is None else replace(context, dataset=None)
        self._threads = context.threads
        graph = TaskGraph(tasks)
        pool = self._pool or self._new_pool()
        in_flight: dict[Future, Task] = {}
        deaths: dict[str, int] = {}
        while not graph.done:
            for task in self._next(graph.ready(), in_flight, deaths):
                graph.start(task)
                args, kwargs = graph.arguments(task)
                in_flight[pool.submit(execute, task.fn, shipped, args, kwargs)] = task
            if not in_flight:
                raise RuntimeError("no task can start: the task graph has a cycle")
            self.running = [t.label for t in in_flight.values()]
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = False
            for future in finished:
                task = in_flight.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken = True
                    in_flight[future] = task
                    continue
                except BaseException as error:  # noqa: BLE001 - e.g. a result that cannot be sent back
                    outcome = Outcome(error=f"{type(error).__name__}: {error} (a fitted detector must be "
                                            "picklable to move between worker processes; --jobs 1 runs "
                                            "everything in one process)")
                yield from graph.complete(task, outcome)
            if broken:
                for task in in_flight.values():
                    deaths[task.id] = deaths.get(task.id, 0) + 1
                    if deaths[task.id] > WORKER_DEATHS_ALLOWED:
                        message = (f"WorkerDied: the worker process running {task.label or task.id} died "
                                   f"{deaths[task.id]} times (killed, or out of memory)")
                        yield from graph.complete(task, Outcome(error=message))
                    else:
                        graph.unstart(task)
                in_flight.clear()
                pool = self._new_pool()
        self.running = []

    def _next(self, ready: list[Task], in_flight: dict[Future, Task], deaths: dict[str, int]) -> list[Task]:
        """The tasks to submit now: up to ``jobs`` in flight; a task whose worker died before runs
        alone, so that a second death is its own and not a neighbour's."""
        if any(deaths.get(t.id) for t in in_flight.values()):
            return []
        suspects = [t for t in ready if deaths.get(t.id)]
        if suspects:
            return suspects[:1] if not in_flight else []
        return ready[: self.jobs - len(in_flight)]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def available_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def add_executor_arguments(parser: Any) -> None:
    """``--jobs``, ``--threads``, ``--executor`` and ``--ray-address`` (bench run, bench sweep)."""
    from ganprint.commands import positive_int

    parser.add_argument("--jobs", type=positive_int, default=available_cores(),
                        help="fits and evaluations run at once, each in its own process (default: the cores available)")
    parser.add_argument("--threads", type=positive_int, default=1,
                        help="torch and BLAS threads of each job; the numbers are the same for any --jobs")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="where jobs run: this machine, or a Ray cluster")
    parser.add_argument("--ray-address", default=None,
                        help="join this Ray cluster, e.g. HOST:6379 (default: start a Ray instance here)")


def make_executor(name: str, jobs: int, ray_address: str | None = None) -> Executor:
    """The executor ``bench run --executor NAME --jobs N`` asks for."""
    if name == "local":
        return LocalExecutor() if jobs == 1 else ProcessExecutor(jobs)
    if name == "ray":
        from ganprint.benchmark.ray_executor import RayExecutor, RayMissing
        from ganprint.commands import UsageError

        try:
            return RayExecutor(address=ray_address)
        except RayMissing as error:
            raise UsageError(str(error)) from None
    raise ValueError(f"unknown executor {name!r}; use local or ray")


def dataset_spec_for_workers(text: str) -> str:
    """The dataset spec with a relative ``folder:`` or ``manifest:`` path made absolute, so a
    worker started in another directory (a Ray node) opens the same files."""
    kind, sep, rest = text.partition(":")
    if kind not in ("folder", "manifest") or not sep or not rest:
        return text
    path, sep, options = rest.partition(":")
    return f"{kind}:{os.path.abspath(os.path.expanduser(path))}{sep}{options}"
