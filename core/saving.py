"""Saving a fitted detector to a folder and loading it back, without pickle.

:func:`save` writes a folder of three kinds of files:

- ``manifest.json``: the format version; the detector's registered name, class, plugin,
  distribution and version; its hyperparameters and learned state as JSON (below); the classes;
  the calibrated detection and open-world rejection thresholds; the image size and fit it expects
  (:mod:`ganprint.datasets.size_policy`); provenance (dataset name and content hash, seed,
  ganprint and library versions); and the sha256 of every other file. The manifest itself is
  sealed (:func:`ganprint.cache.seal`, a ``manifest.json.sha256`` sidecar);
- ``arrays.safetensors``: the numeric numpy arrays of the state;
- ``weights.safetensors``: torch tensors and the state dicts of torch modules.

:func:`load` checks the manifest against its sidecar and every file against the digest the
manifest records before it reads anything from them (a changed byte is a :class:`LoadError` naming
the file), builds a new instance through the registry (the plugin must be installed, in the
version that saved it), sets its hyperparameters and then its learned state.

The state walk. What is saved of a detector is its ``__init__`` parameters (``get_params``) and
its learned state: every attribute ending in ``_`` (the interface's convention). A value is
encoded by its type:

- ``None``, ``bool``, ``int``, ``float``, ``str``, and lists, tuples and ``str``-keyed dicts of
  encodable values: JSON;
- numpy arrays: numeric and boolean ones in ``arrays.safetensors`` (one laid out otherwise than in
  C order, e.g. in Fortran order, comes back with its strides, so that matrix products sum in
  the same order), string ones as JSON lists; numpy scalars as JSON with their dtype;
- torch tensors: ``weights.safetensors``;
- a torch module held by a learned attribute: its ``state_dict`` in ``weights.safetensors``. To load
  it, the detector must have ``_rebuild_modules(self) -> dict[str, torch.nn.Module]``, called once
  the rest of the learned state is set: a freshly built module for each such attribute, into which
  the saved state dict is loaded (strictly), then put in eval mode;
- a nested estimator, i.e. an object with ``get_params`` (a scikit-learn model inside a detector):
  its class (from scikit-learn, ganprint or the detector's own package) and every attribute of its
  ``__dict__``, encoded by the same walk. On loading the object is made with ``cls.__new__`` and
  given those attributes, as unpickling would, but only from these types;
- anything else is a :class:`SaveError` naming the attribute.

For what the walk cannot see or encode, a detector defines ``_extra_state(self) -> dict`` (values
encoded by the same walk) and ``_set_extra_state(self, state)``; an entry of ``_extra_state``
named like a learned attribute takes that attribute's place in the walk. The extra state is set
last, after the modules.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import numpy as np

import ganprint
from ganprint.atomic import write_bytes, write_json
from ganprint.cache import CacheEntryError, digest_path, read_sealed, seal
from ganprint.interfaces import Attributor, check_is_fitted

FORMAT = "ganprint-detector"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.safetensors"
WEIGHTS = "weights.safetensors"
LIBRARIES = ("numpy", "scikit-learn", "torch", "safetensors")
# nested estimators are rebuilt only from classes of these packages (and the detector's own)
ESTIMATOR_PACKAGES = ("sklearn", "ganprint")


class SaveError(ValueError):
    """A detector whose state cannot be saved (the message names the attribute and the way out)."""


class LoadError(ValueError):
    """A folder that cannot be loaded: not a saved detector, a file missing or changed, the plugin
    missing or in another version (the message says which)."""


@dataclass(frozen=True)
class Calibration:
    """What the protocol learned around a fitted detector, saved with it.

    ``detection_threshold``: a score at or above it is called generated; ``rejection_threshold``:
    a confidence below it is called ``unknown`` (open world); ``image_size`` and ``image_fit``:
    how an image of another size is brought to the size the detector was fitted on."""

    detection_threshold: float | None = None
    rejection_threshold: float | None = None
    image_size: int | None = None
    image_fit: str = "resize"
    dataset: str | None = None
    dataset_hash: str | None = None
    seed: int | None = None
    sources: list[str] = field(default_factory=list)


@dataclass
class SavedDetector:
    """A loaded detector with what its manifest records: ``detector``, ``name``, ``calibration``
    and the whole ``manifest``."""

    detector: Any
    name: str
    calibration: Calibration
    manifest: dict[str, Any]


# ---------------------------------------------------------------------------------------- saving
class _Blobs:
    """The arrays and tensors a walk takes out of the JSON, by key."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.tensors: dict[str, Any] = {}


