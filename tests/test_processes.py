"""Worker pools (ganprint.processes): a worker ends when the process that started it is killed,
and every pool of the package comes from there."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import ganprint

DRIVER = """
import os, sys, time
from ganprint.processes import spawn_pool
pool = spawn_pool(1)
print(pool.submit(os.getpid).result(), flush=True)
pool.submit(time.sleep, 120)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_a_worker_ends_when_its_driver_is_killed() -> None:
    """SIGKILL to the driver alone (no shutdown, no signal to the group): its worker, in the middle
    of a two-minute task, is gone within seconds."""
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, text=True)
    worker = None
    try:
        worker = int(driver.stdout.readline())
        assert worker != driver.pid and _alive(worker)
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
        deadline = time.monotonic() + 20
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker)
    finally:
        driver.kill()
        if worker is not None and _alive(worker):
            os.kill(worker, signal.SIGKILL)  # a failing run leaves no orphan behind


def test_every_pool_of_the_package_is_a_spawn_pool() -> None:
    """No module but ganprint.processes builds a process pool itself (its workers would outlive
    a killed driver)."""
    root = Path(ganprint.__file__).resolve().parent.parent
    sources = [path for folder in ("core", "benchmark", "datasets", "plugins") for path in (root / folder).rglob("*.py")]
    assert len(sources) > 50
    builders = sorted(str(path.relative_to(root)) for path in sources
                      if re.search(r"ProcessPoolExecutor\(|multiprocessing\.Pool\(|get_context\([^)]*\)\.Pool\(",
                                   path.read_text(encoding="utf-8")))
    assert builders == ["core/processes.py"]
