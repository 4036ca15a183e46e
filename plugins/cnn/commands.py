"""``bench cnn --dataset D --out DIR``: the analyses of Yu et al. 2019 for the ``cnn`` detector.

On one dataset (the paper uses {real, ProGAN seed v#i}: ``zoo:default/seeds`` by default) it fits
the attribution network and its §3.2 variants on the train split and prints:

- closed-world test accuracy of ``cnn``;
- the Table 4 analogue: accuracy of the pre-downsampling (low band, "L-f") and pre-downsampling
  residual (Laplacian band, "H-f") networks at every resolution from the image size down;
- the Table 5 analogue: accuracy of the post-pooling network for every patch size (the receptive
  field of the stage where global average pooling starts);
- the Table 6 analogue: the artifact-free subset, the 10% of each generated source's test images
  nearest to the real training images under NLPD (:mod:`.perceptual`, standing in for
  LPIPS), with all real test images; accuracy of the classifier trained on all images, next to the
  ``--baselines`` detectors;
- FD ratios (:mod:`.feature_analysis`) of the CNN fingerprints and of raw pixels (Inception
  features, the paper's reference, cannot ship), on the whole test split and on the subset;

and writes ``tsne.png`` (Fig. 1: raw pixels beside CNN fingerprints) and ``summary.json`` (with the
epochs each fit trained and its best epoch) into DIR. The full network's analyses come first and the
summary is rewritten after each variant fit, so an interrupted run keeps what it finished.
The variants are ``cnn`` with its ``band``, ``resolution`` and ``patch_size`` hyperparameters; the
baselines are reached through the registry, as ``bench run`` reaches them. Fits are those of ``bench run``
(same train split and seed), so cached weights are shared. ``--max-train`` subsamples the train split
per source and ``--max-epochs`` caps training (``--variant-max-epochs`` only the variants'), for a
time-boxed run; all are reported.
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
from tabulate import tabulate

from ganprint.atomic import write_json
from ganprint.commands import (
    UsageError,
    add_out_argument,
    add_seed_argument,
    check_output_dir,
    names,
    open_dataset,
    positive_int,
)
from ganprint.dataset import Batch
from ganprint.interfaces import REAL
from ganprint.registry import Registry, UnknownNameError, load_registry
from ganprint.seeding import seed_everything

PLUGIN = "cnn"
SUBSET_FRACTION = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="zoo:default/seeds",
                        help="NAME, NAME:ARG or folder:PATH; Yu et al. use {real, one GAN's seeds}")
    add_out_argument(parser, "folder for tsne.png and summary.json", default=Path("cnn-analysis"))
    add_seed_argument(parser)
    parser.add_argument("--max-epochs", type=positive_int, default=None, help="cap on training epochs (default: the plugin's)")
    parser.add_argument("--variant-max-epochs", type=positive_int, default=None,
                        help="cap on training epochs of the §3.2 variants only (the full network keeps --max-epochs)")
    parser.add_argument("--max-train", type=positive_int, default=None, help="train images per source (default: all)")
    parser.add_argument("--width", type=positive_int, default=None, help="override the network's width")
    parser.add_argument("--baselines", default="knn,eigenface",
                        help="detectors also scored on the artifact-free subset ('' for none)")


def subsample(batch: Batch, per_source: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The images and labels of ``batch``, at most ``per_source`` of each source, drawn by seed."""
    labels = batch.labels
    if per_source is None:
        return batch.images, labels
    rng = np.random.default_rng(seed)
    rows = np.sort(np.concatenate([rng.permutation(np.flatnonzero(labels == s))[:per_source]
                                   for s in sorted(set(labels.tolist()))]))
    return batch.images[rows], labels[rows]


def accuracy(method: Any, images: np.ndarray, labels: np.ndarray) -> float:
    return float((np.asarray(method.predict(images)) == labels).mean())


def table4_rows(image_size: int) -> list[tuple[int, dict[str, Any] | None, dict[str, Any] | None]]:
    """(resolution, low-band overrides, high-band overrides) from the image size down to 4×4."""
    rows = []
    for level in range(int(math.log2(image_size)), 1, -1):
        s = 2 ** level
        low = {} if s == image_size else {"band": "low", "resolution": s}
        high = {"band": "high", "resolution": s} if s >= 8 else None
        rows.append((s, low, high))
    return rows


