"""Mutation testing of the code that turns predictions into published figures (issue #37).

    python tests/mutation/run.py       # every target below; or name some: run.py metrics store

mutmut comes with the test extra (``pip install -e ".[test]" -c constraints.txt``); the mutation run
is not part of the default suite or CI.

mutmut 3 names a mutant after the module its file path spells, and the repository's folders are
mapped onto ``ganprint`` by setup.py (``core/`` is ``ganprint``), so mutmut cannot run on the
checkout itself. For each target this script assembles the package as it is installed
(``build/mutation/TARGET/src/ganprint``, a copy), writes mutmut's configuration there (mutate the
target's files only; collect which tests reach each function from the target's test files only),
runs ``mutmut run`` and prints the score:

    score = killed / (killed + survived + no tests - equivalent)

A mutant no test reaches counts as surviving. Timeouts count as killed and are shown apart.
Equivalent mutants are the survivors listed in ``tests/mutation/equivalent.txt``, one per line with
the reason it cannot change behaviour; an entry that is not a survivor any more is reported as
stale. The diff of every other survivor goes to ``build/mutation/TARGET/survivors.txt``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "mutation"
EQUIVALENT = Path(__file__).with_name("equivalent.txt")

# repository folder -> its place inside the installed package (setup.py's TOP_LEVEL)
PACKAGE_FOLDERS = {"core": "ganprint", "plugins": "ganprint/plugins", "datasets": "ganprint/datasets",
                   "benchmark": "ganprint/benchmark"}


@dataclass(frozen=True)
class Target:
    """Source files to mutate (repository paths) and the test files that are to kill them."""

    sources: tuple[str, ...]
    tests: tuple[str, ...]


TARGETS: dict[str, Target] = {
    "metrics": Target(("core/metrics.py",), ("tests/test_metrics.py", "tests/test_metrics_hand_counted.py")),
    "protocol": Target(("core/protocol.py",), ("tests/test_protocol.py", "tests/test_protocol_hand_counted.py")),
    "dataset": Target(("core/dataset.py",), ("tests/test_splits_hand_counted.py", "tests/test_protocol.py",
                                             "tests/test_folder_dataset.py", "tests/test_folder_layouts.py")),
    "registry": Target(("core/registry.py",), ("tests/test_registry.py", "tests/test_registry_hand_checked.py")),
    "runner": Target(("benchmark/runner.py",), ("tests/test_runner_hand_checked.py",)),
    "store": Target(("benchmark/store.py",), ("tests/test_store_hand_checked.py",)),
    "leaderboard": Target(("benchmark/leaderboard.py",), ("tests/test_leaderboard_hand_checked.py",)),
    # folder: the thin class and the modules that decide each file's label and split (layouts),
    # list the tree (tree), index its headers (indexing) and hash the splits (image_files)
    "folder": Target(("datasets/folder.py", "datasets/layouts.py", "datasets/image_files.py", "datasets/tree.py",
                      "datasets/indexing.py"),
                     ("tests/test_folder_labels_hand_counted.py", "tests/test_folder_dataset.py",
                      "tests/test_folder_layouts.py")),
    # test_stega.py's fast tests only: its tiny-model test trains a model (~25 s a run) and times out
    "stega_match": Target(("plugins/stega/database.py", "plugins/stega/attributor.py"), (
        "tests/test_stega.py::test_database_keeps_fingerprints_apart_and_matches_the_nearest",
        "tests/test_stega.py::test_database_round_trips_through_json",
        "tests/test_stega.py::test_random_match_probability_is_a_binomial_tail",
        "tests/test_stega.py::test_attributor_attributes_to_the_nearest_registered_fingerprint",
        "tests/test_stega.py::test_protocol_scores_bits_only_on_images_that_record_them",
        "tests/test_stega_matching_hand_checked.py")),
}

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}


def installed_path(repository_path: str) -> str:
    """``core/metrics.py`` -> ``src/ganprint/metrics.py``: where the file sits in the staged package."""
    folder, _, rest = repository_path.partition("/")
    return f"src/{PACKAGE_FOLDERS[folder]}/{rest}"


def stage(name: str, target: Target) -> Path:
    """A fresh copy of the package, the tests and a setup.cfg configuring pytest and mutmut."""
    where = BUILD / name
    shutil.rmtree(where, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder, package in PACKAGE_FOLDERS.items():
        shutil.copytree(ROOT / folder, where / "src" / package, ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(ROOT / "tests", where / "tests", ignore=ignore)
    lines = [
        "[tool:pytest]", "testpaths = tests", "addopts = -p no:cacheprovider", "filterwarnings =",
        "    error::DeprecationWarning:ganprint.*", "",
        "[mutmut]", "source_paths = src/ganprint", "only_mutate =",
        *(f"    {installed_path(source)}" for source in target.sources),
        "pytest_add_cli_args_test_selection =", *(f"    {test}" for test in target.tests),
    ]
    (where / "setup.cfg").write_text("\n".join(lines) + "\n")
    return where


def equivalents() -> dict[str, str]:
    """Mutant name -> why it cannot change behaviour, from equivalent.txt (``#`` starts a comment line)."""
    listed = {}
    for line in EQUIVALENT.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, reason = line.strip().partition(" ")
            listed[name] = reason.strip()
    return listed


def results(where: Path) -> dict[str, str]:
    """Mutant name -> status, read from the ``.meta`` files mutmut writes beside each mutated file."""
    statuses = {}
    for meta in sorted((where / "mutants").rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            statuses[name] = STATUS.get(code, "suspicious")
    return statuses


def summarise(name: str, where: Path, statuses: dict[str, str], listed: dict[str, str]) -> dict:
    """Counts and score of one target; writes the diffs of its unexplained survivors."""
    count = {status: sum(1 for s in statuses.values() if s == status) for status in set(STATUS.values())}
    alive = [m for m, s in statuses.items() if s in ("survived", "no tests")]
    equivalent = [m for m in alive if m in listed]
    unexplained = [m for m in alive if m not in listed]
    detected = count["killed"] + count["timeout"]
    denominator = detected + len(alive) - len(equivalent)
    with open(where / "survivors.txt", "w") as out:
        for mutant in unexplained:
            shown = subprocess.run(["mutmut", "show", mutant], cwd=where, capture_output=True, text=True)
            out.write(f"## {mutant} ({statuses[mutant]})\n{shown.stdout}\n")
    return {"target": name, "mutants": len(statuses), "killed": count["killed"], "timeout": count["timeout"],
            "survived": count["survived"], "no tests": count["no tests"], "equivalent": len(equivalent),
            "other": len(statuses) - detected - len(alive),
            "score": detected / denominator if denominator else 1.0, "unexplained": unexplained}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=f"some of: {', '.join(TARGETS)} (default: all)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    if shutil.which("mutmut") is None:
        parser.error('mutmut is not installed: pip install -e ".[test]" -c constraints.txt')
    unknown = [name for name in args.targets if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    listed = equivalents()
    rows: list[dict] = []
    seen: dict[str, str] = {}
    for name in args.targets or list(TARGETS):
        where = stage(name, TARGETS[name])
        # Tests that start `bench` in a subprocess import the mutants too. The folder must exist
        # before Python starts, or the import system remembers it as missing.
        (where / "mutants" / "src").mkdir(parents=True)
        # One thread per library: mutmut forks a process per mutant, and an OpenMP pool started
        # before the fork (scikit-learn's neighbour search) hangs in the child until the timeout,
        # which would count the mutant as killed.
        env = dict(os.environ, PYTHONPATH=str(where / "mutants" / "src"),
                   **{variable: "1" for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
        run = subprocess.run(["mutmut", "run", "--max-children", str(args.max_children)], cwd=where, env=env,
                             capture_output=True, text=True)
        if run.returncode:
            print(run.stdout[-3000:], run.stderr[-3000:], sep="\n", file=sys.stderr)
            return run.returncode
        statuses = results(where)
        seen.update(statuses)
        rows.append(summarise(name, where, statuses, listed))
    print("| target | mutants | killed | timeout | survived | no tests | equivalent | other | score |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['target']} | {r['mutants']} | {r['killed']} | {r['timeout']} | {r['survived']} | "
              f"{r['no tests']} | {r['equivalent']} | {r['other']} | {r['score']:.1%} |")
    for r in rows:
        for mutant in r["unexplained"]:
            print(f"survivor: {mutant} (diff in build/mutation/{r['target']}/survivors.txt)")
    ran_modules = {mutant.partition(".x")[0] for mutant in seen}
    for mutant, reason in listed.items():
        if mutant.partition(".x")[0] not in ran_modules:
            continue
        if mutant not in seen:
            print(f"stale: {mutant} is listed in equivalent.txt but mutmut no longer makes it")
        elif seen[mutant] not in ("survived", "no tests"):
            print(f"stale: {mutant} is listed in equivalent.txt but was {seen[mutant]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
