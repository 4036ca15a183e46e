"""``bench list [detectors|attacks|datasets|commands]``: what is registered, from which plugin, and what
failed to load."""
from __future__ import annotations

import argparse

from tabulate import tabulate

from ganprint.registry import KINDS, Registry, load_registry, natural_key


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", nargs="?", choices=list(KINDS), help="only this kind")


def format_listing(registry: Registry, kinds: list[str]) -> str:
    parts = []
    for kind in kinds:
        rows = []
        for name in sorted(registry.specs[kind], key=natural_key):
            info = registry.origin(kind, name)
            rows.append([name, registry.specs[kind][name].summary, f"{info.distribution} {info.version}"])
        parts.append(f"{kind}:\n" + (tabulate(rows, ["name", "summary", "from"], tablefmt="plain")
                                     if rows else "  (none)"))
    if registry.failures:
        lines = ["plugin load failures:"]
        lines += [f"  {f.plugin} ({f.distribution}) at {f.stage}: {f.error}" for f in registry.failures]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def run(args: argparse.Namespace) -> int:
    registry = load_registry()
    print(format_listing(registry, [args.kind] if args.kind else list(KINDS)))
    return 0
