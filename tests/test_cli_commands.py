"""The shape of `bench`: grouped help, plugin commands through `ganprint_commands`, their isolation."""
from __future__ import annotations

from pathlib import Path

import pytest

import ganprint
from ganprint.benchmark.cli import HARNESS, available_commands
from ganprint.commands import HARNESS_COMMANDS

from conftest import install_plugin, run_bench

COMMAND_PLUGIN = '''
import sys
from ganprint import CommandSpec, hookimpl


def add_arguments(parser):
    parser.add_argument("--how", choices=["ok", "raise", "exit"], default="ok")


def run(args):
    if args.how == "raise":
        raise RuntimeError("the command broke")
    if args.how == "exit":
        sys.exit(3)
    print("third-party command ran")
    return 0


@hookimpl
def ganprint_commands():
    yield CommandSpec("thirdparty", "a third-party command", add_arguments, run)
    yield CommandSpec("run", "an impostor of bench run", add_arguments, run)
    yield CommandSpec("chores", "a third-party maintenance command", add_arguments, run, group="maintenance")
'''


@pytest.fixture(scope="module")
def command_site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("commands")
    return install_plugin(root / "site", "ganprint_commandplugin", COMMAND_PLUGIN,
                          "commandplugin = ganprint_commandplugin")


def sections(help_text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = None
    for line in help_text.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            current = line[:-1]
            out[current] = []
        elif current and line.startswith("  ") and line.strip():
            out[current].append(line.split()[0])
    return out


def test_help_groups_harness_analyses_and_maintenance() -> None:
    result = run_bench("--help")
    assert result.returncode == 0, result.stderr
    groups = sections(result.stdout)
    assert groups["the harness"] == list(HARNESS)
    assert {"prnu", "cnn", "visnet", "bfrvae", "stega"} <= set(groups["plugin analyses"])
    assert {"zoo", "stega-ship"} <= set(groups["maintenance"])


def test_bare_bench_prints_help_and_succeeds() -> None:
    result = run_bench()
    assert result.returncode == 0
    assert "the harness:" in result.stdout and "usage: bench" in result.stdout


def test_version() -> None:
    result = run_bench("--version")
    assert result.returncode == 0
    assert ganprint.__version__ in result.stdout


def test_every_harness_command_name_is_reserved() -> None:
    assert set(HARNESS) <= set(HARNESS_COMMANDS)


def test_builtin_plugin_commands_come_from_the_hook() -> None:
    commands = available_commands()
    assert commands["prnu"].origin.startswith("prnu (ganprint)")
    assert commands["zoo"].group == "maintenance"
    assert commands["run"].group == "harness"


def test_help_of_a_plugin_command_shows_its_defaults() -> None:
    result = run_bench("prnu", "analyse", "--help")
    assert result.returncode == 0
    assert "(default: 512)" in result.stdout and "(default: zoo:default)" in result.stdout


def test_third_party_command_is_listed_and_runs(command_site: Path) -> None:
    groups = sections(run_bench("--help", pythonpath=command_site).stdout)
    assert "thirdparty" in groups["plugin analyses"]
    assert "chores" in groups["maintenance"]
    result = run_bench("thirdparty", pythonpath=command_site)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "third-party command ran"


def test_a_plugin_cannot_take_a_harness_command_name(command_site: Path) -> None:
    listing = run_bench("list", "commands", pythonpath=command_site)
    assert "command name 'run' is reserved" in listing.stdout
    result = run_bench("run", "--help", pythonpath=command_site)
    assert "--plugins" in result.stdout  # the harness's own run, not the impostor


def test_a_raising_plugin_command_is_one_line_and_exit_1(command_site: Path) -> None:
    result = run_bench("thirdparty", "--how", "raise", pythonpath=command_site)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "bench: error: command 'thirdparty' of plugin commandplugin (ganprint-commandplugin) failed: "
        "RuntimeError: the command broke (-v shows the traceback)"]
    verbose = run_bench("-v", "thirdparty", "--how", "raise", pythonpath=command_site)
    assert "Traceback" in verbose.stderr


def test_a_plugin_command_exit_code_is_kept(command_site: Path) -> None:
    assert run_bench("thirdparty", "--how", "exit", pythonpath=command_site).returncode == 3


def test_bad_option_values_are_refused_before_any_work(tmp_path: Path) -> None:
    for argv in (["run", "--seed", "-1"], ["sweep", "--threshold", "nan", "--attack", "jpeg", "--strengths", "1",
                                            "--out", str(tmp_path)],
                 ["prnu", "analyse", "--sigma", "inf", "--out", str(tmp_path)]):
        result = run_bench(*argv)
        assert result.returncode == 2, argv
        assert "Traceback" not in result.stderr
