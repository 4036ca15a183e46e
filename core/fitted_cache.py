"""A cache of fitted neural weights, so that fitting the same method on the same data twice (a
second ``bench run``, ``bench export`` after ``bench run``) loads the weights instead of training.

An entry is one safetensors file under ``cache_dir("fitted", plugin)`` named by
:func:`ganprint.cache.config_key` of (plugin, hyperparameters, training-data hash, extra). It holds
the state dicts of the named modules (keys prefixed ``"<module name>."``) and, in the safetensors
metadata, a JSON object with whatever non-tensor learned state the plugin needs back (classes,
image size, training history). Nothing is pickled. The file is sealed (:func:`ganprint.cache.seal`,
a ``.sha256`` sidecar) and the bytes loaded are the bytes checked: an entry that is missing counts
as a miss; one that is corrupt, altered or does not fit the modules is reported in one line naming
the file, and retrained.

Use from a plugin's ``fit`` (the modules are built first, from the data, deterministically)::

    from ganprint.fitted_cache import cached_fit

    def fit(self, X, y):
        self.model_ = build(...)                       # architecture from X.shape, classes
        def train() -> dict:
            history = train_epochs(...)                # trains self.model_ in place
            return {"best_epoch": history.best_epoch}  # JSON-serialisable
        meta, hit = cached_fit("mymethod", self.get_params(), X, y, {"model": self.model_}, train,
                               enabled=self.cache)

Pass in ``params`` only what changes the fitted weights (leave out flags such as ``cache``);
``extra`` adds anything else that does (for fine-tuning: the key of the weights started from).
Set ``GANPRINT_CACHE`` to a temporary folder in tests.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load, save_file

from ganprint.atomic import atomic_path
from ganprint.cache import CacheEntryError, cache_dir, config_key, read_sealed, seal

METADATA_KEY = "ganprint"


def data_hash(X: np.ndarray, y: np.ndarray | None = None) -> str:
    """A short hash of training images (shape, dtype, bytes) and, if given, their labels."""
    digest = hashlib.sha256(f"{X.shape}{X.dtype}".encode())
    if hasattr(X, "content_key"):  # images read on demand (ganprint.lazy_images): what they are, unread
        digest.update(f"lazy\0{X.content_key()}".encode())
    else:
        digest.update(np.ascontiguousarray(X).tobytes())
    if y is not None:
        digest.update("\0".join(map(str, np.asarray(y).tolist())).encode())
    return digest.hexdigest()[:16]


def fitted_key(plugin: str, params: Mapping[str, Any], X: np.ndarray, y: np.ndarray | None = None,
               extra: Any = None) -> str:
    """The cache key of (plugin, hyperparameters, training-data hash, extra)."""
    return config_key({"plugin": plugin, "params": dict(params), "data": data_hash(X, y), "extra": extra})


def fitted_path(plugin: str, key: str) -> Path:
    """Where the entry ``key`` of ``plugin`` lives."""
    return cache_dir("fitted", plugin) / f"{key}.safetensors"


def save_fitted(path: Path, modules: Mapping[str, torch.nn.Module], metadata: Mapping[str, Any]) -> None:
    """Write the modules' weights and the JSON metadata atomically, with a sha256 sidecar."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"{name}.{k}": v.detach().cpu().clone().contiguous()
               for name, module in modules.items() for k, v in module.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={METADATA_KEY: json.dumps(dict(metadata))})
    seal(path)


def load_fitted(path: Path, modules: Mapping[str, torch.nn.Module]) -> dict[str, Any] | None:
    """Load an entry into ``modules`` and return its metadata, or None (absent, corrupt, mismatched).

    On None the modules are left as they were.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        data = read_sealed(path)
        tensors = load(data)
        header_size = int.from_bytes(data[:8], "little")  # the safetensors layout: size, JSON header, tensors
        metadata = json.loads(json.loads(data[8:8 + header_size])["__metadata__"][METADATA_KEY])
    except CacheEntryError as error:
        print(f"ganprint: {error}; fitting again", file=sys.stderr, flush=True)
        return None
    except (SafetensorError, KeyError, TypeError, ValueError) as error:
        print(f"ganprint: cached fit {path} cannot be read ({type(error).__name__}: {error}); fitting again",
              file=sys.stderr, flush=True)
        return None
    states = {name: {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}
              for name in modules}
    backups = {name: {k: v.clone() for k, v in m.state_dict().items()} for name, m in modules.items()}
    try:
        for name, module in modules.items():
            module.load_state_dict(states[name])
    except RuntimeError:
        for name, module in modules.items():
            module.load_state_dict(backups[name])
        return None
    return metadata


def cached_fit(
    plugin: str,
    params: Mapping[str, Any],
    X: np.ndarray,
    y: np.ndarray | None,
    modules: Mapping[str, torch.nn.Module],
    train: Callable[[], Mapping[str, Any]],
    *,
    enabled: bool = True,
    extra: Any = None,
) -> tuple[dict[str, Any], str, bool]:
    """Load the fitted ``modules`` from the cache, or call ``train()`` and store the result.

    ``train()`` trains the modules in place and returns the JSON-serialisable metadata to keep.
    Returns (metadata, cache key, True if it was a cache hit). With ``enabled=False`` it always
    trains and stores nothing.
    """
    key = fitted_key(plugin, params, X, y, extra)
    path = fitted_path(plugin, key) if enabled else None
    if path is not None:
        metadata = load_fitted(path, modules)
        if metadata is not None:
            return metadata, key, True
    metadata = dict(train())
    if path is not None:
        try:
            save_fitted(path, modules, metadata)
        except OSError as error:  # the fit itself is done: a cache that cannot be written only costs time
            print(f"ganprint: could not cache the fit in {path} ({error.strerror or error})", file=sys.stderr, flush=True)
    return metadata, key, False
