"""ganprint.save / load / create: every built-in detector and a third-party one round-trip bitwise
without pickle; a changed file, a missing plugin, another version and a foreign class are refused."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganprint import Attributor, DetectorSpec, check_is_fitted, create, hookimpl, load, save
from ganprint.cache import seal
from ganprint.registry import UnknownNameError, load_registry
from ganprint.saving import ARRAYS, MANIFEST, WEIGHTS, Calibration, LoadError, SaveError, load_saved
from ganprint.testing import ConformanceError, detector_checks, synthetic_sources

REGISTRY = load_registry()
SMALL = {"max_epochs": 1, "cache": False}  # the smallest fit of a neural detector; others have neither


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Small networks on a shared CPU only lose time to thread contention."""
    from ganprint.training import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return synthetic_sources(8, 32)


def outputs(method: object, X: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for name in ("predict_proba", "score", "confidence", "decode", "predict"):
        if callable(getattr(method, name, None)):
            out[name] = np.asarray(getattr(method, name)(X))
    return out


@pytest.mark.parametrize("name", sorted(REGISTRY.detectors))
def test_builtin_round_trip_is_bitwise(name: str, data, tmp_path: Path) -> None:
    X, y = data
    detector = create(name)
    detector.set_params(**{k: v for k, v in SMALL.items() if k in detector.get_params(deep=False)})
    detector.fit(X, y)
    before = outputs(detector, X)
    save(detector, tmp_path / "saved", name=name, calibration=Calibration(0.5, 0.25, 32))
    saved = load_saved(tmp_path / "saved")
    after = outputs(saved.detector, X)
    assert saved.name == name and type(saved.detector) is type(detector)
    assert saved.detector.get_params(deep=False) == detector.get_params(deep=False)
    assert before.keys() == after.keys() and before
    for key in before:
        assert after[key].dtype == before[key].dtype and np.array_equal(after[key], before[key]), key
    assert (saved.calibration.detection_threshold, saved.calibration.rejection_threshold) == (0.5, 0.25)
    manifest = json.loads((tmp_path / "saved" / MANIFEST).read_text())
    for file, digest in manifest["files"].items():
        assert hashlib.sha256((tmp_path / "saved" / file).read_bytes()).hexdigest() == digest
    assert not list(tmp_path.glob("*.pkl")) and not list((tmp_path / "saved").glob("*.pt"))


def test_stega_keeps_the_decoder_it_was_fitted_with(data, tmp_path: Path) -> None:
    X, y = data
    detector = create("stega").fit(X, y)
    save(detector, tmp_path / "saved")
    loaded = load_saved(tmp_path / "saved").detector.set_params(model=str(tmp_path / "gone"))
    assert np.array_equal(loaded.decode(X), detector.decode(X))
    assert (tmp_path / "saved" / WEIGHTS).exists()


# ------------------------------------------------------------------ a third-party detector
class Table:
    """A learned object the state walk cannot encode (no get_params): saved by the hook."""

    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows


class PatchAttributor(Attributor):
    """Mean colours of 4x4 patches; a nearest-centroid distance, a torch head and a table lookup."""

    def __init__(self, temperature: float = 10.0) -> None:
        self.temperature = temperature

    def _features(self, X: np.ndarray) -> np.ndarray:
        n, h, w, _ = X.shape
        return X.reshape(n, h // 4, 4, w // 4, 4, 3).mean(axis=(2, 4)).reshape(n, -1).astype(np.float32) / 255

    def fit(self, X, y):
        y = np.asarray(y)
        features = self._features(X)
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([features[y == c].mean(axis=0) for c in self.classes_]).T  # Fortran-ordered .T
        torch.manual_seed(0)
        self.head_ = torch.nn.Linear(features.shape[1], len(self.classes_))
        self.table_ = Table(np.linspace(0.0, 1.0, len(self.classes_)))
        self.n_features_ = np.int64(features.shape[1])
        return self

    def predict_proba(self, X):
        check_is_fitted(self)
        features = self._features(X)
        distance = ((features[:, :, None] - self.centroids_[None]) ** 2).sum(axis=1)
        with torch.no_grad():
            logits = self.head_(torch.from_numpy(features)).numpy().astype(np.float64)
        z = -self.temperature * distance + logits + self.table_.rows
        p = np.exp(z - z.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def _rebuild_modules(self):
        return {"head_": torch.nn.Linear(int(self.n_features_), len(self.classes_))}

    def _extra_state(self):
        return {"table_": self.table_.rows}

    def _set_extra_state(self, state):
        self.table_ = Table(state["table_"])


class WithoutHooks(PatchAttributor):
    _extra_state = None


class WithoutModuleHook(PatchAttributor):
    _rebuild_modules = None


class ThirdParty:
    @hookimpl
    def ganprint_detectors(self):
        return [DetectorSpec("patches", PatchAttributor, "a third-party attributor"),
                DetectorSpec("patches.nohook", WithoutHooks, "the same without _extra_state"),
                DetectorSpec("patches.nomodule", WithoutModuleHook, "the same without _rebuild_modules")]


@pytest.fixture
def third_party() -> object:
    return load_registry(entry_points=[], modules=[("thirdparty", ThirdParty())])


def test_third_party_round_trip_with_hooks(third_party, data, tmp_path: Path) -> None:
    X, y = data
    detector = PatchAttributor(temperature=3.0).fit(X, y)
    save(detector, tmp_path / "saved", registry=third_party)
    loaded = load(tmp_path / "saved", registry=third_party)
    assert loaded.temperature == 3.0 and isinstance(loaded.table_, Table)
    assert not loaded.head_.training and loaded.centroids_.flags.f_contiguous
    assert np.array_equal(loaded.predict_proba(X), detector.predict_proba(X))
    assert (tmp_path / "saved" / WEIGHTS).exists() and (tmp_path / "saved" / ARRAYS).exists()


def test_state_the_walk_cannot_encode_is_refused(third_party, data, tmp_path: Path) -> None:
    X, y = data
    with pytest.raises(SaveError, match=r"table_: cannot save a value of type .*Table.*_extra_state"):
        save(WithoutHooks().fit(X, y), tmp_path / "a", registry=third_party)
    with pytest.raises(SaveError, match=r"head_: .*torch module but has no _rebuild_modules"):
        save(WithoutModuleHook().fit(X, y), tmp_path / "b", registry=third_party)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_conformance_check_catches_state_lost_in_saving() -> None:
    class Forgetful(PatchAttributor):
        def _set_extra_state(self, state):
            self.table_ = Table(np.zeros_like(state["table_"]))

    checks = dict(detector_checks(Forgetful, n_per_source=6))
    with pytest.raises(ConformanceError, match="differs after saving and loading"):
        checks["check_save_load"]()
    dict(detector_checks(PatchAttributor, n_per_source=6))["check_save_load"]()


# ------------------------------------------------------------------ refused folders
@pytest.fixture
def saved_knn(data, tmp_path: Path) -> Path:
    X, y = data
    return save(create("knn").fit(X, y), tmp_path / "knn", calibration=Calibration(0.5, 0.4, 32))


def test_a_changed_array_file_is_refused(saved_knn: Path) -> None:
    data = bytearray((saved_knn / ARRAYS).read_bytes())
    data[-1] ^= 1
    (saved_knn / ARRAYS).chmod(0o644)
    (saved_knn / ARRAYS).write_bytes(bytes(data))
    with pytest.raises(LoadError, match=rf"{ARRAYS} does not match the sha256 recorded in {MANIFEST}"):
        load(saved_knn)


def test_a_changed_manifest_is_refused(saved_knn: Path) -> None:
    manifest = json.loads((saved_knn / MANIFEST).read_text())
    manifest["thresholds"]["detection"] = 0.0
    (saved_knn / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(LoadError, match=rf"{MANIFEST} was changed or damaged"):
        load(saved_knn)


def _reseal(folder: Path, change) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    change(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))
    seal(folder / MANIFEST)


def test_missing_plugin_and_other_version_are_refused(third_party, data, tmp_path: Path) -> None:
    X, y = data
    folder = save(PatchAttributor().fit(X, y), tmp_path / "saved", registry=third_party)
    with pytest.raises(LoadError, match=r"detector 'patches' was saved by plugin 'thirdparty' .* not installed"):
        load(folder, registry=REGISTRY)
    _reseal(folder, lambda m: m["detector"].update(version="9.9"))
    with pytest.raises(LoadError, match=r"saved with \(in process\) 9\.9; the installed one comes from"):
        load(folder, registry=third_party)


def test_a_nested_class_from_elsewhere_is_refused(saved_knn: Path) -> None:
    _reseal(saved_knn, lambda m: m["state"]["model_"].update({"$estimator": "subprocess:Popen"}))
    with pytest.raises(LoadError, match="outside the packages a nested estimator may come from"):
        load(saved_knn)


def test_another_scikit_learn_version_is_warned_of(saved_knn: Path) -> None:
    _reseal(saved_knn, lambda m: m["libraries"].update({"scikit-learn": "0.1"}))
    with pytest.warns(UserWarning, match="saved with scikit-learn 0.1"):
        load(saved_knn)


def test_save_replaces_a_saved_detector_and_refuses_other_folders(saved_knn: Path, data, tmp_path: Path) -> None:
    X, y = data
    save(create("knn", n_neighbors=2).fit(X, y), saved_knn)
    assert load(saved_knn).n_neighbors == 2
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(SaveError, match="is not a saved detector"):
        save(create("knn").fit(X, y), other)
    assert (other / "notes.txt").read_text() == "mine"
    with pytest.raises(LoadError, match="has no manifest.json"):
        load(other)


def test_create_sets_params_from_the_registry() -> None:
    assert create("knn", n_neighbors=3).get_params(deep=False) == {"n_neighbors": 3, "weights": "distance"}
    with pytest.raises(ValueError, match="invalid parameter 'depth'"):
        create("knn", depth=3)
    with pytest.raises(UnknownNameError, match="did you mean knn"):
        create("knnn")


def test_strides_that_would_reach_outside_the_array_are_refused(saved_knn: Path) -> None:
    def first_array(node):
        if isinstance(node, dict):
            if "$array" in node:
                return node
            return next((found for v in node.values() if (found := first_array(v)) is not None), None)
        if isinstance(node, list):
            return next((found for v in node if (found := first_array(v)) is not None), None)
        return None

    def negative_strides(manifest):
        entry = first_array(manifest["state"])
        assert entry is not None, "knn's saved state holds no array"
        entry["strides"] = [-8] * 2

    _reseal(saved_knn, negative_strides)
    with pytest.raises(LoadError, match="strides"):
        load(saved_knn)
