"""Worker processes: every pool of the package is spawned here, and each of its workers ends when
the process that started it ends.

A spawned worker waits for work for as long as its pool exists; when the driver is killed
(SIGTERM or SIGKILL to it alone, out of memory) the pool is never shut down, and its workers would
go on with the task in hand (hours of GAN training, a fit) and then wait, holding their memory and
writing to the cache beside the next run. Here each worker watches its parent's sentinel from a
daemon thread and exits at once when it is gone.
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable


def spawn_pool(workers: int, initializer: Callable[..., Any] | None = None, initargs: tuple = ()
               ) -> ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes (no fork of a threaded parent), each running
    ``initializer(*initargs)`` first and ending with its parent."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker, initargs=(initializer, initargs))


def _start_worker(initializer: Callable[..., Any] | None, initargs: tuple) -> None:
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent.sentinel,), daemon=True,
                         name="exit-with-parent").start()
    if initializer is not None:
        initializer(*initargs)


def _exit_with_parent(sentinel: int) -> None:
    """Wait until the parent process has ended, then end this one at once."""
    multiprocessing.connection.wait([sentinel])
    os._exit(1)
