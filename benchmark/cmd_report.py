"""``bench report``: write one self-contained HTML page of a run from the results store.

``bench report [--store FILE] [--run RUN_ID | --latest] --out DIR`` writes ``DIR/index.html``
(see :mod:`ganprint.benchmark.report`); nothing is re-fitted. Without ``--run`` the latest run
is reported. An absent or empty store and an unknown run id are usage errors (exit 2).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ganprint.commands import UsageError, add_out_argument, check_output_dir


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ganprint.benchmark.store import default_store_path

    parser.add_argument("--store", type=Path, default=None, help=f"results database (default: {default_store_path()})")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--run", default=None, metavar="RUN_ID", help="the run to report (an id or a unique prefix)")
    which.add_argument("--latest", action="store_true", help="report the latest run (the default)")
    add_out_argument(parser, "folder the page is written to, as DIR/index.html")


def run(args: argparse.Namespace) -> int:
    from ganprint.benchmark.report import write_report
    from ganprint.benchmark.report.gather import resolve_run_id
    from ganprint.benchmark.store import ResultStore, default_store_path

    check_output_dir(args.out)
    path = args.store or default_store_path()
    if not path.is_file():
        raise UsageError(f"no results store at {path}; `bench run` writes one (--store chooses where)")
    with ResultStore(path) as store:  # a file that is not a results store is a StoreError (exit 2)
        run_id = resolve_run_id(store, None if args.latest else args.run)
        written = write_report(store, run_id, args.out)
    print(f"wrote {written} (run {run_id})")
    return 0
