"""``bench sweep``: metric-versus-strength curves of one attack and their working ranges
(Yu et al. 2021 §4.6), e.g. ``bench sweep --plugins knn --dataset D --attack jpeg
--strengths 90,70,50,30,10 --out DIR``.

Each detector is fitted once on clean training images; its test images are then attacked at
each fixed strength (the attack parameter named by the attack class's ``strength_param``, or
``--param``). The command writes ``sweep_<attack>.png`` and ``sweep_<attack>.json`` into DIR,
prints the metric at each strength with the working range, and records the curves in the results
store, where ``bench report`` finds them for runs on the same dataset content and seed.
"""
from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from tabulate import tabulate

from ganprint.atomic import write_json
from ganprint.benchmark.executors import (
    Ref,
    RunContext,
    Task,
    add_executor_arguments,
    dataset_spec_for_workers,
    make_executor,
)
from ganprint.benchmark.leaderboard import PROTOCOLS
from ganprint.benchmark.outcome import Outcome
from ganprint.benchmark.run_record import command_line
from ganprint.benchmark.store import ResultStore, SweepRecord, default_store_path
from ganprint.benchmark.tasks import DetectorFactory, evaluate, prepare
from ganprint.commands import (
    UsageError,
    add_dataset_argument,
    add_out_argument,
    add_seed_argument,
    check_output_dir,
    check_output_file,
    finite_float,
    names,
    open_dataset,
    positive_int,
)
from ganprint.registry import UnknownNameError, load_registry
from ganprint.sweep import DEFAULT_THRESHOLD, SweepCurve, curve_from_results, plot_sweep


# the metrics a sweep can follow: those of the leaderboards
SWEEP_METRICS = tuple(f"{protocol_name}.{key}" for protocol_name, (_, columns) in PROTOCOLS.items() for key, _ in columns)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--plugins", default="all", help="'all' or a comma list of detector names and globs")
    add_dataset_argument(parser)
    parser.add_argument("--attack", required=True, help="a registered attack, e.g. jpeg")
    parser.add_argument("--strengths", required=True,
                        help="comma list of fixed strengths, mildest first (e.g. jpeg quality 90,70,50,30,10)")
    parser.add_argument("--param", default=None,
                        help="the attack parameter to set (default: the attack's strength_param)")
    parser.add_argument("--metric", default=None,
                        help="dotted metric, e.g. closed_world.acc, detection.auc, fingerprint.bitwise_acc "
                             "(default: bitwise acc, else closed-world acc, else detection acc)")
    parser.add_argument("--threshold", type=finite_float, default=DEFAULT_THRESHOLD,
                        help="working range: metric at or above this")
    add_seed_argument(parser)
    parser.add_argument("--batch-size", type=positive_int, default=256, help="test images scored per batch")
    parser.add_argument("--store", type=Path, default=None,
                        help=f"results database the curves are recorded in (default: {default_store_path()})")
    add_out_argument(parser, "folder for the PNG and JSON")
    add_executor_arguments(parser)


def parse_strengths(text: str) -> list[int | float]:
    """``"90,70,50"`` → ``[90, 70, 50]``; integers stay integers, anything else becomes a float."""
    strengths: list[int | float] = []
    for part in names(text):
        try:
            strengths.append(int(part))
        except ValueError:
            try:
                strengths.append(float(part))
            except ValueError:
                raise UsageError(f"--strengths must be numbers separated by commas; got {part!r}") from None
            if not math.isfinite(strengths[-1]):
                raise UsageError(f"--strengths must be finite numbers; got {part!r}")
    if not strengths:
        raise UsageError("--strengths needs at least one value")
    return strengths


def strength_param(attack: Any, name: str, given: str | None) -> str:
    """The parameter a sweep sets: ``--param`` or the attack class's ``strength_param``."""
    param = given or getattr(type(attack), "strength_param", None)
    if not param:
        raise UsageError(f"attack {name!r} declares no strength_param: give --param")
    if param not in attack.get_params():
        raise UsageError(f"attack {name!r} has no parameter {param!r}; it has {', '.join(attack.get_params())}")
    return param


