"""Robustness sweeps (Yu et al. 2021 §4.6): working ranges, metric look-up, curves, ``bench sweep``."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import write_folder
from ganprint import protocol
from ganprint.benchmark import cmd_sweep
from ganprint.benchmark.store import ResultStore
from ganprint.commands import UsageError
from ganprint.sweep import (
    SweepCurve, attack_sweep, available_metrics, default_metric, metric_value, plot_sweep, working_range,
)
from ganprint.dataset import ArrayDataset, assign_splits
from ganprint.plugins.attacks.blur import GaussianBlur
from ganprint.plugins.attacks.noise import GaussianNoise
from ganprint.plugins.knn import KNNAttributor
from ganprint.testing import synthetic_sources


def small_dataset() -> ArrayDataset:
    X, y = synthetic_sources(15, 16, n_generated=2, seed=0)
    splits = np.empty(len(y), dtype=object)
    for source in set(y):
        rows = np.flatnonzero(y == source)
        splits[rows] = assign_splits([f"{source}/{i}" for i in rows])
    return ArrayDataset("small", X, y, list(splits))


@pytest.mark.parametrize("values, expected", [
    ([0.9, 0.8, 0.75, 0.6, 0.9], (90, 50)),
    ([0.9, 0.7, 0.9, 0.9, 0.9], (90, 90)),
    ([0.7, 0.9, 0.9, 0.9, 0.9], None),
    ([0.9, math.nan, 0.9, 0.9, 0.9], (90, 90)),
    ([0.8, 0.8, 0.8, 0.8, 0.8], (90, 10)),
])
def test_working_range_is_the_leading_run_at_or_above_threshold(values, expected) -> None:
    assert working_range([90, 70, 50, 30, 10], values, 0.75) == expected


def test_working_range_checks_lengths() -> None:
    with pytest.raises(ValueError, match="strengths"):
        working_range([1, 2], [0.9])


def test_curve_describes_its_range() -> None:
    curve = SweepCurve("m", "jpeg", "quality", "closed_world.acc", [90, 50, 10], [0.9, 0.8, 0.2])
    assert curve.describe_range() == "quality 90..50"
    assert curve.describe_range(0.85) == "quality 90"
    assert curve.describe_range(0.95).startswith("none")


def test_metric_lookup_and_default() -> None:
    results = {"detection": {"auc": 0.9, "acc": 0.8}, "closed_world": {"acc": 0.7, "per_class_acc": {}}}
    assert metric_value(results, "detection.auc") == 0.9
    assert default_metric(results) == "closed_world.acc"
    assert default_metric({"detection": {"auc": 0.9, "acc": 0.8}}) == "detection.acc"
    assert default_metric({**results, "fingerprint": {"bitwise_acc": 0.99}}) == "fingerprint.bitwise_acc"
    assert set(available_metrics(results)) == {"detection.auc", "detection.acc", "closed_world.acc"}
    with pytest.raises(ValueError, match="available: .*detection.auc"):
        metric_value(results, "open_world.acc")


def test_attack_sweep_at_a_no_op_strength_equals_the_clean_result() -> None:
    dataset = small_dataset()
    fitted = protocol.prepare(KNNAttributor, dataset, seed=0)
    clean, _ = protocol.evaluate(fitted, dataset, seed=0)
    curve = attack_sweep(fitted, dataset, GaussianBlur, "kernel_size", [1, 5, 9], seed=0,
                         label="knn", perturbation="blur")
    assert curve.metric == "closed_world.acc" and curve.strengths == [1, 5, 9] and len(curve.values) == 3
    assert curve.values[0] == clean["closed_world"]["acc"]
    noisy = attack_sweep(fitted, dataset, GaussianNoise, "std", [0.0, 60.0], seed=0, metric="detection.auc")
    assert noisy.values[0] == clean["detection"]["auc"]
    assert noisy.values[1] != noisy.values[0]


def test_plot_sweep_writes_a_png(tmp_path: Path) -> None:
    curves = [SweepCurve("a", "jpeg", "quality", "closed_world.acc", [90, 50, 10], [0.9, 0.8, 0.2]),
              SweepCurve("b", "jpeg", "quality", "detection.acc", [90, 50, 10], [0.6, math.nan, 0.5])]
    path = plot_sweep(curves, tmp_path / "sub" / "sweep.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no curves"):
        plot_sweep([], tmp_path / "empty.png")


def sweep_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cmd_sweep.add_arguments(parser)
    return cmd_sweep.run(parser.parse_args(argv))


def test_bench_sweep_prints_working_ranges_and_writes_png(tmp_path: Path, capsys) -> None:
    folder = write_folder(tmp_path / "images", n_per_source=15, size=16)
    out = tmp_path / "out"
    code = sweep_cli("--plugins", "knn", "--dataset", f"folder:{folder}", "--attack", "jpeg",
                     "--strengths", "90,50,10", "--threshold", "0.3", "--out", str(out),
                     "--store", str(tmp_path / "store.db"))
    printed = capsys.readouterr().out
    assert code == 0
    assert "quality=90" in printed and "quality=10" in printed and "working range (≥ 0.3)" in printed
    record = json.loads((out / "sweep_jpeg.json").read_text())
    curve = record["curves"][0]
    assert record["param"] == "quality" and curve["label"] == "knn" and curve["strengths"] == [90, 50, 10]
    expected = working_range(curve["strengths"], curve["values"], 0.3)
    assert curve["working_range"] == (None if expected is None else list(expected))
    assert (out / "sweep_jpeg.png").read_bytes()[:4] == b"\x89PNG"
    with ResultStore(tmp_path / "store.db") as store:  # recorded for `bench report`
        (stored,) = store.sweeps(record["dataset_hash"], 0)
    assert stored.curve == {k: v for k, v in curve.items() if k != "working_range"} and stored.threshold == 0.3


@pytest.mark.parametrize("argv, message", [
    (["--attack", "jpeg", "--strengths", "90,abc"], "numbers"),
    (["--attack", "jpeg", "--strengths", "0"], "quality"),
    (["--attack", "jpeg", "--strengths", "50", "--param", "colour"], "no parameter"),
    (["--attack", "jpge", "--strengths", "50"], "did you mean jpeg"),
])
def test_bench_sweep_usage_errors(tmp_path: Path, argv: list[str], message: str) -> None:
    folder = write_folder(tmp_path / "images", n_per_source=5, size=16)
    with pytest.raises(UsageError, match=message):
        sweep_cli("--plugins", "knn", "--dataset", f"folder:{folder}", "--out", str(tmp_path / "o"), *argv)
