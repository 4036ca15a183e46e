"""Packaging for ganprint.

The repository folders are mapped onto the ``ganprint`` namespace (see DESIGN.md): ``core/`` is
``ganprint``, ``plugins/`` is ``ganprint.plugins``, ``datasets/`` is ``ganprint.datasets`` and
``benchmark/`` is ``ganprint.benchmark``. Built-in plugins are declared under the ``ganprint``
entry-point group exactly like third-party ones, so both are found through one code path.
"""
from pathlib import Path

from setuptools import setup

TOP_LEVEL = {
    "ganprint": "core",
    "ganprint.plugins": "plugins",
    "ganprint.datasets": "datasets",
    "ganprint.benchmark": "benchmark",
}


def package_dirs() -> dict[str, str]:
    """Each top-level folder and every sub-folder holding an ``__init__.py`` below it."""
    dirs = dict(TOP_LEVEL)
    for package, folder in TOP_LEVEL.items():
        if package == "ganprint":
            continue
        for init in sorted(Path(folder).rglob("__init__.py")):
            sub = init.parent
            if sub != Path(folder):
                dirs[".".join([package, *sub.relative_to(folder).parts])] = sub.as_posix()
    return dirs


PACKAGE_DIRS = package_dirs()

# Shipped weights and their manifests travel with the packages that load them.
PACKAGE_DATA = {package: ["weights/**/*.safetensors", "weights/**/*.json", "weights/*.json",
                          "weights/*.safetensors"] for package in PACKAGE_DIRS}

# `bench export` (ONNX graphs of fitted torch-based detectors): pip install "ganprint[onnx]"
ONNX = ["onnx>=1.16", "onnxruntime>=1.18"]

BUILTIN_PLUGINS = [
    "knn = ganprint.plugins.knn",
    "eigenface = ganprint.plugins.eigenface",
    "datasets = ganprint.datasets.hooks",
    "attacks = ganprint.plugins.attacks",
    "cnn = ganprint.plugins.cnn",
    "prnu = ganprint.plugins.prnu",
    "visnet = ganprint.plugins.visnet",
    "bfrvae = ganprint.plugins.bfrvae",
    "stega = ganprint.plugins.stega",
]

setup(
    name="ganprint",
    version="0.1.0",
    description="Detect GAN-generated images, attribute them to their generator, decode artificial fingerprints.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    package_dir=PACKAGE_DIRS,
    packages=list(PACKAGE_DIRS),
    package_data=PACKAGE_DATA,
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.3",
        "scikit-image>=0.22",
        "pluggy>=1.3",
        "tabulate>=0.9",
        "tqdm>=4.60",
        "pillow>=10",
        "platformdirs>=3",
        "safetensors>=0.4",
        "PyWavelets>=1.4",
        "matplotlib>=3.7",
        "opencv-python-headless>=4.8",
        # a lower bound only (torch.onnx.export's dynamo= keyword), so that ganprint installs beside
        # a user's own torch build; the tested versions are pinned in constraints.txt
        "torch>=2.5",
    ],
    extras_require={
        "onnx": ONNX,
        "ray": ["ray>=2.40,<3"],
        "test": ["pytest>=7", "pytest-benchmark>=4", "mutmut>=3.8,<4", *ONNX, "ray>=2.40,<3"],
    },
    entry_points={
        "console_scripts": ["bench = ganprint.benchmark.cli:main"],
        "ganprint": BUILTIN_PLUGINS,
    },
)
