"""The evaluation protocol: splits, held-out sources, batched scoring, attacks on test images only."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pytest

from ganprint import Attack, protocol
from ganprint.dataset import ArrayDataset, ImageRecord, assign_splits
from ganprint.images import check_images
from ganprint.plugins.knn import KNNAttributor
from ganprint.testing import synthetic_sources


def make_dataset(n_per_source: int = 20, n_generated: int = 3) -> ArrayDataset:
    X, y = synthetic_sources(n_per_source, 16, n_generated=n_generated)
    splits = []
    for source in dict.fromkeys(y):
        idx = np.flatnonzero(y == source)
        splits += assign_splits([f"{source}/{i}" for i in idx])
    return ArrayDataset("synthetic", X, list(y), splits)


class CountingDataset(ArrayDataset):
    largest_read = 0

    def read(self, records: Sequence[ImageRecord]):
        CountingDataset.largest_read = max(CountingDataset.largest_read, len(records))
        return super().read(records)


def test_assign_splits_is_order_independent_and_exact() -> None:
    keys = [f"k{i}" for i in range(50)]
    splits = dict(zip(keys, assign_splits(keys)))
    assert dict(zip(keys[::-1], assign_splits(keys[::-1]))) == splits
    assert sorted(splits.values()).count("train") == 30 and list(splits.values()).count("test") == 10


def test_held_out_sources_depend_on_seed_only() -> None:
    sources = ["real", "a", "b", "c", "d", "e", "f", "g", "h"]
    held = protocol.held_out_sources(sources, 0)
    assert len(held) == 2 and "real" not in held
    assert protocol.held_out_sources(list(reversed(sources)), 0) == held
    assert protocol.held_out_sources(["real", "a"], 0) == []


def test_scoring_reads_in_batches() -> None:
    base = make_dataset()
    dataset = CountingDataset("counting", base.images, [r.source for r in base.records()],
                              [r.split for r in base.records()])
    fitted = protocol.prepare(KNNAttributor, dataset, seed=0)
    CountingDataset.largest_read = 0
    protocol.evaluate(fitted, dataset, seed=0, batch_size=5)
    assert CountingDataset.largest_read == 5


def test_open_world_model_never_sees_held_out_sources() -> None:
    dataset = make_dataset()
    fitted = protocol.prepare(KNNAttributor, dataset, seed=1)
    assert fitted.held_out and set(fitted.open_method.classes_) == set(fitted.known)
    assert set(fitted.method.classes_) == set(dataset.sources)
    results, outputs = protocol.evaluate(fitted, dataset, seed=1)
    assert {"detection", "closed_world", "open_world"} <= set(results)
    assert results["open_world"]["held_out"] == fitted.held_out
    assert len(outputs.ids) == sum(dataset.count("test").values())


def test_recorded_thresholds_reproduce_the_accuracies() -> None:
    """The thresholds evaluate records (shown by `bench report`) are the ones the metrics used."""
    dataset = make_dataset()
    fitted = protocol.prepare(KNNAttributor, dataset, seed=1)
    results, out = protocol.evaluate(fitted, dataset, seed=1)
    labels = np.asarray(out.labels)
    threshold = results["detection"]["threshold"]
    assert threshold == fitted.detection_threshold
    assert results["detection"]["acc"] == np.mean((np.asarray(out.scores) >= threshold) == (labels != "real"))
    rejection = results["open_world"]["rejection_threshold"]
    assert rejection == fitted.rejection_threshold
    truth = np.where(np.isin(labels, fitted.known), labels, "unknown")
    decided = np.where(np.asarray(out.open_confidence) >= rejection, np.asarray(out.open_predicted), "unknown")
    assert results["open_world"]["acc"] == np.mean(truth == decided)


class Invert(Attack):
    def __call__(self, X, rng):
        return 255 - X


def test_attack_applies_to_test_images_only() -> None:
    dataset = make_dataset()
    fitted = protocol.prepare(KNNAttributor, dataset, seed=0)
    clean, _ = protocol.evaluate(fitted, dataset, seed=0)
    inverted, _ = protocol.evaluate(fitted, dataset, seed=0, attack=Invert(), attack_name="invert")
    assert inverted["closed_world"]["acc"] < clean["closed_world"]["acc"]


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 8, 8, 3), np.float32), "uint8"),
    (np.zeros((8, 8, 3), np.uint8), "single image"),
    (np.zeros((2, 8, 8), np.uint8), r"\(N, H, W, 3\)"),
    (np.zeros((2, 8, 8, 1), np.uint8), "grayscale"),
    ([[1, 2]], "numpy"),
])
def test_check_images_explains(bad, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_images(bad)


def test_baselines_reject_wrong_size_after_fit() -> None:
    dataset = make_dataset()
    method = KNNAttributor().fit(dataset.images, np.array([r.source for r in dataset.records()]))
    with pytest.raises(ValueError, match="16x16"):
        method.predict_proba(np.zeros((1, 32, 32, 3), np.uint8))