def _torch() -> Any:
    """torch if it was imported (no value can be a torch object otherwise), else None."""
    return sys.modules.get("torch")


def _class_path(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _encode(value: Any, where: str, blobs: _Blobs) -> Any:
    """``value`` as JSON, its arrays and tensors moved into ``blobs`` under the key ``where``."""
    if value is None or isinstance(value, (bool, int, float, str)) and not isinstance(value, np.generic):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biufUS":
            raise SaveError(f"{where}: cannot save a numpy scalar of dtype {value.dtype}")
        return {"$scalar": value.dtype.str, "value": value.item() if value.dtype.kind in "biuf" else str(value)}
    if isinstance(value, np.ndarray):
        return _encode_array(value, where, blobs)
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{where}[{i}]", blobs) for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"$tuple": items}
    if isinstance(value, dict):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise SaveError(f"{where}: cannot save a dict with a key of type {type(bad[0]).__name__} "
                            "(keys must be str)")
        return {"$dict": {k: _encode(v, f"{where}.{k}", blobs) for k, v in value.items()}}
    torch = _torch()
    if torch is not None and isinstance(value, torch.nn.Module):
        raise SaveError(f"{where}: a torch module is saved only as a learned attribute of the detector itself "
                        "(rebuilt by its _rebuild_modules())")
    if torch is not None and isinstance(value, torch.Tensor):
        blobs.tensors[where] = value.detach().cpu().contiguous()
        return {"$tensor": where}
    if callable(getattr(value, "get_params", None)) and hasattr(value, "__dict__") and not isinstance(value, type):
        state = {k: _encode(v, f"{where}.{k}", blobs) for k, v in sorted(vars(value).items())}
        return {"$estimator": _class_path(type(value)), "state": state}
    raise SaveError(f"{where}: cannot save a value of type {type(value).__module__}.{type(value).__qualname__}; "
                    "give the detector _extra_state() and _set_extra_state() (CONTRIBUTING.md, Saving)")


def _encode_array(value: np.ndarray, where: str, blobs: _Blobs) -> Any:
    kind = value.dtype.kind
    if kind in "biuf":
        blobs.arrays[where] = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("="))
        # an array laid out otherwise than in C order (Fortran order, a strided view) comes back
        # with the same strides: a matrix product sums it in another order otherwise
        laid_out = not value.flags.c_contiguous and all(s > 0 and s % value.itemsize == 0 for s in value.strides)
        return {"$array": where, "strides": list(value.strides)} if laid_out else {"$array": where}
    if kind in "US" or kind == "O" and all(isinstance(v, str) for v in value.flat):
        return {"$strings": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    raise SaveError(f"{where}: cannot save a numpy array of dtype {value.dtype}")


def learned_state(detector: Any) -> dict[str, Any]:
    """The attributes ending in ``_`` (not dunder), by name: the learned state the walk saves."""
    return {k: v for k, v in vars(detector).items() if k.endswith("_") and not k.startswith("__")}


def _distribution_versions() -> dict[str, str]:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _registered_name(detector: Any, registry: Any) -> str:
    """The registered name whose factory makes ``detector``'s class, preferring one whose
    parameters are the detector's; :class:`SaveError` when none or several fit equally."""
    cls, params = type(detector), _json_params(detector)
    same_class, same_params = [], []
    for name in sorted(registry.detectors):
        try:
            made = registry.detectors[name].factory()
        except Exception:  # noqa: BLE001 - a factory that fails here cannot be the one
            continue
        if type(made) is cls:
            same_class.append(name)
            if _json_params(made) == params:
                same_params.append(name)
    chosen = same_params or same_class
    if len(chosen) == 1:
        return chosen[0]
    if not chosen:
        raise SaveError(f"no registered detector makes a {cls.__name__}: register it (ganprint_detectors) to save it")
    raise SaveError(f"several registered detectors make a {cls.__name__} ({', '.join(chosen)}): give name=")


def _json_params(estimator: Any) -> str:
    return json.dumps(estimator.get_params(deep=False), sort_keys=True, default=repr)


def save(detector: Any, path: Path | str, *, name: str | None = None, calibration: Calibration | None = None,
         registry: Any = None) -> Path:
    """Save the fitted ``detector`` into the folder ``path`` (see the module docstring).

    ``name`` is its registered name (found from its class when not given); ``calibration``
    carries thresholds, image size and provenance (:func:`save_fitted` fills it from a protocol
    fit). The folder is written beside ``path`` and renamed into place; an existing saved detector
    there is replaced, any other existing non-empty folder is refused. Returns ``path``.
    """
    from ganprint.registry import load_registry

    path = Path(path)
    if callable(getattr(detector, "fit", None)):
        check_is_fitted(detector)
    registry = registry if registry is not None else load_registry()
    name = name if name is not None else _registered_name(detector, registry)
    if name not in registry.detectors:
        raise SaveError(f"detector {name!r} is not registered: only registered detectors can be loaded again")
    made = type(registry.detectors[name].factory())
    if made is not type(detector):
        raise SaveError(f"detector {name!r} makes a {_class_path(made)}, not a {_class_path(type(detector))}: "
                        "it could not be loaded as saved")
    info = registry.origin("detectors", name)
    calibration = calibration or Calibration()
    blobs = _Blobs()
    params = {k: _encode(v, f"params.{k}", blobs) for k, v in detector.get_params(deep=False).items()}
    extra_hook = getattr(detector, "_extra_state", None)
    extra = dict(extra_hook()) if callable(extra_hook) else None
    state, modules = {}, []
    torch = _torch()
    for key, value in sorted(learned_state(detector).items()):
        if extra is not None and key in extra:
            continue
        if torch is not None and isinstance(value, torch.nn.Module):
            if not callable(getattr(detector, "_rebuild_modules", None)):
                raise SaveError(f"{key}: {type(detector).__name__} holds a torch module but has no "
                                "_rebuild_modules() to build it again on loading (CONTRIBUTING.md, Saving)")
            for k, v in value.state_dict().items():
                blobs.tensors[f"{key}.{k}"] = v.detach().cpu().contiguous()
            modules.append(key)
            continue
        state[key] = _encode(value, key, blobs)
    encoded_extra = None if extra is None else {k: _encode(v, f"extra.{k}", blobs) for k, v in extra.items()}
    classes = np.asarray(detector.classes_).tolist() if isinstance(detector, Attributor) else None
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "ganprint_version": ganprint.__version__,
        "detector": {"name": name, "class": _class_path(type(detector)), "plugin": info.plugin,
                     "distribution": info.distribution, "version": info.version},
        "params": params,
        "state": state,
        "modules": modules,
        "extra_state": encoded_extra,
        "classes": classes,
        "thresholds": {"detection": calibration.detection_threshold, "rejection": calibration.rejection_threshold},
        "image": {"size": calibration.image_size, "fit": calibration.image_fit},
        "dataset": {"name": calibration.dataset, "content_hash": calibration.dataset_hash,
                    "sources": list(calibration.sources)},
        "seed": calibration.seed,
        "libraries": _distribution_versions(),
    }
    _write_folder(path, manifest, blobs)
    return path


