"""The registry loads each plugin in isolation, refuses duplicate names and selects by glob."""
from __future__ import annotations

import importlib.metadata
import types

import pytest

from ganprint import DetectorSpec, hookimpl
from ganprint.plugins.knn import KNNAttributor
from ganprint.registry import UnknownNameError, load_registry
from ganprint.specs import AttackSpec


def plugin(**hooks) -> types.SimpleNamespace:
    return types.SimpleNamespace(**{name: hookimpl(fn) for name, fn in hooks.items()})


def specs(*names: str):
    return lambda: [DetectorSpec(n, KNNAttributor, f"{n} detector") for n in names]


def test_import_failure_is_recorded_and_others_load() -> None:
    broken = importlib.metadata.EntryPoint("broken", "ganprint_no_such_module_xyz", "ganprint")
    registry = load_registry(entry_points=[broken], modules=[("good", plugin(ganprint_detectors=specs("a")))])
    assert list(registry.detectors) == ["a"]
    (failure,) = registry.failures
    assert failure.plugin == "broken" and failure.stage == "import"
    assert "ModuleNotFoundError" in failure.error


def test_raising_hook_is_recorded_and_other_hooks_still_run() -> None:
    def boom():
        raise RuntimeError("hook exploded")

    registry = load_registry(entry_points=[], modules=[
        ("bad", plugin(ganprint_detectors=boom)),
        ("good", plugin(ganprint_detectors=specs("b"))),
    ])
    assert list(registry.detectors) == ["b"]
    assert [(f.plugin, f.stage) for f in registry.failures] == [("bad", "hook ganprint_detectors")]
    assert "hook exploded" in registry.failures[0].error


def test_duplicate_name_is_refused_for_both_naming_both() -> None:
    registry = load_registry(entry_points=[], modules=[
        ("first", plugin(ganprint_detectors=specs("same"))),
        ("second", plugin(ganprint_detectors=specs("same", "other"))),
    ])
    assert "same" not in registry.detectors and "other" in registry.detectors
    assert [f.plugin for f in registry.failures] == ["first", "second"]
    for failure in registry.failures:
        assert "'first'" in failure.error and "'second'" in failure.error and "same" in failure.error
    with pytest.raises(UnknownNameError, match="'same' was refused.*'first'.*'second'"):
        registry.select("detectors", "same")


def test_wrong_record_type_is_a_failure() -> None:
    registry = load_registry(entry_points=[], modules=[("odd", plugin(
        ganprint_detectors=lambda: [AttackSpec("x", KNNAttributor, "not a detector spec")]))])
    assert registry.detectors == {}
    assert "expected DetectorSpec" in registry.failures[0].error


def test_selection_globs_all_and_natural_order() -> None:
    registry = load_registry(entry_points=[], modules=[("p", plugin(ganprint_detectors=specs("seed10", "seed2", "knn", "eigen")))])
    names = lambda sel: [s.name for s in registry.select("detectors", sel)]  # noqa: E731
    assert names("all") == ["eigen", "knn", "seed2", "seed10"]
    assert names("knn,eigen*") == ["knn", "eigen"]
    assert names("seed*,knn,seed2") == ["seed2", "seed10", "knn"]


def test_unknown_name_suggests_close_matches() -> None:
    registry = load_registry(entry_points=[], modules=[("p", plugin(ganprint_detectors=specs("eigenface", "knn")))])
    with pytest.raises(UnknownNameError, match="did you mean eigenface"):
        registry.select("detectors", "eigenfce")
    with pytest.raises(UnknownNameError, match=r"unknown detector 'zzz\*'"):
        registry.select("detectors", "zzz*")


@pytest.mark.parametrize("name", ["Upper", "has space", "", "a/b"])
def test_spec_names_are_validated(name: str) -> None:
    with pytest.raises(ValueError, match="lowercase"):
        DetectorSpec(name, KNNAttributor, "summary")


def test_blocked_entry_point_is_skipped() -> None:
    registry = load_registry(blocked=["knn"])
    assert "knn" not in registry.detectors and "eigenface" in registry.detectors
