"""``bench bfrvae analyse --dataset D --out DIR``: the fingerprint analyses of Ding, Thakur and Li
(Tables 1-3, Fig. 5).

BFR-VAE is trained on the reference sources (``--reference``, globs; default all). Written to DIR:
``jsd_correlation.png`` (JSD and correlation between the μ′ distributions of every source and every
reference source), ``pca_density.png`` (Fig. 5), ``jsd_correlation_<attack>.png`` per attack (Table
3) and every number in ``summary.json``; the tables are printed. Table 2 (unseen seeds) is
``--dataset zoo:default/seeds --reference '*_s0,*_s1'`` or any choice leaving seeds out.

The analyses belong to the ``bfrvae`` plugin; benchmark/ never imports ganprint.plugins, so the
plugin is reached through its entry point in the ``ganprint`` group, as any installed plugin is.
The attacks are the registry's ``noise``, ``blur`` and ``jpeg`` at fixed strengths.
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
from ganprint.registry import Registry, UnknownNameError, load_registry

PLUGIN = "bfrvae"
# §5.2: Gaussian blur with kernel size 5 and JPEG quality 75 as in the paper; the paper's noise of
# "L2 norm 0.1" has no per-pixel reading, so the noise is of standard deviation 5 on the 0-255 scale.
ATTACK_STRENGTHS = {"noise": {"std": 5.0}, "blur": {"kernel_size": 5}, "jpeg": {"quality": 75}}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bfrvae", help="BFR-VAE fingerprint-distribution analyses (Ding et al.)")
    commands = parser.add_subparsers(dest="bfrvae_command", metavar="COMMAND")
    commands.required = True
    analyse = commands.add_parser("analyse", help="JSD/correlation tables and matrices, PCA densities, attacks")
    analyse.add_argument("--dataset", required=True, help="NAME, NAME:ARG or folder:PATH")
    analyse.add_argument("--out", type=Path, required=True, help="folder for the PNGs and summary.json")
    analyse.add_argument("--reference", default=None,
                         help="comma list of source globs BFR-VAE is trained on (default: all sources)")
    analyse.add_argument("--attacks", default="noise,blur,jpeg",
                         help="comma list of attacks for Table 3, or 'none' (default: noise,blur,jpeg)")
    analyse.add_argument("--components", type=int, default=1,
                         help="principal axes the JSD/correlation are averaged over (default: 1, as Fig. 5)")
    analyse.add_argument("--max-per-source", type=int, default=None, help="test images per source (default: all)")
    analyse.add_argument("--max-epochs", type=int, default=None, help="override the plugin's training epochs")
    analyse.add_argument("--latent-dim", type=int, default=None, help="override the plugin's latent size")
    analyse.add_argument("--seed", type=int, default=0, help="fixes every random choice (default: 0)")
    analyse.set_defaults(func=run_analyse)


def _plugin() -> Any:
    for entry_point in importlib.metadata.entry_points(group=PROJECT):
        if entry_point.name == PLUGIN:
            return entry_point.load()
    raise UsageError(f"the {PLUGIN!r} plugin is not installed (no {PLUGIN!r} entry point in group {PROJECT!r})")


def _names(text: str | None) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()] if text else []


def attacks_from(registry: Registry, text: str) -> dict[str, Any]:
    """The named attacks at the strengths of §5.2 (an attack without one keeps its defaults)."""
    names = [n for n in _names(text) if n != "none"]
    out = {}
    for name in names:
        try:
            spec = registry.get("attacks", name)
        except UnknownNameError as error:
            raise UsageError(str(error).strip("'\"")) from error
        out[name] = spec.factory(**ATTACK_STRENGTHS.get(name, {}))
    return out


def _table(comparison: dict[str, Any]) -> str:
    jsd, corr = np.asarray(comparison["jsd"]), np.asarray(comparison["correlation"])
    rows = [[r] + [f"{100 * jsd[i, j]:.2f} / {100 * corr[i, j]:.2f}" for j in range(len(comparison["columns"]))]
            for i, r in enumerate(comparison["rows"])]
    return tabulate(rows, ["JSD / corr (1e-2)"] + comparison["columns"])


def report(summary: dict[str, Any]) -> str:
    """The summary as the paper's tables plus the checks of §5.2."""
    parts = [_table(summary["clean"])]
    for key, label in (("seen_family_closer", "seen sources"), ("unseen_family_closer", "unseen sources")):
        if key in summary:
            s = summary[key]
            parts.append(f"{label}: closer to their own family than to others in {s['fraction_closer']:.2f} "
                         f"of {s['n_rows']} (mean JSD gap {100 * s['mean_jsd_gap']:.2f}e-2)")
    for name, result in summary["attacks"].items():
        parts.append(f"under {result['attack']}:\n{_table(result)}\n"
                     f"attacked fingerprints closest to their own clean source: {result['own_source_closest']:.2f}")
    return "\n\n".join(parts)


def run_analyse(args: argparse.Namespace) -> int:
    if args.components < 1 or (args.max_per_source is not None and args.max_per_source < 2):
        raise UsageError("--components must be at least 1 and --max-per-source at least 2")
    plugin = _plugin()
    registry = load_registry()
    dataset = open_dataset(registry, args.dataset)
    attacks = attacks_from(registry, args.attacks)
    params = {k: v for k, v in (("max_epochs", args.max_epochs), ("latent_dim", args.latent_dim)) if v is not None}
    try:
        summary = plugin.analyse(dataset, args.out, reference=_names(args.reference) or None, attacks=attacks,
                                 n_components=args.components, max_per_source=args.max_per_source,
                                 seed=args.seed, params={**params, "progress": True})
    except ValueError as error:
        raise UsageError(str(error)) from error
    print(f"dataset {dataset.name} ({dataset.content_hash()}), seed {args.seed}\n")
    print(report(summary))
    print(f"\nwrote the figures and summary.json to {args.out}")
    return 0