def table5_rows(image_size: int, patch_sizes: tuple[int, ...]) -> list[tuple[int | None, int | None]]:
    """(resolution where pooling starts, patch size) for each stage's receptive field in
    ``patch_sizes``; the last row, (None, None), is the full network (no pooling)."""
    stages = int(math.log2(image_size)) - 2
    return [(image_size // 2 ** (k + 1), patch_sizes[k]) for k in range(stages)] + [(None, None)]


def run(args: argparse.Namespace) -> int:
    from ganprint.plugins.cnn.attributor import CNNAttributor
    from ganprint.plugins.cnn.feature_analysis import tsne_plot
    from ganprint.plugins.cnn.perceptual import artifact_free_mask

    check_output_dir(args.out, files=("summary.json", "tsne.png"))
    registry = load_registry()
    baselines = _baseline_factories(registry, args.baselines)
    dataset = open_dataset(args.dataset, registry)
    X, y = subsample(dataset.load("train"), args.max_train, args.seed)
    test = dataset.load("test")
    X_test, y_test = test.images, test.labels
    size = dataset.image_size
    overrides: dict[str, Any] = {"random_state": args.seed, "progress": True}
    if args.max_epochs is not None:
        overrides["max_epochs"] = args.max_epochs
    if args.width is not None:
        overrides["width"] = args.width
    variant_overrides = dict(overrides)
    if args.variant_max_epochs is not None:
        variant_overrides["max_epochs"] = args.variant_max_epochs
    fitted: dict[str, Any] = {}
    summary: dict[str, Any] = {
        "dataset": dataset.name, "content_hash": dataset.content_hash(), "seed": args.seed,
        "train_images": len(X), "test_images": len(X_test), "overrides": overrides,
        "variant_overrides": variant_overrides, "fits": {},
    }
    args.out.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        write_json(args.out / "summary.json", summary, default=str)

    def fit(**variant: Any) -> Any:
        key = json.dumps(variant, sort_keys=True)
        if key not in fitted:
            print(f"fitting cnn {variant or '(full)'} on {len(X)} images", flush=True)
            seed_everything(args.seed)
            fitted[key] = method = CNNAttributor(**(variant_overrides if variant else overrides), **variant).fit(X, y)
            summary["fits"][key] = {"epochs": method.history_["epochs"], "best_epoch": method.history_["best_epoch"]}
        return fitted[key]

    base = fit()
    summary.update(accuracy=accuracy(base, X_test, y_test), history=base.history_)
    print(f"\ncnn closed-world test accuracy on {dataset.name}: {summary['accuracy']:.4f} "
          f"({len(X_test)} test images, stopped after {base.history_['epochs']} epochs, best {base.history_['best_epoch']})")

    # The analyses of the full network first, then one variant fit at a time, saving after each:
    # an interrupted run keeps what it finished (and its fits stay cached for the next run).
    real_train = X[y == REAL]
    if not len(real_train):
        raise UsageError(f"dataset {dataset.name!r} has no real training images: no artifact-free subset")
    selected = artifact_free_mask(X_test, y_test, real_train, SUBSET_FRACTION) | (y_test == REAL)
    fingerprints = base.fingerprint(X_test)
    pixels = X_test.reshape(len(X_test), -1).astype(np.float64)
    baselines = _fit_baselines(baselines, X, y, args.seed)
    table6 = {name: {"all": accuracy(m, X_test, y_test), "subset": accuracy(m, X_test[selected], y_test[selected])}
              for name, m in {**baselines, PLUGIN: base}.items()}
    fd = {name: {"all": _fd(features, y_test, args.seed), "subset": _fd(features[selected], y_test[selected], args.seed)}
          for name, features in {"pixels": pixels, "cnn_fingerprint": fingerprints}.items()}
    summary.update(table6=table6, fd_ratio=fd, subset_images=int(selected.sum()))
    print(f"\nTable 6 analogue: the artifact-free subset ({int(selected.sum())} test images: the "
          f"{SUBSET_FRACTION:.0%} of each generated source nearest to real training images under NLPD, "
          "and the real test images)")
    print(tabulate([[name, _pct(r["all"]), _pct(r["subset"])] for name, r in table6.items()],
                   headers=["detector", "accuracy, all test", "accuracy, subset"], tablefmt="github"))
    print("\nFD ratio (inter-class / intra-class Fréchet distance; Inception features cannot ship)")
    print(tabulate([[name, _ratio(r["all"]), _ratio(r["subset"])] for name, r in fd.items()],
                   headers=["features", "all test", "subset"], tablefmt="github"))
    png = tsne_plot({"raw pixels": pixels, "cnn fingerprints": fingerprints}, y_test, args.out / "tsne.png",
                    seed=args.seed)
    save()
    print(f"\nwrote {png}", flush=True)

    table4 = summary["table4"] = []
    for s, low, high in table4_rows(size):
        table4.append({"resolution": s, "low": accuracy(fit(**low), X_test, y_test),
                       "high": None if high is None else accuracy(fit(**high), X_test, y_test)})
        save()
    print("\nTable 4 analogue: accuracy w.r.t. downsampling (L-f low band, H-f Laplacian band)")
    print(tabulate([[r["resolution"], _pct(r["low"]), _pct(r["high"])] for r in table4],
                   headers=["resolution", "L-f", "H-f"], tablefmt="github"))

    table5 = summary["table5"] = []
    for start, patch in table5_rows(size, type(base).PATCH_SIZES):
        method = base if patch is None else fit(patch_size=patch)
        table5.append({"pooling_starts_at": start, "patch_size": patch,
                       "accuracy": accuracy(method, X_test, y_test)})
        save()
    print("\nTable 5 analogue: accuracy w.r.t. patch size (post-pooling)")
    print(tabulate([[r["pooling_starts_at"] or "none (full network)", r["patch_size"] or f"{size} (whole image)",
                     _pct(r["accuracy"])] for r in table5],
                   headers=["pooling starts at", "patch size", "accuracy"], tablefmt="github"))
    print(f"\nwrote {args.out / 'summary.json'}")
    return 0


def _baseline_factories(registry: Registry, selection: str) -> dict[str, Callable[[], Any]]:
    """The factories of the ``--baselines`` detectors, checked before any work."""
    chosen: dict[str, Callable[[], Any]] = {}
    for name in names(selection):
        try:
            chosen[name] = registry.get("detectors", name).factory
        except UnknownNameError as error:
            raise UsageError(str(error).strip("'\"")) from error
    return chosen


def _fit_baselines(chosen: dict[str, Callable[[], Any]], X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    fitted = {}
    for name, factory in chosen.items():
        seed_everything(seed)
        fitted[name] = factory().fit(X, y)
    return fitted


def _fd(features: np.ndarray, labels: np.ndarray, seed: int) -> dict[str, float] | None:
    """The FD ratio, or None when a source has too few images for it (a small subset)."""
    from ganprint.plugins.cnn.feature_analysis import fd_ratio

    try:
        return fd_ratio(features, labels, seed)
    except ValueError:
        return None


def _ratio(fd: dict[str, float] | None) -> str:
    return "too few images" if fd is None else f"{fd['ratio']:.3f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}"
