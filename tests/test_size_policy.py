"""Size policy of datasets read from files: resize / crop / random-crop, the dataset argument and
``--image-size``; reading records with decoding workers, and pickling for DataLoader workers."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganprint.dataset import DatasetError
from ganprint.datasets.decode import fit_to_size
from ganprint.datasets.folder import FolderDataset
from ganprint.datasets.size_policy import SizePolicy, split_options

from conftest import run_bench


def coordinates_image(h: int, w: int) -> np.ndarray:
    """Pixel (y, x) holds (y, x, 7): a window's position can be read off its first pixel."""
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([yy, xx, np.full_like(yy, 7)], axis=2).astype(np.uint8)


def test_crop_takes_the_centred_window_at_full_resolution() -> None:
    image = coordinates_image(10, 14)
    out = SizePolicy(4, "crop").apply(image, "a.png", "train")
    # centred 4x4 of 10x14: top (10-4)//2 = 3, left (14-4)//2 = 5
    assert (out == image[3:7, 5:9]).all()


def test_random_crop_moves_with_id_and_epoch_in_training_only() -> None:
    image = coordinates_image(40, 50)
    policy = SizePolicy(8, "random-crop")
    windows = {(int(w[0, 0, 0]), int(w[0, 0, 1])) for w in
               (policy.apply(image, f"{i}.png", "train") for i in range(20))}
    assert len(windows) > 10   # 20 ids, 33*43 positions: all but a few must differ
    for top, left in windows:
        assert 0 <= top <= 32 and 0 <= left <= 42
        assert (policy.apply(image, "x", "train", epoch=0) == policy.apply(image, "x", "train", epoch=0)).all()
    assert not (policy.apply(image, "x", "train", epoch=0) == policy.apply(image, "x", "train", epoch=1)).all()
    for split in ("val", "test"):   # centred: top (40-8)//2 = 16, left (50-8)//2 = 21
        assert (policy.apply(image, "x", split) == image[16:24, 21:29]).all()


def test_crop_enlarges_a_small_image_to_the_size_first() -> None:
    image = np.full((6, 9, 3), 100, np.uint8)
    out = SizePolicy(12, "crop").apply(image, "a", "test")
    assert out.shape == (12, 12, 3) and (out == 100).all()


def test_resize_is_the_default_rule() -> None:
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    assert (SizePolicy(20).apply(image, "a", "train") == fit_to_size(image, 20)).all()


@pytest.mark.parametrize("argument, expected", [
    ("/data/x", ("/data/x", None, None)),
    ("/data/x:size=128", ("/data/x", 128, None)),
    ("/data/x:fit=random-crop:size=64", ("/data/x", 64, "random-crop")),
    ("C:/odd:path:size=32", ("C:/odd:path", 32, None)),
])
def test_dataset_argument_options(argument: str, expected: tuple) -> None:
    assert split_options(argument) == expected


@pytest.mark.parametrize("argument, message", [
    ("/x:size=big", "whole number"), ("/x:fit=stretch", "fit= must be one of"), ("/x:size=1:size=2", "twice"),
])
def test_bad_dataset_options_are_refused(argument: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        split_options(argument)


def image_folder(root: Path, side: int = 48) -> Path:
    rng = np.random.default_rng(0)
    for source in ("real", "gen0"):
        (root / source).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (side, side + 8, 3), dtype=np.uint8)).save(root / source / f"{i}.png")
    return root


def test_folder_reads_random_training_crops_and_centred_test_crops(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d")
    default = FolderDataset(root)
    assert default.image_size == 48 and default.name == f"folder:{root}"
    cropped = FolderDataset(root, image_size=16, image_fit="random-crop")
    assert cropped.name == f"folder:{root}:size=16:fit=random-crop"
    assert cropped.content_hash() != FolderDataset(root, image_size=16).content_hash()
    assert FolderDataset(root, image_size=48).content_hash() == default.content_hash()
    for record in cropped.records():
        full = np.asarray(Image.open(root / record.id).convert("RGB"))
        image = cropped.read([record])[0][0]
        if record.split == "train":
            hits = [(t, l) for t in range(33) for l in range(41) if (full[t:t + 16, l:l + 16] == image).all()]
            assert hits, record.id
        else:   # centred: top (48-16)//2 = 16, left (56-16)//2 = 20
            assert (image == full[16:32, 20:36]).all()


def test_read_with_workers_and_after_pickling_gives_the_same_images(tmp_path: Path) -> None:
    dataset = FolderDataset(image_folder(tmp_path / "d"), image_size=32, image_fit="random-crop")
    records = list(dataset.records())
    serial, kept = dataset.read(records, workers=1)
    parallel, kept_parallel = dataset.read(records, workers=3)
    assert kept == kept_parallel == records and (serial == parallel).all()
    copy = pickle.loads(pickle.dumps(dataset))
    assert (copy.read(records[::-1])[0] == serial[::-1]).all()
    assert (dataset.read(records, epoch=1)[0] != serial).any()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_bench_run_image_size_option(tmp_path: Path, jobs: str) -> None:
    """Worker processes (--jobs 2) reopen the dataset at the size the driver read it."""
    root = image_folder(tmp_path / "d")
    result = run_bench("run", "--plugins", "knn", "--dataset", f"folder:{root}", "--image-size", "24",
                       "--image-fit", "crop", "--jobs", jobs, "--store", str(tmp_path / "s.db"))
    assert result.returncode == 0, result.stderr
    hash_ = FolderDataset(root, image_size=24, image_fit="crop").content_hash()
    assert f"dataset folder:{root}:size=24:fit=crop ({hash_})" in result.stdout


def test_a_fixed_size_dataset_refuses_an_image_size(tmp_path: Path) -> None:
    result = run_bench("run", "--plugins", "knn", "--dataset", "zoo:smoke", "--image-size", "24",
                       "--store", str(tmp_path / "s.db"))
    assert result.returncode == 2 and "fixed image size" in result.stderr
