"""Streaming fits: images read on demand give the same fits as the split loaded in memory."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from ganprint import protocol
from ganprint.dataset import ArrayDataset
from ganprint.lazy_images import LazyImages, TrainingAttack, readable, take
from ganprint.plugins.attacks.jpeg import JPEGCompression
from ganprint.plugins.attacks.noise import GaussianNoise
from ganprint.plugins.cnn.attributor import CNNAttributor
from ganprint.plugins.eigenface import EigenfaceAttributor
from ganprint.registry import load_registry
from ganprint.testing import synthetic_sources

from conftest import write_folder


def array_dataset() -> ArrayDataset:
    X, y = synthetic_sources(12, 16, n_generated=2)
    splits = ["train", "train", "val", "test"] * (len(X) // 4)
    return ArrayDataset("toy", X, y, splits)


def test_indexing_reads_the_records_it_names() -> None:
    dataset = array_dataset()
    records = dataset.select("train")
    lazy = LazyImages(dataset, records)
    full = dataset.read(records)[0]
    assert lazy.shape == full.shape and len(lazy) == len(full) and lazy.dtype == np.uint8
    assert np.array_equal(lazy[3], full[3])
    assert np.array_equal(lazy[2:7], full[2:7])
    assert np.array_equal(lazy[np.array([5, 0, 5])], full[[5, 0, 5]])
    mask = np.arange(len(full)) % 3 == 0
    assert np.array_equal(lazy[mask], full[mask])
    assert np.array_equal(np.asarray(lazy), full)
    assert np.array_equal(np.asarray(take(lazy, np.array([4, 1]))), full[[4, 1]])


def test_a_training_attack_gives_an_image_the_same_pixels_in_any_batch() -> None:
    dataset = array_dataset()
    lazy = LazyImages(dataset, dataset.select("train"), TrainingAttack(GaussianNoise(std=8.0), "noise", seed=3))
    together = lazy[np.array([0, 1, 2, 3])]
    apart = np.concatenate([lazy[np.array([3])], lazy[np.array([1, 0])], lazy[np.array([2])]])
    assert np.array_equal(together, apart[[2, 1, 3, 0]])
    clean = LazyImages(dataset, dataset.select("train"))
    assert not np.array_equal(together, clean[np.array([0, 1, 2, 3])])


def test_content_key_names_the_images_and_the_attack_without_reading_them() -> None:
    dataset = array_dataset()
    records = dataset.select("train")
    plain = LazyImages(dataset, records).content_key()
    assert LazyImages(dataset, records).content_key() == plain
    assert LazyImages(dataset, records[:-1]).content_key() != plain
    assert LazyImages(dataset, records, TrainingAttack(JPEGCompression(quality=50), "jpeg", 0)).content_key() != plain


def test_readable_leaves_out_what_cannot_be_read(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "images", n_per_source=6, size=16)
    broken = sorted((folder / "gen0").iterdir())[0]
    dataset = load_registry().open_dataset(f"folder:{folder}")
    records = list(dataset.records())
    broken.write_bytes(b"not an image any more")
    kept = readable(dataset, records)
    assert len(kept) == len(records) - 1
    assert any(s.id.endswith(broken.name) for s in dataset.skipped)


class InMemory(CNNAttributor):
    streams_images = False


class InMemoryEigenface(EigenfaceAttributor):
    streams_images = False


@pytest.mark.parametrize("attack", [None, JPEGCompression(quality=30)])
@pytest.mark.parametrize("pair", [
    (partial(CNNAttributor, width=4, max_epochs=3, cache=False), partial(InMemory, width=4, max_epochs=3, cache=False)),
    (EigenfaceAttributor, InMemoryEigenface),
], ids=["cnn", "eigenface"])
def test_a_streamed_fit_equals_a_fit_in_memory(pair, attack, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "images", n_per_source=12, size=16)
    dataset = load_registry().open_dataset(f"folder:{folder}")
    test = dataset.load("test").images
    streamed, loaded = (protocol.fit_method(factory, dataset, seed=0, train_attack=attack, attack_name="jpeg")
                        for factory in pair)
    assert np.array_equal(streamed.predict_proba(test), loaded.predict_proba(test))