def run(args: argparse.Namespace) -> int:
    check_output_dir(args.out, files=(f"sweep_{args.attack}.png", f"sweep_{args.attack}.json"))
    store_path = check_output_file(args.store or default_store_path(), "--store")
    ResultStore(store_path).close()  # a store that cannot be used is refused now, not after the sweep
    make_executor(args.executor, args.jobs, args.ray_address)  # a missing Ray is a usage error before any work
    registry = load_registry()
    dataset = open_dataset(args.dataset, registry)
    try:
        specs = registry.select("detectors", args.plugins)
        attack_spec = registry.get("attacks", args.attack)
    except UnknownNameError as error:
        raise UsageError(str(error).strip("'\"")) from error
    strengths = parse_strengths(args.strengths)
    if args.metric is not None and args.metric not in SWEEP_METRICS:
        raise UsageError(f"--metric {args.metric!r} is not a metric; use one of {', '.join(SWEEP_METRICS)}")
    param = strength_param(attack_spec.factory(), attack_spec.name, args.param)
    for strength in strengths:
        try:
            attack_spec.factory(**{param: strength})
        except (TypeError, ValueError) as error:
            raise UsageError(f"{attack_spec.name} {param}={strength}: {error}") from error

    curves, errors = sweep_curves(specs, dataset, attack_spec, param, strengths, args)

    print(f"dataset {dataset.name} ({dataset.content_hash()}), attack {attack_spec.name}, seed {args.seed}\n")
    header = ["detector", "metric"] + [f"{param}={s}" for s in strengths] + [f"working range (≥ {args.threshold:g})"]
    rows = [[c.label, c.metric] + [_format(v) for v in c.values] + [c.describe_range(args.threshold)] for c in curves]
    rows += [[name, "ERR"] + [""] * (len(strengths) + 1) for name, _ in errors]
    print(tabulate(rows, header, tablefmt="github", disable_numparse=True))
    if errors:
        print("\n" + "\n".join(f"ERR {name}: {error}" for name, error in errors))
    if curves:
        png = plot_sweep(curves, args.out / f"sweep_{attack_spec.name}.png", args.threshold,
                         title=f"{attack_spec.name} on {dataset.name}")
        record = {"dataset": dataset.name, "dataset_hash": dataset.content_hash(), "attack": attack_spec.name,
                  "param": param, "threshold": args.threshold, "seed": args.seed,
                  "curves": [dict(c.as_dict(), working_range=c.working_range(args.threshold)) for c in curves]}
        write_json(args.out / f"sweep_{attack_spec.name}.json", record)
        with ResultStore(store_path) as store:
            for curve in curves:
                store.put_sweep(SweepRecord(dataset.name, dataset.content_hash(), args.seed,
                                            command_line(getattr(args, "bench_argv", None)), args.threshold,
                                            curve.as_dict(), time.time()))
        print(f"\nwrote {png} and {png.with_suffix('.json')}")
    return 0 if curves else 1


def sweep_tasks(specs: list[Any], attack_spec: Any, param: str, strengths: list[Any],
                args: argparse.Namespace) -> list[Task]:
    """Per detector: one clean fit (calibrated), then one evaluation per strength."""
    tasks = []
    for spec in specs:
        fit_id = f"{spec.name}|prepare"
        tasks.append(Task(fit_id, prepare, (DetectorFactory.of(spec.name, spec.factory),),
                          dict(seed=args.seed, batch_size=args.batch_size), label=f"{spec.name} fit"))
        for i, strength in enumerate(strengths):
            tasks.append(Task(f"{spec.name}|{i}", evaluate, (Ref(fit_id),), dict(
                seed=args.seed, attack=attack_spec.factory(**{param: strength}), attack_name=attack_spec.name,
                batch_size=args.batch_size, progress=None), label=f"{spec.name} {param}={strength}"))
    return tasks


def sweep_curves(specs: list[Any], dataset: Any, attack_spec: Any, param: str, strengths: list[Any],
                 args: argparse.Namespace) -> tuple[list[SweepCurve], list[tuple[str, str]]]:
    """The curve of every detector whose fit and evaluations all succeeded, and the errors of the others."""
    results: dict[str, dict[int, Any]] = {spec.name: {} for spec in specs}
    failed: dict[str, str] = {}
    context = RunContext(dataset.content_hash(), dataset_spec_for_workers(args.dataset), dataset, args.threads)
    with make_executor(args.executor, args.jobs, args.ray_address) as executor:
        for task, outcome in executor.run(sweep_tasks(specs, attack_spec, param, strengths, args), context):
            name, _, point = task.id.partition("|")
            if not outcome.ok:
                failed.setdefault(name, outcome.error)
            elif point != "prepare":
                results[name][int(point)] = outcome.value[0]
    curves, errors = [], []
    for spec in specs:
        if spec.name in failed:
            errors.append((spec.name, failed[spec.name]))
            continue
        outcome = Outcome.of(lambda: curve_from_results(
            spec.name, attack_spec.name, param, strengths, [results[spec.name][i] for i in range(len(strengths))],
            args.metric))
        if outcome.ok:
            curves.append(outcome.value)
        else:
            errors.append((spec.name, outcome.error))
    return curves, errors


def _format(value: float) -> str:
    return "nan" if math.isnan(value) else f"{value:.3f}"
