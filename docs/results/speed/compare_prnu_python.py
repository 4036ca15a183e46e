"""Time prnu-python's per-image ``noise_extract`` against ganprint's batched residual, one process.

    python docs/results/speed/compare_prnu_python.py PATH_TO_PRNU_PYTHON_CHECKOUT [--threads 1] [--size 256]

prnu-python (polimi-ispl/prnu-python, not a dependency, never copied here) is imported from the
given checkout; its ``pywt.wavedec2``/``waverec2`` calls are given ``mode="periodization"`` (its
default is PyWavelets' "symmetric"), and the number of levels ganprint uses for the size (4 at
256×256, 2 at 32×32, where prnu-python would run 4 with boundary effects), so both sides compute
the same filter. Every round times each
implementation once on the same ``--images`` images (16) of ``--size``² pixels (256), interleaved; the table gives the minimum over
rounds and the ratio prnu-python / ours, and the correlation of the outputs.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pywt
import torch

from ganprint.noise_residual import wavelet_levels, wavelet_noise
from ganprint.plugins.prnu.residual import residuals


class _Periodized:
    """PyWavelets with ``mode="periodization"`` in the two calls prnu-python makes."""

    def __getattr__(self, name):
        return getattr(pywt, name)

    def wavedec2(self, data, wavelet, level=None):
        return pywt.wavedec2(data, wavelet, mode="periodization", level=level)

    def waverec2(self, coeffs, wavelet):
        return pywt.waverec2(coeffs, wavelet, mode="periodization")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkout")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sys.path.insert(0, args.checkout)
    from prnu import functions as prnu_python

    prnu_python.pywt = _Periodized()
    X = np.random.default_rng(0).integers(0, 256, size=(args.images, args.size, args.size, 3), dtype=np.uint8)
    levels = wavelet_levels(args.size, args.size, 4)  # prnu-python would run 4 levels on any size
    channels = np.ascontiguousarray(np.moveaxis(X, -1, 1), dtype=np.float32)
    runs = {
        "prnu-python noise_extract (colour)": lambda: np.stack([prnu_python.noise_extract(x, levels, 5) for x in X]),
        "prnu-python noise_extract + rgb2gray": lambda: np.stack(
            [prnu_python.rgb2gray(prnu_python.noise_extract(x, levels, 5)) for x in X]),
        "ganprint wavelet_noise (colour, PyWavelets)": lambda: wavelet_noise(channels, 4, 5.0),
        "ganprint wavelet_noise (colour, torch cpu)": lambda: wavelet_noise(channels, 4, 5.0, device="cpu"),
        "ganprint residuals (gray, PyWavelets)": lambda: residuals(X),
        "ganprint residuals (gray, torch cpu)": lambda: residuals(X, device="cpu"),
    }
    outputs = {name: run() for name, run in runs.items()}  # warm-up, and the outputs compared below
    best = {name: np.inf for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    colour = np.moveaxis(outputs["prnu-python noise_extract (colour)"], -1, 1)
    gray = outputs["prnu-python noise_extract + rgb2gray"]
    print(f"{args.images} images {args.size}x{args.size}, torch threads {args.threads}, min of {args.rounds} rounds")
    for name, seconds in best.items():
        against = "prnu-python noise_extract (colour)" if "colour" in name else "prnu-python noise_extract + rgb2gray"
        reference = colour if "colour" in name else gray
        out = outputs[name] if "prnu-python" not in name else None
        corr = "" if out is None else f"  corr {np.corrcoef(out.ravel(), reference.ravel())[0, 1]:.12f}"
        print(f"{name:46s} {seconds * 1000:8.1f} ms  ratio {best[against] / seconds:5.2f}{corr}")


if __name__ == "__main__":
    main()
