"""Scale of folder:PATH: indexing and decoding a folder of 128x128 PNG images, with peak memory.

    python -m pytest tests/perf/test_perf_folder.py --benchmark-only -s

builds folders of 200, 2,000 and 20,000 images (real + four generators; the two large ones only
when benchmarks are timed) and measures, each in a fresh process:

- indexing: ``FolderDataset(PATH)`` (listing, headers only, in threads);
- decoding: every image of every split read batch by batch (256 per batch), with 1 and 2
  decoding threads;
- one epoch of ``cnn`` (default network, one thread) through ``ganprint.protocol.fit_method``, which
  streams the train split from the files (a DataLoader worker decodes one batch ahead);
- scoring: that one-epoch ``cnn`` on every test image, batch by batch.

Each prints images per second and peak RSS: that of the process after indexing (from its value
with ganprint and OpenCV imported), and how much decoding, fitting or scoring added to it, which
must not grow with the number of images (batch by batch: at most four batches' worth of images,
plus the network's training memory for a fit).
The default test run builds and measures only the 200-image folder, once.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SIZES = [200, 2_000, 20_000]
SIDE = 128
SOURCES = ["real", "gen0", "gen1", "gen2", "gen3"]
BATCH = 256
# decoding holds the batch being read, the one the caller still has, and the allocator's slack
DECODING_MEMORY_LIMIT_MB = 4 * BATCH * SIDE * SIDE * 3 / 2**20
# a cnn epoch also holds the network's activations: 32 images a training step, 256 a scoring batch
# (16 channels at 128 px are 256 MB per layer there), whatever the number of images
FIT_MEMORY_LIMIT_MB = DECODING_MEMORY_LIMIT_MB + 1500
# what a fit or scoring may add going from the 2,000-image folder to the 20,000-image one (peak
# RSS); the 200-image folder is no reference, its val and test splits fill no whole batch
GROWTH_LIMIT_MB = DECODING_MEMORY_LIMIT_MB
_added: dict[tuple[str, int], float] = {}

CHILD = """
import json, resource, sys, time
import cv2  # the codec's libraries: a fixed cost of the process, not of the images
from ganprint.datasets.folder import FolderDataset
root, task, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = peak_mb()
start = time.perf_counter()
dataset = FolderDataset(root, workers=workers)
indexing = time.perf_counter() - start
indexed = peak_mb()
result = {"images": len(dataset.records()), "seconds": indexing, "rss_before_mb": before, "rss_indexed_mb": indexed}
if task == "decode":
    start = time.perf_counter()
    n = 0
    for split in ("train", "val", "test"):
        for batch in dataset.batches(split, %d):
            n += len(batch)
    result.update(images=n, seconds=time.perf_counter() - start, rss_decoded_mb=peak_mb())
if task in ("fit", "score"):
    from functools import partial
    import torch
    from ganprint import protocol
    from ganprint.plugins.cnn.attributor import CNNAttributor
    torch.set_num_threads(1)
    result["rss_indexed_mb"] = peak_mb()  # with torch loaded
    start = time.perf_counter()
    cnn = protocol.fit_method(partial(CNNAttributor, max_epochs=1, cache=False), dataset, seed=0)
    result.update(images=len(dataset.select("train")), seconds=time.perf_counter() - start, rss_decoded_mb=peak_mb())
    if task == "score":
        start = time.perf_counter()
        n = 0
        for batch in dataset.batches("test", %d):
            cnn.predict_proba(batch.images)
            n += len(batch)
        result.update(images=n, seconds=time.perf_counter() - start, rss_decoded_mb=peak_mb())
print(json.dumps(result))
""" % (BATCH, BATCH)


def write_images(root: Path, n: int) -> Path:
    """``n`` PNG images of SIDE x SIDE, spread over SOURCES: smooth fields plus noise, all different."""
    rng = np.random.default_rng(0)
    bases = rng.uniform(30, 220, (16, 4, 4, 3))
    for source in SOURCES:
        (root / source).mkdir(parents=True)
    for i in range(n):
        base = np.kron(bases[i % 16], np.ones((SIDE // 4, SIDE // 4, 1)))
        image = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(root / SOURCES[i % len(SOURCES)] / f"{i:06d}.png", compress_level=1)
    return root


@pytest.fixture(scope="module")
def folders(tmp_path_factory, request) -> dict[int, Path]:
    timed = not request.config.option.benchmark_disable
    sizes = SIZES if timed else SIZES[:1]
    return {n: write_images(tmp_path_factory.mktemp(f"folder{n}"), n) for n in sizes}


def measure(root: Path, task: str, workers: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(root), task, str(workers)],
                         capture_output=True, text=True, check=True, env={**os.environ, "TQDM_DISABLE": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def _run(benchmark, folders, n: int, task: str, workers: int) -> dict:
    if n not in folders:
        pytest.skip("the large folders are built only when benchmarks are timed (--benchmark-only)")
    benchmark.group = f"folder:{task}"
    result = benchmark.pedantic(measure, args=(folders[n], task, workers), rounds=1, iterations=1)
    result["images_per_second"] = result["images"] / result["seconds"]
    benchmark.extra_info.update(result)
    print(f"\n{task} n={n} workers={workers}: {result['images_per_second']:.0f} images/s, "
          f"peak RSS {result['rss_indexed_mb']:.0f} MB after indexing (from {result['rss_before_mb']:.0f} MB)"
          + (f", {result['rss_decoded_mb'] - result['rss_indexed_mb']:.0f} MB more while {task}"
             if "rss_decoded_mb" in result else ""))
    return result


@pytest.mark.parametrize("n", SIZES)
def test_indexing(benchmark, folders, n: int) -> None:
    result = _run(benchmark, folders, n, "index", 1)
    assert result["images"] == n


@pytest.mark.parametrize("task", ["fit", "score"])
@pytest.mark.parametrize("n", SIZES)
def test_one_epoch_of_cnn_and_scoring(benchmark, folders, n: int, task: str) -> None:
    result = _run(benchmark, folders, n, task, 1)
    added = _added[(task, n)] = result["rss_decoded_mb"] - result["rss_indexed_mb"]
    assert added < FIT_MEMORY_LIMIT_MB
    reference = _added.get((task, SIZES[1]))
    if n > SIZES[1] and reference is not None:
        assert added - reference < GROWTH_LIMIT_MB, f"{task}: {added:.0f} MB at {n} images, {reference:.0f} at {SIZES[1]}"


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("n", SIZES)
def test_decoding(benchmark, folders, n: int, workers: int) -> None:
    result = _run(benchmark, folders, n, "decode", workers)
    assert result["images"] == n
    assert result["rss_decoded_mb"] - result["rss_indexed_mb"] < DECODING_MEMORY_LIMIT_MB
