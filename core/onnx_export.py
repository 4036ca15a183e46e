"""ONNX export of fitted torch-based methods, and running the exported model with onnxruntime.

A method is exportable when, once fitted, it has ``torch_module() -> torch.nn.Module``: a module
in eval mode mapping a float32 (N, 3, H, W) batch in [−1, 1] (the convention of
:func:`ganprint.training.to_tensor`) to the method's main output: the probabilities of
``predict_proba`` for an Attributor, the scores of ``score`` for a Detector, bit probabilities for
a FingerprintDecoder. The exported graph takes what every ganprint method takes, a uint8
(N, H, W, 3) RGB batch under the input name ``images`` (any N), and gives ``output``::

    from ganprint.onnx_export import export_method, run_onnx

    export_method(fitted_method, example_images, "model.onnx")
    probabilities = run_onnx("model.onnx", images)     # == fitted_method.predict_proba(images)

Export needs the packages onnx and onnxruntime, which a plain install leaves out:
``pip install "ganprint[onnx]"`` (:data:`INSTALL_LINE`; :func:`missing_packages` says which are absent).

The TorchScript-based exporter (``dynamo=False``) is used on purpose: in the tested torch
(constraints.txt) it is deprecated but present; it is much faster on these networks than the
torch.export-based exporter, which also needs onnxscript (timings: docs/results/core/README.md).
Its deprecation warning is silenced here; opset 17.
"""
from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganprint.atomic import atomic_path
from ganprint.images import check_images

INPUT_NAME = "images"
OUTPUT_NAME = "output"
OPSET = 17
INSTALL_LINE = 'pip install "ganprint[onnx]"'
PACKAGES = ("onnx", "onnxruntime")


class NotExportableError(TypeError):
    """The method has no ``torch_module()``: it is not a torch-based method."""


class ImageInput(torch.nn.Module):
    """uint8 (N, H, W, 3) → float (N, 3, H, W) in [−1, 1] → ``module``: the graph's own input step."""

    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).to(torch.float32) / 127.5 - 1.0
        return self.module(x)


def missing_packages() -> list[str]:
    """Those of :data:`PACKAGES` that cannot be imported."""
    missing = []
    for name in PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return missing


def is_exportable(method: Any) -> bool:
    return callable(getattr(method, "torch_module", None))


def export_module(module: torch.nn.Module, image_size: tuple[int, int], path: Path) -> Path:
    """Export ``module`` (float [−1, 1] NCHW in) as an ONNX graph taking uint8 NHWC images."""
    import onnx

    path = Path(path)
    wrapped = ImageInput(module).eval()
    example = torch.zeros((2, *image_size, 3), dtype=torch.uint8)
    with atomic_path(path) as tmp:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Constant folding", category=UserWarning)
            warnings.filterwarnings("ignore", message="You are using the legacy TorchScript", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
            torch.onnx.export(
                wrapped, (example,), str(tmp), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=OPSET, dynamo=False,
            )
        onnx.checker.check_model(str(tmp))
    return path


def export_method(method: Any, images: np.ndarray, path: Path) -> Path:
    """Export a fitted torch-based method; ``images`` (a uint8 batch) only fix the image size."""
    if not is_exportable(method):
        raise NotExportableError(
            f"{type(method).__name__} is not torch-based (it has no torch_module()); cannot export to ONNX"
        )
    check_images(images)
    return export_module(method.torch_module(), tuple(images.shape[1:3]), path)


def onnx_session(path: Path, threads: int = 0) -> Any:
    """An onnxruntime CPU session for ``path`` (``threads`` 0 = onnxruntime's default)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_onnx(model: Path | Any, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Run an exported model (a path or an :func:`onnx_session`) on a uint8 batch, in batches."""
    check_images(images)
    session = onnx_session(model) if isinstance(model, (str, Path)) else model
    outs = [session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(images[i:i + batch_size])})[0]
            for i in range(0, len(images), batch_size)]
    return np.concatenate(outs)
