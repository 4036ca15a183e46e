"""``bench export NAME --dataset D --onnx PATH``: the ONNX graph of a torch-based detector fitted on D.

The detector is fitted on D's train split exactly as ``bench run`` fits it (same factory, same
seed), so a plugin that caches its fitted weights (:mod:`ganprint.fitted_cache`) loads them instead
of training again. The exported graph takes uint8 (N, H, W, 3) images under the input ``images``
and gives the method's ``torch_module()`` output (:mod:`ganprint.onnx_export`); it is then run with
onnxruntime on D's val images and its largest difference from PyTorch is printed.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ganprint.commands import UsageError, add_dataset_argument, add_seed_argument, check_output_file, open_dataset
from ganprint.interfaces import Attributor
from ganprint.onnx_export import INSTALL_LINE, export_method, is_exportable, missing_packages, run_onnx
from ganprint.protocol import fit_method
from ganprint.registry import UnknownNameError, load_registry

PARITY_IMAGES = 256


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a registered detector (see `bench list detectors`)")
    add_dataset_argument(parser)
    parser.add_argument("--onnx", type=Path, required=True, help="where to write the .onnx file")
    add_seed_argument(parser)


def torch_reference(method: object, images: np.ndarray) -> np.ndarray:
    """What the exported graph must reproduce, computed by the method itself in PyTorch."""
    if isinstance(method, Attributor):
        return np.asarray(method.predict_proba(images))
    import torch

    from ganprint.training import predict_batched

    module = method.torch_module()
    with torch.no_grad():
        return predict_batched(module, images)


def run(args: argparse.Namespace) -> int:
    check_output_file(args.onnx, "--onnx")
    registry = load_registry()
    try:
        spec = registry.get("detectors", args.name)
    except UnknownNameError as error:
        raise UsageError(str(error).strip("'\"")) from error
    if not is_exportable(spec.factory()):
        raise UsageError(f"detector {args.name!r} is not torch-based (it has no torch_module()); "
                         "only torch-based detectors can be exported to ONNX")
    missing = missing_packages()
    if missing:
        raise UsageError(f"ONNX export needs {' and '.join(missing)}, not installed: {INSTALL_LINE}")
    dataset = open_dataset(args.dataset, registry)
    method = fit_method(spec.factory, dataset, seed=args.seed)
    sample = dataset.load("val").images[:PARITY_IMAGES]
    path = export_method(method, sample, args.onnx)
    difference = float(np.abs(run_onnx(path, sample) - torch_reference(method, sample)).max())
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB): {args.name} fitted on {dataset.name} "
          f"({dataset.content_hash()}), seed {args.seed}; input 'images' uint8 (N, {sample.shape[1]}, "
          f"{sample.shape[2]}, 3)")
    print(f"onnxruntime vs PyTorch on {len(sample)} val images: max abs difference {difference:.2e}")
    return 0
