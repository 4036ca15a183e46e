"""``bench visnet --dataset D --out DIR``: the fingerprint pictures of Yu et al. 2019, Fig. 7.

Fits the ``visnet`` detector on the train split and writes into DIR:

- ``model_fingerprints.png`` and ``model/<source>.png``: the learned model fingerprint of each source;
- ``image_fingerprints.png`` and ``image/<source>_<i>.png``: test images of each source beside their
  image fingerprints R(I) − I;
- ``fig7.png``: Fig. 7's layout, model fingerprints across the top, one image fingerprint per
  source down the side, their correlations (the responses) in the matrix between;
- ``response_matrix.png``: the mean response of the test image fingerprints of each source (rows)
  to each model fingerprint (columns);
- ``summary.json``: those matrices, test accuracy, and the training history.

Fingerprints are shown zero-mean with ±3 standard deviations spread over 0..255 (grey is zero).
Registered by the plugin through the ``ganprint_commands`` hook.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tabulate import tabulate

from ganprint.atomic import save_figure, save_image, write_json
from ganprint.commands import (
    add_dataset_argument,
    add_out_argument,
    add_seed_argument,
    check_output_dir,
    open_dataset,
    positive_int,
)
from ganprint.dataset import Dataset
from ganprint.seeding import seed_everything


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_dataset_argument(parser)
    add_out_argument(parser, "folder for the PNGs and summary.json")
    parser.add_argument("--samples", type=positive_int, default=4, help="test images shown per source")
    add_seed_argument(parser)
    parser.add_argument("--max-epochs", type=positive_int, default=None, help="override visnet's max_epochs")
    parser.add_argument("--width", type=positive_int, default=None, help="override visnet's width")
    parser.add_argument("--scale", type=positive_int, default=4, help="pixel enlargement in the PNG panels")


def display(fingerprints: np.ndarray) -> np.ndarray:
    """Float fingerprints (N, H, W, 3) → uint8: zero-mean, ±3 standard deviations over 0..255."""
    flat = fingerprints.reshape(len(fingerprints), -1)
    centred = flat - flat.mean(axis=1, keepdims=True)
    spread = 3 * centred.std(axis=1, keepdims=True) + 1e-12
    return np.clip(127.5 + 127.5 * centred / spread, 0, 255).round().astype(np.uint8).reshape(fingerprints.shape)


def _save(image: np.ndarray, path: Path, scale: int) -> None:
    save_image(Image.fromarray(image).resize((image.shape[1] * scale, image.shape[0] * scale), Image.NEAREST), path)


def fit_visnet(dataset: Dataset, seed: int, overrides: dict[str, Any]) -> Any:
    from ganprint.plugins.visnet.attributor import VisNetAttributor

    method = VisNetAttributor(random_state=seed, progress=True, **overrides)
    train = dataset.load("train")
    seed_everything(seed)
    return method.fit(train.images, train.labels)


def _samples(images: np.ndarray, labels: np.ndarray, classes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate([np.flatnonzero(labels == c)[:k] for c in classes])
    return images[rows], labels[rows]


def _matrix_plot(ax: Any, matrix: np.ndarray, rows: list[str], columns: list[str]) -> None:
    limit = max(float(np.abs(matrix).max()), 1e-6)
    ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                color="white" if abs(value) > 0.6 * limit else "black")
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)


def write_pictures(method: Any, images: np.ndarray, labels: np.ndarray, out: Path,
                   samples: int, scale: int) -> dict[str, Any]:
    """The PNGs of the module docstring for a fitted visnet and labelled test images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = [str(c) for c in method.classes_]
    out.mkdir(parents=True, exist_ok=True)
    model_fp = display(method.model_fingerprints())
    for name, picture in zip(classes, model_fp):
        _save(picture, out / "model" / f"{name}.png", scale)
    _save(np.concatenate(list(model_fp), axis=1), out / "model_fingerprints.png", scale)

    shown, shown_labels = _samples(images, labels, np.asarray(classes), samples)
    image_fp = display(method.image_fingerprints(shown))
    rows = []
    for source in classes:
        picked = np.flatnonzero(shown_labels == source)
        for i, row in enumerate(picked):
            _save(image_fp[row], out / "image" / f"{source}_{i}.png", scale)
        if len(picked):
            pairs = [np.concatenate([shown[r], image_fp[r]], axis=1) for r in picked]
            pad = [np.full_like(pairs[0], 255)] * (samples - len(pairs))
            rows.append(np.concatenate(pairs + pad, axis=1))
    _save(np.concatenate(rows, axis=0), out / "image_fingerprints.png", scale)

    responses = method.responses(images)
    present = [c for c in classes if (labels == c).any()]
    mean = np.stack([responses[labels == c].mean(axis=0) for c in present])
    first = _samples(images, labels, np.asarray(present), 1)[0]
    sample_matrix = method.responses(first)
    first_fp = display(method.image_fingerprints(first))

    k = len(classes)
    fig = plt.figure(figsize=(1.2 * (k + 1) + 1, 1.2 * (len(present) + 1) + 1))
    grid = fig.add_gridspec(len(present) + 1, k + 1)
    for j, name in enumerate(classes):
        ax = fig.add_subplot(grid[0, j + 1])
        ax.imshow(model_fp[j]), ax.set_axis_off(), ax.set_title(name, fontsize=8)
    for i, name in enumerate(present):
        ax = fig.add_subplot(grid[i + 1, 0])
        ax.imshow(first_fp[i]), ax.set_axis_off(), ax.set_title(f"image of {name}", fontsize=7)
    _matrix_plot(fig.add_subplot(grid[1:, 1:]), sample_matrix, present, classes)
    fig.suptitle("model fingerprints (top), image fingerprints (left), correlations", fontsize=9)
    save_figure(fig, out / "fig7.png", dpi=120, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(1 + 0.8 * k, 1 + 0.8 * len(present)))
    _matrix_plot(ax, mean, present, classes)
    ax.set_xlabel("model fingerprint"), ax.set_ylabel("source of the test images")
    ax.set_title("mean correlation of image and model fingerprints", fontsize=9)
    save_figure(fig, out / "response_matrix.png", dpi=120, bbox_inches="tight")
    plt.close(fig)

    predicted = np.asarray(method.classes_)[responses.argmax(axis=1)]
    return {
        "classes": classes,
        "test_sources": present,
        "mean_response": mean.round(6).tolist(),
        "sample_response": sample_matrix.round(6).tolist(),
        "test_accuracy": float((predicted == labels).mean()),
        "per_source_accuracy": {c: float((predicted[labels == c] == c).mean()) for c in present},
        "n_test": int(len(labels)),
    }


