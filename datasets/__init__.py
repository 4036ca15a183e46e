"""Datasets of ganprint: the folder loader, the real-photo base set and the GAN zoo.

They are registered through the ``ganprint_datasets`` hook (module ``ganprint.datasets.hooks``).

The public API that plugins may use (DESIGN.md: plugins import no dataset internals) is the names
below, imported from ``ganprint.datasets`` itself. They are loaded on first access, so that
``import ganprint.datasets`` stays light (``gan_training`` imports torch):

- :func:`sample_crops` — crops of the real-photo base set from one split (or several), seeded;
- :class:`GeneratorConfig` — everything that determines a trained zoo generator (family, size,
  width, iterations, seed, training recipe options), and its cache key;
- :func:`training_crops` — the real crops a zoo generator of a config trains on;
- :func:`train_generator` — train (or resume from a checkpoint) a zoo generator, optionally on
  images given by the caller (e.g. fingerprinted copies of its training crops);
- :func:`generator_module` — an untrained generator of a config's shape, to load weights into;
- :func:`sample` — ``n`` uint8 images from a generator, with latents from a seed;
- :func:`sliced_wasserstein_distance` — the SWD (×10³) between two uint8 image sets over the levels
  of a Laplacian pyramid (Karras et al. 2018), i.e. ``ganprint.datasets.swd.swd`` (not named
  ``swd`` here: importing the submodule ``ganprint.datasets.swd`` sets that attribute of the package
  to the module).
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load on first access
    from ganprint.datasets.gan_training import GeneratorConfig, generator_module, sample, train_generator, training_crops
    from ganprint.datasets.realset import sample_crops
    from ganprint.datasets.swd import swd as sliced_wasserstein_distance

# public name -> the module that defines it
_PUBLIC = {
    "GeneratorConfig": "gan_training",
    "training_crops": "gan_training",
    "train_generator": "gan_training",
    "generator_module": "gan_training",
    "sample": "gan_training",
    "sample_crops": "realset",
    "sliced_wasserstein_distance": "swd",
}
# public names defined under another name in their module
_DEFINED_AS = {"sliced_wasserstein_distance": "swd"}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), _DEFINED_AS.get(name, name))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
