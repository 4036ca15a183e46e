"""The ``bench`` command: the harness's own sub-commands plus those plugins contribute.

The harness commands (:data:`HARNESS`) live in ``ganprint.benchmark.cmd_*`` modules, each
defining ``add_arguments(parser)`` and ``run(args) -> int``; plugin commands come from the
``ganprint_commands`` hook as :class:`ganprint.CommandSpec` records. ``bench --help`` lists both,
grouped, without importing any command's module or any heavy library: only the command that runs
has its module imported and its arguments added.

Exit status: 0 done, 1 nothing could be computed, 2 a usage error, 130 interrupted.

A command's failure is one line on stderr (``-v`` adds the traceback), never a crash: anything a
command raises but ``KeyboardInterrupt`` is caught, ``SystemExit`` included. A plugin command's
``sys.exit(N)`` keeps its status; inside a harness command (which never calls it itself) it can only
come from plugin code, so it is reported as a failure (status 1), never taken for success.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from dataclasses import dataclass
from typing import Callable, Sequence

import ganprint
from ganprint.commands import HARNESS_COMMANDS, UsageError, command_from_module

HARNESS: dict[str, tuple[str, str]] = {
    "list": ("ganprint.benchmark.cmd_list", "list registered detectors, attacks, datasets and commands"),
    "run": ("ganprint.benchmark.cmd_run", "fit, attack and score detectors; print the leaderboards"),
    "sweep": ("ganprint.benchmark.cmd_sweep", "metric-versus-strength curves of one attack, with working ranges"),
    "export": ("ganprint.benchmark.cmd_export", "export a torch-based detector fitted on a dataset to ONNX"),
    "data": ("ganprint.benchmark.cmd_data", "build a dataset into the cache, or describe it"),
    "report": ("ganprint.benchmark.cmd_report", "write a run's results as one self-contained HTML page"),
    "fit": ("ganprint.benchmark.cmd_fit", "fit and calibrate one detector on a dataset, and save it"),
    "predict": ("ganprint.benchmark.cmd_predict", "a saved detector's verdicts on image files and folders"),
}
assert set(HARNESS) <= set(HARNESS_COMMANDS), "a harness command's name must be reserved in ganprint.commands"
GROUP_TITLES = {"harness": "the harness", "analysis": "plugin analyses", "maintenance": "maintenance"}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, unless its help already says it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("default" in text or default in (None, False, argparse.SUPPRESS)
                or action.option_strings == [] or isinstance(action, argparse._HelpAction)):
            return text
        return f"{text} (default: %(default)s)"


@dataclass(frozen=True)
class Command:
    """A sub-command, harness or plugin: where it comes from and how to build and run it."""

    name: str
    summary: str
    group: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    origin: str = "ganprint"

    @property
    def from_plugin(self) -> bool:
        return self.group != "harness"


def _harness_command(name: str) -> Command:
    module, summary = HARNESS[name]
    spec = command_from_module(name, summary, module)
    return Command(name, summary, "harness", spec.add_arguments, spec.run)


def available_commands() -> dict[str, Command]:
    """Harness commands, then every plugin command the registry accepted."""
    from ganprint.registry import load_registry

    commands = {name: _harness_command(name) for name in HARNESS}
    registry = load_registry()
    for name, spec in sorted(registry.commands.items()):
        info = registry.origin("commands", name)
        commands[name] = Command(name, spec.summary, spec.group, spec.add_arguments, spec.run,
                                 f"{info.plugin} ({info.distribution})")
    return commands


def _listing(commands: dict[str, Command]) -> str:
    width = max(len(n) for n in commands) + 2
    parts = []
    for group, title in GROUP_TITLES.items():
        rows = [c for c in commands.values() if c.group == group]
        if rows:
            parts.append(f"{title}:\n" + "\n".join(f"  {c.name:<{width}}{c.summary}" for c in rows))
    return "\n\n".join(parts)


def build_parser(commands: dict[str, Command], selected: str | None = None) -> argparse.ArgumentParser:
    """The parser of ``bench``; only the ``selected`` command gets its arguments added."""
    parser = argparse.ArgumentParser(
        prog="bench", formatter_class=HelpFormatter, usage="bench [-h] [--version] [-q | -v] COMMAND ...",
        description="Benchmark GAN-image forensics methods: detection, attribution, fingerprints.\n\n"
                    + _listing(commands)
                    + "\n\n`bench COMMAND --help` describes a command.")
    parser.add_argument("--version", action="version",
                        version=f"bench (ganprint {ganprint.__version__}), Python {sys.version.split()[0]}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    loudness.add_argument("-v", "--verbose", action="store_true", help="tracebacks with errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", help=argparse.SUPPRESS)
    for command in commands.values():
        sub = subparsers.add_parser(command.name, prog=f"bench {command.name}", help=command.summary, description=command.summary,
                                    formatter_class=HelpFormatter)
        if command.name == selected:
            _add_arguments(command, sub)
            _use_formatter(sub)
    return parser


class CommandSetupError(Exception):
    """A plugin command's ``add_arguments`` failed: the command cannot be offered."""


def _add_arguments(command: Command, parser: argparse.ArgumentParser) -> None:
    if not command.from_plugin:
        command.add_arguments(parser)
        return
    try:
        command.add_arguments(parser)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - a plugin's broken parser set-up is one line
        raise CommandSetupError(f"command {command.name!r} of plugin {command.origin} could not add its "
                                f"options: {_detail(error)}") from error


def _detail(error: BaseException) -> str:
    if isinstance(error, SystemExit):
        return f"SystemExit({error.code!r})"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _use_formatter(parser: argparse.ArgumentParser) -> None:
    """Give nested sub-parsers a plugin created the same help formatter."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.formatter_class = HelpFormatter
                _use_formatter(sub)


def _selected(argv: Sequence[str], commands: dict[str, Command]) -> str | None:
    """The command named in ``argv``: its first word that is not a global option."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in commands else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = available_commands()
    selected = _selected(argv, commands)
    try:
        parser = build_parser(commands, selected)
    except CommandSetupError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    if not argv:
        parser.print_help()
        return 0
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.quiet:
        os.environ["TQDM_DISABLE"] = "1"
    args.bench_argv = argv  # the command as typed, which a run records for its report
    command = commands[args.command]
    return _run(command, args)


def _run(command: Command, args: argparse.Namespace) -> int:
    verbose = getattr(args, "verbose", False)
    try:
        return int(command.run(args) or 0)
    except UsageError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exit_:
        if command.from_plugin:
            return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        error: BaseException = exit_
        what = f"`bench {command.name}` was stopped by {_detail(exit_)} raised inside it (a plugin calling sys.exit?)"
    except BaseException as caught:  # noqa: BLE001 - a failure is reported in one line, not a crash
        error = caught
        what = (f"command {command.name!r} of plugin {command.origin} failed: {_detail(caught)}"
                if command.from_plugin else f"`bench {command.name}` failed: {_detail(caught)}")
    if verbose:
        traceback.print_exception(error)
    print(f"bench: error: {what}" + ("" if verbose else " (-v shows the traceback)"), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
