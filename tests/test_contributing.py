"""CONTRIBUTING.md is executable: its example plugin, packaged as documented, is listed and scored;
and every hookspec is documented there with its exact signature."""
from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ganprint import hookspecs

from conftest import run_bench, write_folder

DOC = (Path(__file__).resolve().parent.parent / "CONTRIBUTING.md").read_text()


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, flags=re.S)


def hook_signatures() -> list[str]:
    out = []
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("ganprint_"):
            signature = inspect.signature(fn)
            params = ", ".join(signature.parameters)
            out.append(f"{name}({params}) -> {signature.return_annotation}")
    return out


def test_every_hookspec_is_documented_with_its_signature() -> None:
    signatures = hook_signatures()
    assert len(signatures) == 4
    for signature in signatures:
        assert signature in DOC, f"CONTRIBUTING.md does not document {signature}"


def test_example_is_at_most_40_lines() -> None:
    module = next(b for b in code_blocks("python") if "@hookimpl" in b)
    assert len(module.strip().splitlines()) <= 40


def test_documented_example_installs_lists_checks_and_scores(tmp_path: Path) -> None:
    module = next(b for b in code_blocks("python") if "@hookimpl" in b)
    setup = next(b for b in code_blocks("python") if "setup(" in b)
    check = next(b for b in code_blocks("python") if "check_detector" in b)
    name = re.search(r'py_modules=\["(\w+)"\]', setup).group(1)
    project = tmp_path / "project"
    project.mkdir()
    (project / f"{name}.py").write_text(module)
    (project / "setup.py").write_text(setup)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--disable-pip-version-check", "--target", str(site), str(project)],
                   check=True, capture_output=True)

    checked = subprocess.run([sys.executable, "-c", check], cwd=site, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    (site / "test_meancolour.py").write_text(next(b for b in code_blocks("python") if "parametrize_with_checks" in b))
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_meancolour.py"],
                            cwd=site, capture_output=True, text=True)
    assert tested.returncode == 0 and "10 passed" in tested.stdout, tested.stdout + tested.stderr

    listing = run_bench("list", "detectors", pythonpath=site)
    assert "meancolour" in listing.stdout and "ganprint-meancolour 0.1.0" in listing.stdout

    folder = write_folder(tmp_path / "images", n_per_source=15)
    result = run_bench("run", "--plugins", "meancolour,knn", "--dataset", f"folder:{folder}",
                       "--store", str(tmp_path / "s.db"), pythonpath=site)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\| meancolour +\| [*0-9.]+", result.stdout, flags=re.M)


@pytest.mark.parametrize("command", ["bench list detectors", "bench run --plugins meancolour,knn"])
def test_documented_commands_exist(command: str) -> None:
    assert command in DOC


def test_documented_command_is_listed_in_help_and_runs(tmp_path: Path) -> None:
    module = next(b for b in code_blocks("python") if "ganprint_commands" in b)
    project = tmp_path / "project"
    project.mkdir()
    (project / "ganprint_colourstats.py").write_text(module)
    (project / "setup.py").write_text(
        'from setuptools import setup\nsetup(name="ganprint-colourstats", version="0.1.0", '
        'py_modules=["ganprint_colourstats"], entry_points={"ganprint": ["colourstats = ganprint_colourstats"]})\n')
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--disable-pip-version-check", "--target", str(site), str(project)],
                   check=True, capture_output=True)

    help_text = run_bench("--help", pythonpath=site).stdout
    analyses = help_text.split("plugin analyses:")[1].split("maintenance:")[0]
    assert re.search(r"^  colourstats +Mean colour of each source's test images$", analyses, flags=re.M)

    folder = write_folder(tmp_path / "images", n_per_source=6)
    result = run_bench("colourstats", "--dataset", f"folder:{folder}", pythonpath=site)
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["real", "gen0", "gen1"]
