"""``bench prnu analyse --dataset D --out DIR``: the analyses of Marra et al. 2019 (Figs. 2–6).

Writes into DIR the amplified fingerprints for N = 2, 8, 32, 128, 512 (``fingerprint_<source>.png``),
the energy curves with their fitted limits (``energy.png``), the fingerprints' autocorrelations
(``autocorrelation.png``), the same- versus cross-source histograms of two generated sources
(``same_vs_cross.png``), the mean residual-to-fingerprint correlation matrix
(``correlation_matrix.png``) and every number in ``summary.json``; prints the numbers.

The analyses belong to the ``prnu`` plugin. benchmark/ never imports ganprint.plugins, so the
plugin is reached as any installed plugin is: through its entry point in the ``ganprint`` group.
"""
from __future__ import annotations

import argparse
import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np
from tabulate import tabulate

from ganprint.benchmark.cli import UsageError
from ganprint.benchmark.cmd_run import open_dataset
from ganprint.hookspecs import PROJECT
from ganprint.registry import load_registry

PLUGIN = "prnu"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("prnu", help="PRNU residual-fingerprint analyses (Marra et al. 2019)")
    commands = parser.add_subparsers(dest="prnu_command", metavar="COMMAND")
    commands.required = True
    analyse = commands.add_parser("analyse", help="fingerprints, energy, autocorrelation, same/cross AUC, matrix")
    analyse.add_argument("--dataset", required=True, help="NAME, NAME:ARG or folder:PATH")
    analyse.add_argument("--out", type=Path, required=True, help="folder for the PNGs and summary.json")
    analyse.add_argument("--sources", default=None, help="comma list of sources (default: all)")
    analyse.add_argument("--pair", default=None,
                         help="two generated sources A,B for the same/cross experiment (default: the first two)")
    analyse.add_argument("--max-n", type=int, default=512, help="training residuals per fingerprint (default: 512)")
    analyse.add_argument("--max-test", type=int, default=512,
                         help="held-out (val+test) residuals per source (default: 512)")
    analyse.add_argument("--levels", type=int, default=4, help="wavelet levels (default: 4)")
    analyse.add_argument("--sigma", type=float, default=5.0, help="noise level on the 0-255 scale (default: 5)")
    analyse.add_argument("--zero-mean", action="store_true", help="zero-mean the residuals on the 2x2 lattices")
    analyse.add_argument("--wiener-dft", action="store_true", help="Wiener-filter the residuals in the DFT domain")
    analyse.add_argument("--batch-size", type=int, default=64, help="images per residual batch (default: 64)")
    analyse.set_defaults(func=run_analyse)


def _plugin() -> Any:
    for entry_point in importlib.metadata.entry_points(group=PROJECT):
        if entry_point.name == PLUGIN:
            return entry_point.load()
    raise UsageError(f"the {PLUGIN!r} plugin is not installed (no {PLUGIN!r} entry point in group {PROJECT!r})")


def _names(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def report(summary: dict[str, Any]) -> str:
    """The summary's numbers as text tables."""
    rows = [[name, s["n_fingerprint"], s["n_test"], s["energy"], s["energy_limit"]]
            for name, s in summary["sources"].items()]
    parts = [tabulate(rows, ["source", "N (fingerprint)", "M (held out)", "E(N)", "E∞ fit"], floatfmt=".4g")]
    if "two_source" in summary:
        pair = summary["two_source"]["pair"]
        aucs = summary["two_source"]["auc"]
        parts.append(f"same vs cross AUC ({pair[0]}, {pair[1]}): "
                     + ", ".join(f"{k} residuals {v:.3f}" for k, v in aucs.items())
                     + "  (Marra et al.: 0.990, 0.998)")
    if "pairwise_auc" in summary:
        names = summary["pairwise_auc"]["sources"]
        rows = summary["pairwise_auc"]["auc"]
        off = np.array([v for row in rows for v in row if v is not None])
        parts.append("same vs cross AUC of every pair (rows: residuals and same fingerprint, columns: cross "
                     f"fingerprint); min {off.min():.3f}, median {np.median(off):.3f}\n"
                     + tabulate(rows, names, showindex=names, floatfmt=".3f", missingval="-"))
    if "correlation_matrix" in summary:
        names = summary["correlation_matrix"]["sources"]
        matrix = np.asarray(summary["correlation_matrix"]["matrix"])
        parts.append("mean correlation ⟨ρ⟩ (rows: residuals, columns: fingerprints)\n"
                     + tabulate(matrix, names, showindex=names, floatfmt=".3f"))
    return "\n\n".join(parts)


def run_analyse(args: argparse.Namespace) -> int:
    if args.max_n < 1 or args.max_test < 0 or args.batch_size < 1:
        raise UsageError("--max-n and --batch-size must be at least 1, --max-test at least 0")
    plugin = _plugin()
    dataset = open_dataset(load_registry(), args.dataset)
    try:
        summary = plugin.analyse(
            dataset, args.out, sources=_names(args.sources), pair=_names(args.pair), max_n=args.max_n,
            max_test=args.max_test, batch_size=args.batch_size, levels=args.levels, sigma=args.sigma,
            zero_mean=args.zero_mean, wiener_dft=args.wiener_dft,
        )
    except ValueError as error:
        raise UsageError(str(error)) from error
    print(f"dataset {dataset.name} ({dataset.content_hash()})\n")
    print(report(summary))
    print(f"\nwrote the figures and summary.json to {args.out}")
    return 0