def _write_folder(path: Path, manifest: dict[str, Any], blobs: _Blobs) -> None:
    if path.exists() and (not path.is_dir() or (any(path.iterdir()) and not (path / MANIFEST).exists())):
        raise SaveError(f"{path} exists and is not a saved detector: give a new folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        files = {}
        if blobs.arrays:
            from safetensors.numpy import save as save_arrays

            files[ARRAYS] = save_arrays(blobs.arrays)
        if blobs.tensors:
            from safetensors.torch import save as save_tensors

            files[WEIGHTS] = save_tensors(blobs.tensors)
        for file_name, data in files.items():
            write_bytes(staging / file_name, data)
        manifest["files"] = {n: hashlib.sha256(d).hexdigest() for n, d in files.items()}
        write_json(staging / MANIFEST, manifest, default=None)
        seal(staging / MANIFEST)
        staging.chmod(0o755)
        aside = path.with_name(f".{path.name}.replaced-{os.getpid()}") if path.exists() else None
        if aside is not None:
            os.replace(path, aside)
        os.replace(staging, path)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def save_fitted(fitted: Any, dataset: Any, path: Path | str, *, name: str, seed: int,
                sources: list[str] | None = None, registry: Any = None) -> Path:
    """Save a :class:`ganprint.protocol.FittedMethod`'s method with the protocol's calibration:
    its detection threshold, the rejection threshold of the method itself
    (``own_rejection_threshold``), the dataset's image size and fit, and the ``sources`` it was
    fitted on (default: all of the dataset's)."""
    policy = getattr(dataset, "policy", None)
    calibration = Calibration(
        detection_threshold=fitted.detection_threshold,
        rejection_threshold=fitted.own_rejection_threshold,
        image_size=int(dataset.image_size),
        image_fit=policy.fit if policy is not None else "resize",
        dataset=dataset.name,
        dataset_hash=dataset.content_hash(),
        seed=seed,
        sources=list(dataset.sources if sources is None else sources),
    )
    return save(fitted.method, path, name=name, calibration=calibration, registry=registry)


# --------------------------------------------------------------------------------------- loading
def _read_manifest(path: Path) -> dict[str, Any]:
    file = path / MANIFEST
    if not path.is_dir():
        raise LoadError(f"{path} is not a folder holding a saved detector")
    if not file.exists():
        raise LoadError(f"{path} is not a saved detector (it has no {MANIFEST})")
    try:
        data = read_sealed(file)
    except CacheEntryError as error:
        raise LoadError(f"saved detector {path}: {MANIFEST} was changed or damaged ({error}); "
                        f"it and {digest_path(file).name} must be as saved") from None
    try:
        manifest = json.loads(data)
    except ValueError as error:
        raise LoadError(f"saved detector {path}: {MANIFEST} is not JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise LoadError(f"{path} is not a saved ganprint detector ({MANIFEST} has another format)")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise LoadError(f"saved detector {path} has format version {manifest.get('format_version')}; this "
                        f"ganprint ({ganprint.__version__}) reads version {FORMAT_VERSION}")
    return manifest


def _read_files(path: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """Every file the manifest lists, read once and checked against its recorded sha256."""
    out = {}
    for name, recorded in sorted(manifest.get("files", {}).items()):
        file = path / name
        if Path(name).name != name:
            raise LoadError(f"saved detector {path}: {MANIFEST} names a file outside the folder ({name!r})")
        try:
            data = file.read_bytes()
        except OSError as error:
            raise LoadError(f"saved detector {path}: {name} cannot be read ({error.strerror or error})") from None
        if hashlib.sha256(data).hexdigest() != recorded:
            raise LoadError(f"saved detector {path}: {name} does not match the sha256 recorded in {MANIFEST} "
                            "(changed or damaged since it was saved)")
        out[name] = data
    return out


def _check_installed(manifest: dict[str, Any], registry: Any) -> Any:
    """The registered spec the manifest names, once it is the same distribution and version."""
    saved = manifest["detector"]
    name = saved["name"]
    where = f"{saved['distribution']} {saved['version']}"
    if name not in registry.detectors:
        raise LoadError(f"detector {name!r} was saved by plugin {saved['plugin']!r} of {where}, which is not "
                        f"installed (or failed to load: `bench list` shows why); install {saved['distribution']} "
                        f"{saved['version']} to load it")
    info = registry.origin("detectors", name)
    if (info.distribution, info.version) != (saved["distribution"], saved["version"]):
        raise LoadError(f"detector {name!r} was saved with {where}; the installed one comes from "
                        f"{info.distribution} {info.version}: install {saved['distribution']}=={saved['version']} "
                        "to load it (a fitted state is only trusted in the version that wrote it)")
    return registry.detectors[name]


class _Decoder:
    """The inverse of :func:`_encode`, over the checked arrays and tensors."""

    def __init__(self, arrays: Mapping[str, np.ndarray], tensors: Mapping[str, Any], packages: tuple[str, ...]) -> None:
        self.arrays, self.tensors, self.packages = arrays, tensors, packages

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "$tuple" in value:
            return tuple(self(v) for v in value["$tuple"])
        if "$dict" in value:
            return {k: self(v) for k, v in value["$dict"].items()}
        if "$scalar" in value:
            return np.dtype(value["$scalar"]).type(value["value"])
        if "$array" in value:
            return _with_strides(self.arrays[value["$array"]], value.get("strides"))
        if "$strings" in value:
            return np.array(value["$strings"], dtype=np.dtype(value["dtype"])).reshape(value["shape"])
        if "$tensor" in value:
            return self.tensors[value["$tensor"]].clone()
        if "$estimator" in value:
            cls = self._estimator_class(value["$estimator"])
            obj = cls.__new__(cls)
            obj.__dict__.update({k: self(v) for k, v in value["state"].items()})
            return obj
        raise LoadError(f"unknown entry in the saved state: {sorted(value)}")

    def _estimator_class(self, path: str) -> type:
        module, _, qualname = path.partition(":")
        if module.split(".")[0] not in self.packages:
            raise LoadError(f"the saved state names class {path}, outside the packages a nested estimator may "
                            f"come from ({', '.join(self.packages)})")
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        if not isinstance(obj, type) or not callable(getattr(obj, "get_params", None)):
            raise LoadError(f"the saved state names {path}, which is not an estimator class")
        return obj


def _with_strides(array: np.ndarray, strides: list[int] | None) -> np.ndarray:
    """A writable copy of ``array`` laid out in memory with ``strides`` (C order when None)."""
    if strides is None or array.size == 0:
        return array.copy()
    if (not isinstance(strides, list) or len(strides) != array.ndim
            or any(not isinstance(s, int) or s < 0 or s % array.itemsize for s in strides)):
        # a view with other strides could reach outside the buffer it is made over
        raise LoadError(f"the saved state gives strides {strides!r} that do not fit an array of shape {array.shape}")
    span = sum((n - 1) * s for n, s in zip(array.shape, strides)) // array.itemsize + 1
    out = np.lib.stride_tricks.as_strided(np.empty(span, array.dtype), array.shape, strides)
    out[...] = array
    return out


def load_saved(path: Path | str, registry: Any = None) -> SavedDetector:
    """The detector saved in ``path`` with its manifest (see the module docstring); raises
    :class:`LoadError` saying what is wrong."""
    from ganprint.registry import load_registry

    path = Path(path)
    manifest = _read_manifest(path)
    files = _read_files(path, manifest)
    registry = registry if registry is not None else load_registry()
    try:
        return _restore(path, manifest, files, registry)
    except (KeyError, TypeError) as error:
        raise LoadError(f"saved detector {path} cannot be restored ({type(error).__name__}: {error}); "
                        f"is its {MANIFEST} complete?") from error


def _restore(path: Path, manifest: dict[str, Any], files: dict[str, bytes], registry: Any) -> SavedDetector:
    spec = _check_installed(manifest, registry)
    detector = spec.factory()
    if _class_path(type(detector)) != manifest["detector"]["class"]:
        raise LoadError(f"detector {manifest['detector']['name']!r} now makes a {_class_path(type(detector))}, "
                        f"but a {manifest['detector']['class']} was saved")
    arrays: dict[str, np.ndarray] = {}
    tensors: dict[str, Any] = {}
    if ARRAYS in files:
        from safetensors.numpy import load as load_arrays

        arrays = load_arrays(files[ARRAYS])
    if WEIGHTS in files:
        from safetensors.torch import load as load_tensors

        tensors = load_tensors(files[WEIGHTS])
    _warn_other_library_versions(manifest, path)
    own_package = type(detector).__module__.split(".")[0]
    decode = _Decoder(arrays, tensors, tuple(dict.fromkeys((*ESTIMATOR_PACKAGES, own_package))))
    detector.set_params(**{k: decode(v) for k, v in manifest["params"].items()})
    for key, value in manifest["state"].items():
        setattr(detector, key, decode(value))
    if manifest["modules"]:
        _restore_modules(detector, manifest["modules"], tensors, path)
    if manifest["extra_state"] is not None:
        detector._set_extra_state({k: decode(v) for k, v in manifest["extra_state"].items()})
    image, thresholds, dataset = manifest["image"], manifest["thresholds"], manifest["dataset"]
    calibration = Calibration(thresholds["detection"], thresholds["rejection"], image["size"], image["fit"],
                              dataset["name"], dataset["content_hash"], manifest["seed"], dataset["sources"])
    return SavedDetector(detector, manifest["detector"]["name"], calibration, manifest)


def _warn_other_library_versions(manifest: dict[str, Any], path: Path) -> None:
    """Warn when a nested scikit-learn estimator was saved by another scikit-learn version: its
    attributes are set as saved, and that version may have named or used them otherwise."""
    saved = manifest.get("libraries", {}).get("scikit-learn")
    if saved is None or '"$estimator": "sklearn.' not in json.dumps(manifest["state"]):
        return
    installed = _distribution_versions().get("scikit-learn")
    if installed != saved:
        warnings.warn(f"saved detector {path} holds a scikit-learn model saved with scikit-learn {saved}; "
                      f"{installed} is installed, whose model may read those attributes otherwise",
                      stacklevel=3)


def _restore_modules(detector: Any, names: list[str], tensors: Mapping[str, Any], path: Path) -> None:
    import torch

    with torch.random.fork_rng(devices=[]):  # building a module draws initial weights: keep the caller's RNG
        built = dict(detector._rebuild_modules())
    if set(built) != set(names):
        raise LoadError(f"saved detector {path}: _rebuild_modules() gave {sorted(built)}, the saved modules "
                        f"are {sorted(names)}")
    for name in names:
        module = built[name]
        state = {k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")}
        try:
            module.load_state_dict(state, strict=True)
        except RuntimeError as error:
            raise LoadError(f"saved detector {path}: the weights of {name} do not fit the rebuilt module "
                            f"({str(error).splitlines()[0]})") from None
        setattr(detector, name, module.eval())


def load(path: Path | str, registry: Any = None) -> Any:
    """The detector saved in ``path`` by :func:`save`, ready to ``predict``/``score``/``decode``."""
    return load_saved(path, registry).detector


def create(name: str, registry: Any = None, **params: Any) -> Any:
    """A new, unfitted instance of the registered detector ``name`` with ``params`` set
    (``set_params``: an unknown parameter is a ``ValueError``), after timm's ``create_model``."""
    from ganprint.registry import load_registry

    registry = registry if registry is not None else load_registry()
    detector = registry.get("detectors", name).factory()
    return detector.set_params(**params) if params else detector
