"""OpenCV, where ganprint uses it, gives exactly the pixels of the Pillow / SciPy code it replaced:
file decoding (every kind of file it decodes), the blur attack and the JPEG attack."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganprint.datasets.decode import ImageHeader, decode_rgb, read_header
from ganprint.plugins.attacks.blur import GaussianBlur, gaussian_kernel
from ganprint.plugins.attacks.jpeg import jpeg_roundtrip

from before_opencv import pillow_decode, pillow_jpeg, scipy_blur


def smooth_image(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth colour fields plus noise: JPEG and blur act on both low and high frequencies."""
    coarse = rng.uniform(30, 220, (h // 8 + 2, w // 8 + 2, 3)).astype(np.float32)
    field = np.asarray(Image.fromarray(coarse.astype(np.uint8)).resize((w, h), Image.Resampling.BICUBIC))
    return np.clip(field + rng.normal(0, 12, field.shape), 0, 255).astype(np.uint8)


def files_of_every_kind(folder: Path, rng: np.random.Generator) -> dict[str, Path]:
    rgb = smooth_image(rng, 40, 52)
    alpha = rng.integers(0, 256, (40, 52), dtype=np.uint8)
    images = {
        "rgb.png": Image.fromarray(rgb), "gray.png": Image.fromarray(rgb[:, :, 0]),
        "rgba.png": Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
        "la.png": Image.fromarray(np.dstack([rgb[:, :, 0], alpha]), "LA"),
        "palette.png": Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE),
        "rgb.jpg": Image.fromarray(rgb), "gray.jpg": Image.fromarray(rgb[:, :, 0]),
        "rgb.bmp": Image.fromarray(rgb), "rgb.webp": Image.fromarray(rgb), "rgb.ppm": Image.fromarray(rgb),
        "gray.pgm": Image.fromarray(rgb[:, :, 0]),
        # Pillow's own: 16-bit, CMYK, TIFF, GIF, animations
        "deep.png": Image.fromarray(rgb[:, :, 0].astype(np.uint16) * 257 + 3),
        "cmyk.jpg": Image.fromarray(rgb).convert("CMYK"), "rgb.tif": Image.fromarray(rgb),
        "rgb.gif": Image.fromarray(rgb).convert("P"),
    }
    paths = {}
    for name, image in images.items():
        paths[name] = folder / name
        image.save(paths[name], **({"quality": 85} if name.endswith((".jpg", ".webp")) else {}))
    paths["animated.png"] = folder / "animated.png"   # two frames: Pillow reads the first
    Image.fromarray(rgb).save(paths["animated.png"], save_all=True, append_images=[Image.fromarray(255 - rgb)])
    rotated = Image.fromarray(rgb)
    exif = rotated.getexif()
    exif[0x0112] = 6   # "rotate 90°": pixels are taken as stored, by both codecs
    paths["exif-rotated.jpg"] = folder / "exif-rotated.jpg"
    rotated.save(paths["exif-rotated.jpg"], exif=exif, quality=90)
    return paths


def test_decoding_gives_pillows_pixels_for_every_kind_of_file(tmp_path: Path, rng) -> None:
    paths = files_of_every_kind(tmp_path, rng)
    by_opencv = {name for name, path in paths.items() if read_header(path).opencv_decodes}
    assert by_opencv == {"rgb.png", "gray.png", "rgba.png", "la.png", "palette.png", "rgb.jpg", "gray.jpg",
                         "rgb.bmp", "rgb.webp", "rgb.ppm", "gray.pgm", "exif-rotated.jpg"}
    for name, path in paths.items():
        decoded = decode_rgb(path)
        assert decoded.dtype == np.uint8 and decoded.shape == (40, 52, 3), name
        assert (decoded == pillow_decode(path)).all(), name


def test_a_file_opencv_refuses_gets_pillows_verdict(tmp_path: Path, rng) -> None:
    Image.fromarray(smooth_image(rng, 32, 32)).save(tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "no-end.png").write_bytes(data[:-12])   # IEND chunk cut: Pillow reads it, OpenCV not
    header = read_header(tmp_path / "no-end.png")
    assert header.opencv_decodes
    assert (decode_rgb(tmp_path / "no-end.png", header) == pillow_decode(tmp_path / "no-end.png")).all()
    (tmp_path / "half.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        decode_rgb(tmp_path / "half.png", ImageHeader(32, 32, "RGB", "PNG"))


@pytest.mark.parametrize("side", [1, 3, 8, 33])
def test_blur_gives_the_scipy_pixels(rng, side: int) -> None:
    X = np.stack([smooth_image(rng, 40, 40)[:side, :side] for _ in range(4)])
    for size in (3, 5, 7, 9, 15):
        out = GaussianBlur(kernel_size=size)(X, np.random.default_rng(0))
        assert (out == np.stack([scipy_blur(x, gaussian_kernel(size)) for x in X])).all(), size


@pytest.mark.parametrize("quality", [10, 30, 50, 75, 90, 100])
def test_jpeg_gives_pillows_pixels(rng, quality: int) -> None:
    for h, w in ((32, 32), (64, 64), (77, 131)):
        image = smooth_image(rng, h, w)
        assert (jpeg_roundtrip(image, quality) == pillow_jpeg(image, quality)).all(), (quality, h, w)
