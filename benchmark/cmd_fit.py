"""``bench fit DETECTOR --dataset D --out DIR``: fit one detector as ``bench run`` does and save it.

The detector is fitted on D's train split (same factory and seed as ``bench run``, so a plugin that
caches its fitted weights loads them), its thresholds are calibrated on D's clean val images by the
protocol's rules (:func:`ganprint.protocol.calibrate`), and it is saved with them into DIR
(:mod:`ganprint.saving`), ready for ``bench predict DIR IMAGES...``. ``--param NAME=VALUE`` sets a
hyperparameter (VALUE read as JSON, else as text); ``--exclude-sources`` leaves sources out of
fitting and calibration, whose images ``bench predict`` should then call ``unknown``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ganprint import protocol
from ganprint.commands import (
    UsageError,
    add_dataset_argument,
    add_image_size_arguments,
    add_seed_argument,
    check_output_dir,
    names,
    open_dataset,
    positive_int,
)
from ganprint.registry import UnknownNameError, load_registry
from ganprint.saving import MANIFEST, create, save_fitted


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("detector", help="a registered detector (see `bench list detectors`)")
    add_dataset_argument(parser)
    add_image_size_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="the folder to save the fitted detector in")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a hyperparameter (VALUE as JSON, else text); may be repeated")
    parser.add_argument("--exclude-sources", default=None, metavar="A,B",
                        help="sources left out of fitting and calibration (an open-world check)")
    add_seed_argument(parser)
    parser.add_argument("--batch-size", type=positive_int, default=256, help="val images scored per batch")


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["k=3", "weights=uniform"]`` → ``{"k": 3, "weights": "uniform"}`` (JSON, else text)."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param {item!r}: write NAME=VALUE")
        try:
            params[key.strip()] = json.loads(text)
        except ValueError:
            params[key.strip()] = text
    return params


def run(args: argparse.Namespace) -> int:
    out = check_output_dir(args.out)
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise UsageError(f"--out {out} is a folder holding other files; give a new or empty folder "
                         "(or one holding a saved detector, which is replaced)")
    registry = load_registry()
    try:
        registry.get("detectors", args.detector)
    except UnknownNameError as error:
        raise UsageError(str(error).strip("'\"")) from error
    params = parse_params(args.param)
    try:
        create(args.detector, registry, **params)
    except ValueError as error:
        raise UsageError(f"--param: {error}") from error
    dataset = open_dataset(args.dataset, registry, image_size=args.image_size, image_fit=args.image_fit)
    excluded = names(args.exclude_sources)
    unknown = sorted(set(excluded) - set(dataset.sources))
    if unknown:
        raise UsageError(f"--exclude-sources: {', '.join(unknown)} not among the sources of {dataset.name} "
                         f"({', '.join(dataset.sources)})")
    sources = [s for s in dataset.sources if s not in excluded]
    chosen = sources if excluded else None
    started = time.time()
    method = protocol.fit_method(lambda: create(args.detector, registry, **params), dataset, seed=args.seed,
                                 sources=chosen)
    fitted = protocol.calibrate(method, None, dataset, known=[], held_out=[], batch_size=args.batch_size,
                                progress=True, sources=chosen)
    save_fitted(fitted, dataset, out, name=args.detector, seed=args.seed, sources=sources, registry=registry)
    left_out = f" (excluded: {', '.join(excluded)})" if excluded else ""
    print(f"fitted {args.detector} on {dataset.name} ({dataset.content_hash()}), seed {args.seed}, "
          f"sources {', '.join(sources)}{left_out} in {time.time() - started:.1f} s")
    print(f"detection threshold {_shown(fitted.detection_threshold)}, open-world rejection threshold "
          f"{_shown(fitted.own_rejection_threshold)}")
    print(f"saved to {out}", file=sys.stderr)
    return 0


def _shown(value: float | None) -> str:
    return "none (not calibrated on this dataset)" if value is None else f"{value:.6g}"
