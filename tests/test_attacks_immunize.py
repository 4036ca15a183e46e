"""Immunisation (Yu et al. 2019 §4.4, the "Dfs" columns): refit, or fine-tune when a method can."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ganprint import Detector, DetectorSpec, hookimpl, protocol
from ganprint.benchmark.leaderboard import render
from ganprint.benchmark.runner import run_benchmark
from ganprint.benchmark.store import ResultStore
from ganprint.plugins.attacks.jpeg import JPEGCompression
from ganprint.plugins.knn import KNNAttributor
from ganprint.registry import load_registry
from test_attacks_sweep import small_dataset


class MeanBrightness(Detector):
    """A toy detector that can be fine-tuned: it remembers the mean of the images it was trained on."""

    def __init__(self, momentum: float = 0.5) -> None:
        self.momentum = momentum

    def fit(self, X: np.ndarray, y: np.ndarray) -> "MeanBrightness":
        self.means_ = [float(X.mean())]
        return self

    def fine_tune(self, X: np.ndarray, y: np.ndarray) -> "MeanBrightness":
        self.means_ = self.means_ + [float(X.mean())]
        return self

    def score(self, X: np.ndarray) -> np.ndarray:
        return np.abs(X.mean(axis=(1, 2, 3)) - self.means_[-1])


class ToyPlugin:
    @hookimpl
    def ganprint_detectors(self):
        yield DetectorSpec("toy-finetune", MeanBrightness, "fine-tunable toy detector")


def test_can_fine_tune() -> None:
    assert protocol.can_fine_tune(MeanBrightness())
    assert not protocol.can_fine_tune(KNNAttributor())


def test_prepare_fine_tunes_a_copy_on_attacked_training_images() -> None:
    dataset = small_dataset()
    clean = protocol.prepare(MeanBrightness, dataset, seed=0)
    before = list(clean.method.means_)
    immunized = protocol.prepare(MeanBrightness, dataset, seed=0, train_attack=JPEGCompression(quality=10),
                                 attack_name="jpeg", fine_tune_from=clean)
    assert clean.method.means_ == before, "the clean fit must stay as it was"
    assert immunized.method is not clean.method
    assert immunized.method.means_[:1] == before and len(immunized.method.means_) == 2
    refit = protocol.prepare(MeanBrightness, dataset, seed=0, train_attack=JPEGCompression(quality=10),
                             attack_name="jpeg")
    assert refit.method.means_ == immunized.method.means_[1:], "fine-tuned on the same attacked images"
    knn = protocol.prepare(KNNAttributor, dataset, seed=0)
    knn_immunized = protocol.prepare(KNNAttributor, dataset, seed=0, train_attack=JPEGCompression(quality=10),
                                     attack_name="jpeg", fine_tune_from=knn)
    assert knn_immunized.method is not knn.method and knn_immunized.open_method is not knn.open_method


def test_bench_run_immunize_says_refit_or_fine_tuned(tmp_path: Path) -> None:
    registry = load_registry(modules=[("toy", ToyPlugin())])
    with ResultStore(tmp_path / "store.db") as store:
        result = run_benchmark(registry, small_dataset(), plugins="toy-finetune,knn", attacks="jpeg,blur",
                               store=store, immunize=True, progress=False)
    assert all(c.ok for c in result.cells), [c.error for c in result.cells]
    groups = {(c.detector, c.attack, c.immunized) for c in result.cells}
    assert groups == {(d, a, i) for d in ("toy-finetune", "knn") for a in ("jpeg", "blur") for i in (False, True)}
    order = [(c.attack, c.immunized) for c in result.cells if c.detector == "knn"]
    assert order == [("jpeg", False), ("jpeg", True), ("blur", False), ("blur", True)], "dfs next to its attack"
    how = {c.detector: c.provenance["immunization"] for c in result.cells if c.immunized}
    assert how == {"toy-finetune": "fine-tuned", "knn": "refit"}
    assert all("immunization" not in c.provenance for c in result.cells if not c.immunized)
    table = render(result.cells, "plain")
    assert "jpeg dfs" in table and "toy-finetune fine-tuned" in table and "knn refit" in table
