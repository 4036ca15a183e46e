"""``bench prnu analyse --dataset D --out DIR``: the analyses of Marra et al. 2019 (Figs. 2–6).

Writes into DIR the amplified fingerprints for N = 2, 8, 32, 128, 512 (``fingerprint_<source>.png``),
the energy curves with their fitted limits (``energy.png``), the fingerprints' autocorrelations
(``autocorrelation.png``), the same- versus cross-source histograms of two generated sources
(``same_vs_cross.png``), the mean residual-to-fingerprint correlation matrix
(``correlation_matrix.png``) and every number in ``summary.json``; prints the numbers. Registered by the plugin through the
``ganprint_commands`` hook.
"""
from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from tabulate import tabulate

from ganprint.commands import (
    UsageError,
    add_dataset_argument,
    add_out_argument,
    check_output_dir,
    names,
    non_negative_int,
    open_dataset,
    positive_float,
    positive_int,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="prnu_command", metavar="COMMAND")
    commands.required = True
    analyse = commands.add_parser("analyse", help="fingerprints, energy, autocorrelation, same/cross AUC, matrix")
    add_dataset_argument(analyse)
    add_out_argument(analyse, "folder for the PNGs and summary.json")
    analyse.add_argument("--sources", default=None, help="comma list of sources (default: all)")
    analyse.add_argument("--pair", default=None,
                         help="two generated sources A,B for the same/cross experiment (default: the first two)")
    analyse.add_argument("--max-n", type=positive_int, default=512, help="training residuals per fingerprint")
    analyse.add_argument("--max-test", type=non_negative_int, default=512,
                         help="held-out (val+test) residuals per source")
    analyse.add_argument("--levels", type=positive_int, default=4, help="wavelet levels")
    analyse.add_argument("--sigma", type=positive_float, default=5.0, help="noise level on the 0-255 scale")
    analyse.add_argument("--zero-mean", action="store_true", help="zero-mean the residuals on the 2x2 lattices")
    analyse.add_argument("--wiener-dft", action="store_true", help="Wiener-filter the residuals in the DFT domain")
    analyse.add_argument("--batch-size", type=positive_int, default=64, help="images per residual batch")


def run(args: argparse.Namespace) -> int:
    return run_analyse(args)


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
    from ganprint.plugins.prnu.analysis import analyse

    check_output_dir(args.out, files=("summary.json",))
    dataset = open_dataset(args.dataset)
    try:
        summary = analyse(
            dataset, args.out, sources=names(args.sources) or None, pair=names(args.pair) or None, max_n=args.max_n,
            max_test=args.max_test, batch_size=args.batch_size, levels=args.levels, sigma=args.sigma,
            zero_mean=args.zero_mean, wiener_dft=args.wiener_dft,
        )
    except ValueError as error:
        raise UsageError(str(error)) from error
    print(f"dataset {dataset.name} ({dataset.content_hash()})\n")
    print(report(summary))
    print(f"\nwrote the figures and summary.json to {args.out}")
    return 0
