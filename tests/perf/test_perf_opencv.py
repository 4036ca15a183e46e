"""OpenCV next to the Pillow / SciPy code it replaced, on the same inputs:

    python -m pytest tests/perf/test_perf_opencv.py --benchmark-only --benchmark-group-by=group

- decoding one file (PNG and JPEG, 128x128 and 512x512): ``ganprint.datasets.decode.decode_rgb``
  (OpenCV) against Pillow alone;
- the blur attack (kernel 9) and the JPEG attack (quality 50) on one 64x64 and one 128x128 image:
  OpenCV against SciPy's separable correlation and Pillow's JPEG encode and decode;
- bilinear resizing, which the crop attack keeps in Pillow (OpenCV's interpolation differs from
  Pillow's by one level on many pixels, so switching would change the attack's numbers): shown for
  the record.

Both sides of every pair give the same pixels (``tests/test_opencv_parity.py``), except the
bilinear resize. The ratio to read is the mean time of the "before" side over OpenCV's.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ganprint.datasets.decode import decode_rgb, read_header
from ganprint.plugins.attacks.blur import gaussian_kernel
from ganprint.plugins.attacks.jpeg import jpeg_roundtrip

from before_opencv import pillow_decode, pillow_jpeg, scipy_blur


def smooth(side: int) -> np.ndarray:
    rng = np.random.default_rng(side)
    coarse = rng.uniform(30, 220, (side // 8, side // 8, 3)).astype(np.uint8)
    field = np.asarray(Image.fromarray(coarse).resize((side, side), Image.Resampling.BICUBIC), dtype=np.float64)
    return np.clip(field + rng.normal(0, 8, field.shape), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[tuple[str, int], Path]:
    folder = tmp_path_factory.mktemp("codec")
    out = {}
    for side in (128, 512):
        image = Image.fromarray(smooth(side))
        for kind in ("png", "jpg"):
            out[(kind, side)] = folder / f"{side}.{kind}"
            image.save(out[(kind, side)], **({"quality": 90} if kind == "jpg" else {}))
    return out


@pytest.mark.parametrize("codec", ["pillow", "opencv"])
@pytest.mark.parametrize("side", [128, 512])
@pytest.mark.parametrize("kind", ["png", "jpg"])
def test_decode(benchmark, files, kind: str, side: int, codec: str) -> None:
    benchmark.group = f"decode {kind} {side}x{side}"
    path = files[(kind, side)]
    header = read_header(path)
    decode = (lambda: pillow_decode(path)) if codec == "pillow" else (lambda: decode_rgb(path, header))
    assert decode().shape == (side, side, 3)
    benchmark(decode)


@pytest.mark.parametrize("implementation", ["scipy", "opencv"])
@pytest.mark.parametrize("side", [64, 128])
def test_blur(benchmark, side: int, implementation: str) -> None:
    from ganprint.plugins.attacks.blur import GaussianBlur

    benchmark.group = f"blur k=9 {side}x{side}"
    image, kernel = smooth(side), gaussian_kernel(9)
    blur = GaussianBlur(kernel_size=9)._attack_image
    run = (lambda: scipy_blur(image, kernel)) if implementation == "scipy" else (lambda: blur(image, None))
    benchmark(run)


@pytest.mark.parametrize("implementation", ["pillow", "opencv"])
@pytest.mark.parametrize("side", [64, 128])
def test_jpeg(benchmark, side: int, implementation: str) -> None:
    benchmark.group = f"jpeg q=50 {side}x{side}"
    image = smooth(side)
    run = (lambda: pillow_jpeg(image, 50)) if implementation == "pillow" else (lambda: jpeg_roundtrip(image, 50))
    benchmark(run)


@pytest.mark.parametrize("implementation", ["pillow", "opencv"])
@pytest.mark.parametrize("side", [64, 128])
def test_bilinear_resize(benchmark, side: int, implementation: str) -> None:
    benchmark.group = f"bilinear resize of a 0.85 crop back to {side}x{side} (crop attack keeps Pillow)"
    window = np.ascontiguousarray(smooth(side)[3:3 + int(0.85 * side), 5:5 + int(0.85 * side)])
    if implementation == "pillow":
        benchmark(lambda: np.asarray(Image.fromarray(window).resize((side, side), Image.Resampling.BILINEAR)))
    else:
        benchmark(lambda: cv2.resize(window, (side, side), interpolation=cv2.INTER_LINEAR))
