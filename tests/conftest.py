"""Shared fixtures: small image folders and third-party plugin packages installed with pip."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganprint.testing import synthetic_sources


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Benchmarks run once, untimed, in the default suite; ``pytest tests/perf --benchmark-only``
    (or ``--benchmark-enable``) times them. A ``--benchmark-disable`` in addopts would refuse
    ``--benchmark-only``, hence this hook."""
    option = config.option
    if hasattr(option, "benchmark_disable") and not (option.benchmark_only or option.benchmark_enable):
        option.benchmark_disable = True


def write_folder(root: Path, n_per_source: int = 20, size: int = 32, n_generated: int = 2) -> Path:
    """PATH/<source>/<i>.png from ganprint.testing.synthetic_sources."""
    X, y = synthetic_sources(n_per_source, size, n_generated=n_generated)
    for i, (image, label) in enumerate(zip(X, y)):
        (root / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / label / f"{i:04d}.png")
    return root


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "images")


def install_plugin(target: Path, module_name: str, source: str, entry_points: str) -> Path:
    """Build and install a one-module distribution with pip into ``target`` (for PYTHONPATH)."""
    project = target.parent / f"src-{module_name}"
    project.mkdir(parents=True)
    (project / f"{module_name}.py").write_text(textwrap.dedent(source))
    (project / "setup.py").write_text(textwrap.dedent(f"""
        from setuptools import setup
        setup(name={module_name.replace('_', '-')!r}, version="0.1.0", py_modules=[{module_name!r}],
              entry_points={{"ganprint": [{entry_points!r}]}})
    """))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--no-index", "--target", str(target), str(project)],
        check=True, capture_output=True,
    )
    return target


def run_bench(*args: str, pythonpath: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``bench ARGS`` in a subprocess (so entry points are discovered afresh)."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "ganprint.benchmark.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
