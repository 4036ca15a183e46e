"""``bench predict DIR IMAGE_OR_FOLDER...``: a saved detector's verdict on image files.

DIR is a detector saved by ``bench fit`` or ``bench run --save-fitted`` (:mod:`ganprint.saving`;
its files are checked against their recorded digests first). Folders are searched at any depth.
Per image (:mod:`ganprint.predicting`): the detection score and verdict at the
calibrated threshold, the attributed source with its probability, the open-world decision (the
source, or ``unknown``), decoded bits for a fingerprint decoder, and a note when the image had to
be resized or cropped to the saved size (:mod:`ganprint.datasets.image_list`). Files that cannot
be read are listed as skipped with their reason.

Exit status: 0 when at least one image was predicted (skipped files are listed), 1 when none could
be, 2 for a usage error (a path that does not exist; DIR not a saved detector, changed since it
was saved, or its plugin missing or in another version).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ganprint.commands import UsageError, positive_int
from ganprint.saving import LoadError, load_saved

FORMATS = ("table", "csv", "json")
COLUMNS = ("image", "score", "verdict", "attributed", "probability", "confidence", "source", "bits", "note")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("saved", type=Path, metavar="DIR", help="a saved detector (bench fit --out DIR)")
    parser.add_argument("images", type=Path, nargs="+", metavar="IMAGE_OR_FOLDER",
                        help="image files, or folders searched at any depth")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="images predicted per batch")


def run(args: argparse.Namespace) -> int:
    from ganprint.datasets.image_list import list_images, read_batch
    from ganprint.datasets.size_policy import SizePolicy
    from ganprint.predicting import predict

    missing = [str(p) for p in args.images if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    try:
        saved = load_saved(args.saved)
    except LoadError as error:
        raise UsageError(str(error)) from error
    calibration = saved.calibration
    if calibration.image_size is None:
        raise UsageError(f"{args.saved} records no image size; save it with a calibration (bench fit)")
    policy = SizePolicy(int(calibration.image_size), calibration.image_fit)
    files, skipped = list_images(args.images)
    rows: list[dict[str, Any]] = []
    with tqdm(total=len(files), desc="predicting", unit="img", disable=None, leave=False) as bar:
        for start in range(0, len(files), args.batch_size):
            chunk = files[start:start + args.batch_size]
            images, kept, notes, unreadable = read_batch(chunk, policy)
            skipped += unreadable
            if len(images):
                for row, note, prediction in zip(kept, notes, predict(saved.detector, calibration, images)):
                    rows.append({"image": str(chunk[row]), **asdict(prediction), "note": note})
            bar.update(len(chunk))
    skipped.sort(key=lambda s: s.id)
    if args.format == "csv":
        print(describe(saved), file=sys.stderr)
    print(render(rows, skipped, args.format, describe(saved)))
    return 0 if rows else 1


def describe(saved: Any) -> str:
    """One line: what the saved detector is and was fitted on."""
    c, d = saved.calibration, saved.manifest["detector"]
    parts = [f"{saved.name} ({d['distribution']} {d['version']})"]
    if c.dataset:
        parts.append(f"fitted on {c.dataset} ({c.dataset_hash}), seed {c.seed}")
    parts.append(f"{c.image_size}x{c.image_size} images by {c.image_fit}")
    if c.detection_threshold is not None:
        parts.append(f"detection threshold {c.detection_threshold:.6g}")
    if c.rejection_threshold is not None:
        parts.append(f"rejection threshold {c.rejection_threshold:.6g}")
    return "; ".join(parts)


def render(rows: list[dict[str, Any]], skipped: list[Any], fmt: str, header: str) -> str:
    """The predictions and skipped files as a table, CSV or JSON (columns without any value left
    out of the table)."""
    if fmt == "json":
        return json.dumps({"detector": header, "predictions": rows,
                           "skipped": [{"image": s.id, "reason": s.reason} for s in skipped]}, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "skipped"], lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "skipped": ""} for row in rows)
        writer.writerows({"image": s.id, "skipped": s.reason} for s in skipped)
        return out.getvalue().rstrip("\n")
    from tabulate import tabulate

    shown = [c for c in COLUMNS if any(row.get(c) not in (None, "") for row in rows)]
    lines = [header, ""]
    if rows:
        lines.append(tabulate([[row.get(c) for c in shown] for row in rows], headers=shown, floatfmt=".4f"))
    lines.append(f"\n{len(rows)} image(s) predicted, {len(skipped)} skipped")
    lines += [f"  skipped {s.id}: {s.reason}" for s in skipped]
    return "\n".join(lines)
