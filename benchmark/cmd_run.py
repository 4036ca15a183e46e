"""``bench run``: fit, attack and score the selected detectors on a dataset; print leaderboards."""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

from ganprint.atomic import atomic_open, write_json
from ganprint.benchmark.executors import add_executor_arguments, dataset_spec_for_workers, make_executor
from ganprint.benchmark.leaderboard import FORMATS, render
from ganprint.benchmark.report import write_report
from ganprint.benchmark.run_record import record_run
from ganprint.benchmark.runner import NO_ATTACK, RunResult, run_benchmark
from ganprint.benchmark.store import ResultStore, default_store_path
from ganprint.commands import (
    UsageError,
    add_dataset_argument,
    add_image_size_arguments,
    add_seed_argument,
    check_output_dir,
    check_output_file,
    open_dataset,
    positive_int,
)
from ganprint.registry import UnknownNameError, load_registry


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugins", default="all", help="'all' or a comma list of names and globs")
    add_dataset_argument(parser)
    add_image_size_arguments(parser)
    parser.add_argument("--attacks", default=NO_ATTACK, help="comma list of attacks, 'none' = clean")
    parser.add_argument("--immunize", action="store_true",
                        help="also fit each detector on training images under each attack (the 'immunized' columns)")
    parser.add_argument("--format", default="github", choices=FORMATS, help="leaderboard format")
    add_seed_argument(parser)
    parser.add_argument("--store", type=Path, default=None, help=f"results database (default: {default_store_path()})")
    parser.add_argument("--resume", action="store_true", help="skip cells already finished in the store")
    parser.add_argument("--out", type=Path, default=None, help="write results.json and predictions.csv here")
    parser.add_argument("--batch-size", type=positive_int, default=256, help="test images scored per batch")
    parser.add_argument("--report", type=Path, default=None,
                        help="also write the run's HTML report here (as `bench report --out DIR`)")
    parser.add_argument("--save-fitted", type=Path, default=None, metavar="DIR",
                        help="save each calibrated fit into DIR/NAME, for `bench predict DIR/NAME IMAGES`")
    add_executor_arguments(parser)


OUTPUT_FILES = ("results.json", "predictions.csv")


def write_outputs(result: RunResult, store: ResultStore, out: Path) -> None:
    write_json(out / "results.json", [c.as_dict() for c in result.cells])
    columns = ["detector", "attack", "immunized", "ids", "labels", "scores", "predicted", "confidence",
               "open_predicted", "open_confidence", "bits_correct"]
    names = {"ids": "image_id", "labels": "source", "scores": "score", "bits_correct": "bitwise_acc"}
    with atomic_open(out / "predictions.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([names.get(c, c) for c in columns])
        for cell in result.cells:
            for p in store.predictions(cell.key):
                p.update(detector=cell.detector, attack=cell.attack, immunized=int(cell.immunized))
                writer.writerow([p.get(c, "") for c in columns])


def run(args: argparse.Namespace) -> int:
    check_output_dir(args.out, files=OUTPUT_FILES)
    check_output_dir(args.report, "--report")
    check_output_dir(args.save_fitted, "--save-fitted")
    store_path = check_output_file(args.store or default_store_path(), "--store")
    executor = make_executor(args.executor, args.jobs, args.ray_address)
    with ResultStore(store_path) as store:  # a store that cannot be used is refused before any work
        started = time.time()
        registry = load_registry()
        dataset = open_dataset(args.dataset, registry, image_size=args.image_size, image_fit=args.image_fit)
        # what reopens it in a worker: with --image-size/--image-fit, its name carries them (:size=N:fit=F)
        spec = dataset.name if args.image_size is not None or args.image_fit is not None else args.dataset
        try:
            registry.select("detectors", args.plugins)
            with executor:
                result = run_benchmark(registry, dataset, plugins=args.plugins, attacks=args.attacks,
                                       seed=args.seed, store=store, resume=args.resume,
                                       batch_size=args.batch_size, immunize=args.immunize, executor=executor,
                                       dataset_spec=dataset_spec_for_workers(spec),
                                       threads=args.threads, save_fitted=args.save_fitted)
        except UnknownNameError as error:
            raise UsageError(str(error).strip("'\"")) from error
        print(f"dataset {dataset.name} ({dataset.content_hash()}), seed {args.seed}\n")
        skipped = sorted(dataset.skipped, key=lambda s: s.id)  # the same note whatever order jobs read them in
        print(render(result.cells, args.format, registry.failures, skipped))
        if args.out is not None:
            write_outputs(result, store, args.out)
            print(f"\nwrote {args.out / 'results.json'} and {args.out / 'predictions.csv'}", file=sys.stderr)
        record_run(store, result, registry, dataset_spec=dataset_spec_for_workers(args.dataset), seed=args.seed,
                   started=started, argv=getattr(args, "bench_argv", None))
        if args.report is not None:
            print(f"wrote {write_report(store, result.run_id, args.report)}", file=sys.stderr)
        for saved in result.saved:
            print(f"saved {saved.path}" if saved.error is None else
                  f"bench: error: could not save {saved.detector} into {saved.path}: {saved.error}", file=sys.stderr)
    if any(s.error is not None and not s.unfitted for s in result.saved):
        return 1
    return 0 if any(c.ok for c in result.cells) else 1