def run(args: argparse.Namespace) -> int:
    check_output_dir(args.out, files=("summary.json",))
    dataset = open_dataset(args.dataset)
    overrides = {k: v for k, v in (("max_epochs", args.max_epochs), ("width", args.width)) if v is not None}
    method = fit_visnet(dataset, args.seed, overrides)
    test = dataset.load("test")
    summary = write_pictures(method, test.images, test.labels, args.out, args.samples, args.scale)
    summary.update(dataset=dataset.name, dataset_hash=dataset.content_hash(), seed=args.seed,
                   params={k: v for k, v in method.get_params().items()},
                   history=getattr(method, "history_", None))
    write_json(args.out / "summary.json", summary)
    print(f"dataset {dataset.name} ({dataset.content_hash()}), seed {args.seed}\n")
    print(f"test accuracy {summary['test_accuracy']:.4f} on {summary['n_test']} images\n")
    print("mean correlation (rows: test images of a source, columns: model fingerprints)")
    print(tabulate(np.asarray(summary["mean_response"]), summary["classes"],
                   showindex=summary["test_sources"], floatfmt=".3f"))
    print(f"\nwrote fig7.png, model_fingerprints.png, image_fingerprints.png, response_matrix.png "
          f"and summary.json to {args.out}")
    return 0
