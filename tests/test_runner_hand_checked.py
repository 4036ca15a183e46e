"""``bench run``'s runner on toy detectors and a 16-image dataset whose splits are listed by hand.

Most tests play the runner's task graph with canned outcomes (:class:`Scripted`): the tasks it
plans, the cells it stores, the seconds it adds up and the cells ``--resume`` skips are then known
exactly. One test runs the toy detectors for real, in this process.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pytest

import ganprint
import ganprint.training  # noqa: F401 - imported by every task LocalExecutor runs: loaded once, here
from ganprint import AttackSpec, DetectorSpec
from ganprint.benchmark import runner as runner_module
from ganprint.benchmark.executors import Executor, LocalExecutor, Ref, RunContext, Task, TaskGraph
from ganprint.benchmark.outcome import Outcome
from ganprint.benchmark.runner import (
    NO_ATTACK,
    PROTOCOL_VERSION,
    SavedFit,
    cell_key,
    note_skipped,
    resolve_attacks,
    run_benchmark,
)
from ganprint.benchmark.store import CellResult, ResultStore
from ganprint.dataset import ArrayDataset, SkippedImage
from ganprint.interfaces import Attack, Attributor, Detector
from ganprint.registry import PluginInfo, Registry

# -- toys --------------------------------------------------------------------------------------------


class Bright(Detector):
    """Scores an image by its mean brightness."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Bright":
        self.fitted_ = True
        return self

    def score(self, X: np.ndarray) -> np.ndarray:
        return self.gain * X.mean(axis=(1, 2, 3)) / 255.0


class Tunable(Bright):
    """A detector offering ``fine_tune``: immunized fits start from its clean fit."""

    def fine_tune(self, X: np.ndarray, y: np.ndarray) -> "Tunable":
        return self


class Attrib(Attributor):
    """Attributes every image to the first source it was fitted on."""

    def __init__(self, depth: int = 2) -> None:
        self.depth = depth

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Attrib":
        self.classes_ = np.array(sorted(set(np.asarray(y).tolist())))
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        proba = np.zeros((len(X), len(self.classes_)))
        proba[:, 0] = 1.0
        return proba


class TunableAttrib(Attrib):
    def fine_tune(self, X: np.ndarray, y: np.ndarray) -> "TunableAttrib":
        return self


class Unsorted(Bright):
    """Hyperparameters declared out of alphabetical order."""

    def __init__(self, zeta: int = 1, alpha: int = 2) -> None:
        self.zeta, self.alpha = zeta, alpha


class Cannot(Bright):
    def __init__(self) -> None:
        raise RuntimeError("cannot build\nsecond line")


class Invert(Attack):
    def __init__(self, amount: int = 255, sizes: tuple = (1, 2)) -> None:
        self.amount, self.sizes = amount, sizes

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return (self.amount - X.astype(np.int16)).clip(0, 255).astype(np.uint8)


class Opaque:
    """A parameter value JSON cannot write."""

    def __repr__(self) -> str:
        return "Opaque()"


def no_codec() -> Attack:
    raise RuntimeError("no codec")


def toy_registry(detectors: dict[str, Callable[[], Any]], attacks: dict[str, Callable[[], Any]] = {}) -> Registry:
    registry = Registry()
    for name, factory in detectors.items():
        registry.specs["detectors"][name] = DetectorSpec(name, factory, "toy")
        registry.origins[("detectors", name)] = PluginInfo("toys", "toy-dist", "1.2.3")
    for name, factory in attacks.items():
        registry.specs["attacks"][name] = AttackSpec(name, factory, "toy")
        registry.origins[("attacks", name)] = PluginInfo("toys", "toy-dist", "1.2.3")
    return registry


SOURCES = ["real", "gan_a", "gan_b", "gan_c"]
SPLITS = ["train", "train", "val", "test"]


def hand_dataset() -> ArrayDataset:
    """4 sources x (2 train, 1 val, 1 test) images of 4x4 pixels, source s at brightness 40 + 60 s
    (real darkest): 16 images, the test split is real/test/000003, gan_a/test/000007,
    gan_b/test/000011, gan_c/test/000015."""
    labels = [s for s in SOURCES for _ in SPLITS]
    splits = SPLITS * len(SOURCES)
    images = np.stack([np.full((4, 4, 3), 40 + 60 * SOURCES.index(s), np.uint8) for s in labels])
    return ArrayDataset("hand", images, labels, splits)


TEST_IDS = ["real/test/000003", "gan_a/test/000007", "gan_b/test/000011", "gan_c/test/000015"]


# -- a scripted executor -----------------------------------------------------------------------------

METRICS = {"detection": {"auc": 0.75, "acc": 0.5}}
ROWS = [{"id": "real/test/000003", "score": 0.1}, {"id": "gan_a/test/000007", "score": 0.9}]
SECONDS = {"fit": 1.5, "calibrate": 0.25, "eval": 0.125, "save": 4.0}


def canned(task: Task) -> Outcome:
    """Fits take 1.5 s (each), calibrations 0.25 s, evaluations 0.125 s and give METRICS, ROWS."""
    kind = task.id.split("|")[1]
    value = {"fit": "fitted", "calibrate": "calibrated", "eval": (METRICS, ROWS), "save": "saved"}[kind]
    return Outcome(value=value, seconds=SECONDS[kind])


class Scripted(LocalExecutor):
    """Plays the graph in order with ``outcome(task)`` instead of running it; records what it saw."""

    def __init__(self, outcome: Callable[[Task], Outcome] = canned, also_running: Sequence[str] = ()) -> None:
        super().__init__()
        self.outcome = outcome
        self.also_running = list(also_running)
        self.tasks: list[Task] = []
        self.context: RunContext | None = None

    def run(self, tasks: Sequence[Task], context: RunContext) -> Iterator[tuple[Task, Outcome]]:
        self.tasks, self.context = list(tasks), context
        graph = TaskGraph(tasks)
        while not graph.done:
            task = graph.ready()[0]
            graph.start(task)
            self.running = [task.label] + getattr(self, "also_running", [])
            yield from graph.complete(task, self.outcome(task))
        self.running = []

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.tasks]

    def task(self, task_id: str) -> Task:
        return next(t for t in self.tasks if t.id == task_id)


class ScriptedRemote(Executor):
    """The same, as an executor that is not this process's (``LocalExecutor`` is the only local one)."""

    run = Scripted.run
    ids = Scripted.ids
    task = Scripted.task

    def __init__(self, outcome: Callable[[Task], Outcome] = canned) -> None:
        super().__init__()
        self.outcome = outcome
        self.tasks: list[Task] = []


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ResultStore]:
    with ResultStore(tmp_path / "results.sqlite") as opened:
        yield opened


def run(registry: Registry, store: ResultStore, executor: Executor | None = None, dataset: ArrayDataset | None = None,
        **options: Any):
    options.setdefault("progress", False)
    return run_benchmark(registry, dataset or hand_dataset(), store=store, executor=executor or Scripted(),
                         **options)


# -- helpers -----------------------------------------------------------------------------------------

def test_resolve_attacks_keeps_the_order_given_without_repeats() -> None:
    registry = toy_registry({}, {"blur": Invert, "jpeg": Invert, "noise": Invert})
    # "none" first, then jpeg, then none and jpeg again (repeats), then bl* = blur
    choices = resolve_attacks(registry, " none, jpeg,,none,jpeg , bl*")
    assert [c.name for c in choices] == ["none", "jpeg", "blur"]
    assert choices[0].attack is None and choices[0].params == {} and choices[0].failed is None
    assert isinstance(choices[1].attack, Invert) and choices[1].failed is None
    assert choices[1].params == {"amount": 255, "sizes": [1, 2]}  # the tuple as JSON writes it
    assert [c.name for c in resolve_attacks(registry, "noise,none")] == ["noise", "none"]


def test_an_attack_that_cannot_be_made_carries_its_failure() -> None:
    registry = toy_registry({}, {"broken": no_codec, "jpeg": lambda: Invert(sizes=Opaque())})
    broken, jpeg = resolve_attacks(registry, "broken,jpeg")
    assert (broken.name, jpeg.name) == ("broken", "jpeg")
    assert broken.attack is None and broken.params == {}
    assert broken.failed is not None and broken.failed.error == "RuntimeError: no codec"
    assert jpeg.failed is None and jpeg.params == {"amount": 255, "sizes": "Opaque()"}


def test_an_attack_without_get_params_has_no_params() -> None:
    class Bare:
        def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            return X

    (bare,) = resolve_attacks(toy_registry({}, {"bare": Bare}), "bare")
    assert isinstance(bare.attack, Bare) and bare.params == {} and bare.failed is None


def test_note_skipped_adds_each_image_once_with_its_first_reason() -> None:
    dataset = hand_dataset()
    dataset.skipped.append(SkippedImage("a.png", "truncated"))
    note_skipped(dataset, [("a.png", "other"), ("b.png", "not an image"), ("b.png", "again"), ["c.png", "empty"]])
    assert [(s.id, s.reason) for s in dataset.skipped] == [
        ("a.png", "truncated"), ("b.png", "not an image"), ("c.png", "empty")]
    note_skipped(dataset, [])
    assert len(dataset.skipped) == 3


def test_cell_key_is_24_hex_of_the_sorted_json_without_the_time_fields() -> None:
    # by hand: {"b": 1, "a": [1, 2]} sorted is '{"a": [1, 2], "b": 1}'
    expected = hashlib.sha256(b'{"a": [1, 2], "b": 1}').hexdigest()[:24]
    assert cell_key({"b": 1, "a": [1, 2]}) == expected
    assert cell_key({"a": [1, 2], "b": 1, "time": "2026-01-01", "seconds": 3.5, "ganprint_version": "9"}) == expected
    assert re.fullmatch(r"[0-9a-f]{24}", expected)
    assert cell_key({"a": [1, 2], "b": 2}) != expected
    assert cell_key({"a": [1, 2], "b": 1, "seed": 0}) != expected
    # a value JSON cannot write is keyed by its repr
    assert cell_key({"p": Opaque()}) == hashlib.sha256(b'{"p": "Opaque()"}').hexdigest()[:24]


# -- the plan ----------------------------------------------------------------------------------------

def test_a_detector_under_two_attacks_is_one_fit_one_calibration_and_two_evaluations(store: ResultStore) -> None:
    registry = toy_registry({"bright": Bright}, {"inv": Invert})
    executor = ScriptedRemote()
    result = run(registry, store, executor, attacks="none,inv", seed=5, batch_size=7)
    assert executor.ids == ["bright|fit|none|closed", "bright|calibrate|none", "bright|eval|none|clean",
                            "bright|eval|inv|clean"]
    fit, calibrate, clean, attacked = executor.tasks
    assert fit.fn is runner_module.tasks_module.fit and fit.neural is False and fit.label == "bright fit"
    assert fit.args[0].name == "bright" and fit.args[0]() .get_params() == {"gain": 1.0}
    assert fit.kwargs == dict(seed=5, train_attack=None, attack_name="none", sources=None, start_from=None)
    assert calibrate.fn is runner_module.tasks_module.calibrate and calibrate.label == "bright calibrate"
    assert calibrate.args == (Ref("bright|fit|none|closed"), None)
    assert calibrate.kwargs == dict(known=[], held_out=[], batch_size=7, progress=False)
    assert clean.fn is runner_module.tasks_module.evaluate and clean.label == "bright score none"
    assert clean.args == (Ref("bright|calibrate|none"),)
    assert clean.kwargs == dict(seed=5, attack=None, attack_name="none", batch_size=7, progress=None)
    assert attacked.label == "bright score inv" and isinstance(attacked.kwargs["attack"], Invert)
    assert attacked.kwargs["attack_name"] == "inv" and attacked.args == (Ref("bright|calibrate|none"),)
    assert [(c.detector, c.attack, c.immunized) for c in result.cells] == [("bright", "none", False),
                                                                          ("bright", "inv", False)]
    assert executor.context.dataset_hash == hand_dataset().content_hash() and executor.context.threads == 1
    assert run(registry, store, ScriptedRemote()).cells[0].provenance["seed"] == 0
    default = ScriptedRemote()
    run(registry, store, default)
    assert default.task("bright|eval|none|clean").kwargs["batch_size"] == 256


def test_an_attributor_with_three_generated_sources_also_fits_the_open_world(store: ResultStore) -> None:
    registry = toy_registry({"attrib": Attrib})
    executor = ScriptedRemote()
    run(registry, store, executor, seed=0, dataset_spec="hand:spec", threads=3)
    assert executor.ids == ["attrib|fit|none|closed", "attrib|fit|none|open", "attrib|calibrate|none",
                            "attrib|eval|none|clean"]
    open_fit = executor.task("attrib|fit|none|open")
    known, held_out = open_fit.kwargs["sources"], executor.task("attrib|calibrate|none").kwargs["held_out"]
    # 3 generated sources: a quarter, at least one, is held out; real is always known
    assert len(held_out) == 1 and held_out[0] in ("gan_a", "gan_b", "gan_c")
    assert sorted(known + held_out) == sorted(SOURCES) and "real" in known
    assert open_fit.label == "attrib fit (open world)" and open_fit.kwargs["start_from"] is None
    calibrate = executor.task("attrib|calibrate|none")
    assert calibrate.args == (Ref("attrib|fit|none|closed"), Ref("attrib|fit|none|open"))
    assert calibrate.kwargs["known"] == known
    assert executor.context.dataset_spec == "hand:spec" and executor.context.threads == 3


def test_immunized_cells_refit_or_fine_tune_and_neural_detectors_are_planned_first(store: ResultStore) -> None:
    # "bright" sorts before "tunable", but tunable (fine_tune: a network's kind) is planned first
    registry = toy_registry({"bright": Bright, "tunable": Tunable, "tunattr": TunableAttrib}, {"inv": Invert})
    executor = ScriptedRemote()
    result = run(registry, store, executor, attacks="none,inv", immunize=True)
    assert executor.ids == [
        "tunable|fit|none|closed", "tunable|calibrate|none", "tunable|eval|none|clean",
        "tunable|eval|inv|clean", "tunable|fit|inv|closed", "tunable|calibrate|inv", "tunable|eval|inv|immunized",
        "tunattr|fit|none|closed", "tunattr|fit|none|open", "tunattr|calibrate|none", "tunattr|eval|none|clean",
        "tunattr|eval|inv|clean", "tunattr|fit|inv|closed", "tunattr|fit|inv|open", "tunattr|calibrate|inv",
        "tunattr|eval|inv|immunized",
        "bright|fit|none|closed", "bright|calibrate|none", "bright|eval|none|clean", "bright|eval|inv|clean",
        "bright|fit|inv|closed", "bright|calibrate|inv", "bright|eval|inv|immunized",
    ]
    # the fine-tuned fits start from the clean ones (closed from closed, open from open)
    assert executor.task("tunable|fit|inv|closed").kwargs["start_from"] == Ref("tunable|fit|none|closed")
    assert executor.task("tunattr|fit|inv|closed").kwargs["start_from"] == Ref("tunattr|fit|none|closed")
    assert executor.task("tunattr|fit|inv|open").kwargs["start_from"] == Ref("tunattr|fit|none|open")
    assert executor.task("bright|fit|inv|closed").kwargs["start_from"] is None
    assert all(t.neural == t.id.startswith("tun") for t in executor.tasks if "|fit|" in t.id)
    immunized_fit = executor.task("bright|fit|inv|closed")
    assert isinstance(immunized_fit.kwargs["train_attack"], Invert) and immunized_fit.kwargs["attack_name"] == "inv"
    assert immunized_fit.label == "bright fit inv"
    assert executor.task("tunattr|fit|inv|open").label == "tunattr fit inv (open world)"
    assert executor.task("bright|eval|inv|immunized").label == "bright score inv (immunized)"
    assert executor.task("bright|eval|inv|immunized").args == (Ref("bright|calibrate|inv"),)
    # table order: per detector (natural order), per attack, clean then immunized
    assert [(c.detector, c.attack, c.immunized) for c in result.cells] == [
        (d, a, i) for d in ("bright", "tunable", "tunattr") for a, i in (("none", False), ("inv", False), ("inv", True))]
    how = {c.detector: c.provenance.get("immunization") for c in result.cells if c.immunized}
    assert how == {"bright": "refit", "tunable": "fine-tuned", "tunattr": "fine-tuned"}
    assert all("immunization" not in c.provenance for c in result.cells if not c.immunized)


def test_provenance_names_everything_the_cell_depends_on(store: ResultStore) -> None:
    registry = toy_registry({"bright": lambda: Bright(gain=2.5)}, {"inv": lambda: Invert(amount=200)})
    dataset = hand_dataset()
    cells = run(registry, store, dataset=dataset, attacks="inv", seed=11).cells
    (cell,) = cells
    p = cell.provenance
    expected = {"detector": "bright", "plugin": "toys", "distribution": "toy-dist", "plugin_version": "1.2.3",
                "params": {"gain": 2.5}, "dataset": "hand", "dataset_hash": dataset.content_hash(), "attack": "inv",
                "attack_params": {"amount": 200, "sizes": [1, 2]}, "immunized": False, "seed": 11,
                "protocol_version": PROTOCOL_VERSION}
    assert PROTOCOL_VERSION == 2
    assert {k: p[k] for k in expected} == expected
    assert set(p) == set(expected) | {"time", "seconds", "ganprint_version", "skipped_images"}
    assert cell.key == cell_key(expected) and cell.dataset == "hand" and cell.run_id
    assert p["ganprint_version"] == ganprint.__version__ and p["skipped_images"] == []
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", p["time"])
    # params are stored with sorted keys, whatever order the detector declares them in
    unsorted = run(toy_registry({"unsorted": Unsorted}), store).cells[0]
    assert list(unsorted.provenance["params"]) == ["alpha", "zeta"]
    # another seed, other params or immunization make another key
    assert run(registry, store, attacks="inv", seed=12).cells[0].key != cell.key


# -- outcomes become cells ---------------------------------------------------------------------------

def test_each_cell_is_stored_with_its_metrics_rows_and_the_seconds_of_its_chain(store: ResultStore) -> None:
    registry = toy_registry({"attrib": Attrib, "bright": Bright})
    before = time.time()
    result = run(registry, store)
    after = time.time()
    attrib, bright = result.cells
    assert before <= attrib.finished <= bright.finished <= after
    # attrib: closed fit 1.5 + open fit 1.5 + calibration 0.25 + evaluation 0.125 = 3.375 s
    # bright: fit 1.5 + calibration 0.25 + evaluation 0.125 = 1.875 s
    assert attrib.provenance["seconds"] == 3.375 and bright.provenance["seconds"] == 1.875
    for cell in result.cells:
        assert cell.ok and cell.status == "ok" and cell.error is None and cell.traceback is None
        assert cell.metrics == METRICS and cell.run_id == result.run_id
        assert store.get(cell.key) == cell
        assert list(store.predictions(cell.key)) == ROWS
    assert re.fullmatch(r"[0-9a-f]{12}", result.run_id)
    assert attrib.provenance["seed"] == 0  # the default seed
    assert store.count_cells() == 2 and result.saved == []


def test_seconds_are_rounded_to_the_millisecond(store: ResultStore) -> None:
    # 1/3 + 1/3 + 1/3 + 1/7 = 1.142857... -> 1.143; the sum of floats, not of the rounded parts
    thirds = lambda task: Outcome(value=canned(task).value, seconds=1 / 3 if "eval" not in task.id else 1 / 7)  # noqa: E731
    cell = run(toy_registry({"attrib": Attrib}), store, Scripted(thirds)).cells[0]
    assert cell.provenance["seconds"] == 1.143


def test_a_failed_fit_makes_err_cells_of_every_attack_and_others_still_score(store: ResultStore) -> None:
    def fit_fails(task: Task) -> Outcome:
        if task.id == "bright|fit|none|closed":
            return Outcome(error="RuntimeError: no memory", traceback="Traceback ...\nRuntimeError: no memory\n",
                           seconds=9.0)
        return canned(task)

    registry = toy_registry({"attrib": Attrib, "bright": Bright}, {"inv": Invert})
    result = run(registry, store, Scripted(fit_fails), attacks="none,inv")
    assert [(c.detector, c.attack, c.ok) for c in result.cells] == [
        ("attrib", "none", True), ("attrib", "inv", True), ("bright", "none", False), ("bright", "inv", False)]
    for failed in result.cells[2:]:
        assert failed.status == "error" and failed.error == "fit failed: RuntimeError: no memory"
        assert failed.traceback == "Traceback ...\nRuntimeError: no memory\n"
        assert failed.metrics == {} and list(store.predictions(failed.key)) == []
        assert failed.provenance["seconds"] == 9.0  # the fit that failed; nothing after it ran
        assert store.get(failed.key) == failed


def test_a_failed_closed_world_fit_ends_the_cell_before_the_open_world_fit_ran(store: ResultStore) -> None:
    def closed_fails(task: Task) -> Outcome:
        if task.id == "attrib|fit|none|closed":
            return Outcome(error="RuntimeError: no memory", seconds=9.0)
        return canned(task)

    executor = Scripted(closed_fails)
    (cell,) = run(toy_registry({"attrib": Attrib}), store, executor).cells
    # the evaluation is skipped when the closed fit fails, before the open fit has run: 9.0 s only
    assert cell.error == "fit failed: RuntimeError: no memory" and cell.provenance["seconds"] == 9.0


def test_a_failed_evaluation_is_its_own_error_without_the_fit_prefix(store: ResultStore) -> None:
    def inv_fails(task: Task) -> Outcome:
        if task.id == "bright|eval|inv|clean":
            return Outcome(error="ValueError: no test images", traceback="tb", seconds=0.5)
        return canned(task)

    none, inv = run(toy_registry({"bright": Bright}, {"inv": Invert}), store, Scripted(inv_fails),
                    attacks="none,inv").cells
    assert none.ok and none.metrics == METRICS
    assert inv.error == "ValueError: no test images" and inv.traceback == "tb" and inv.metrics == {}
    assert inv.provenance["seconds"] == 2.25  # fit 1.5 + calibration 0.25 + the failed evaluation 0.5


def test_a_detector_that_cannot_be_built_is_err_cells_without_any_task(store: ResultStore) -> None:
    registry = toy_registry({"bright": Bright, "cannot": Cannot}, {"inv": Invert})
    executor = ScriptedRemote()
    result = run(registry, store, executor, attacks="none,inv", immunize=True)
    assert not any(t.id.startswith("cannot") for t in executor.tasks)
    cannot = [c for c in result.cells if c.detector == "cannot"]
    assert [(c.attack, c.immunized) for c in cannot] == [("none", False), ("inv", False), ("inv", True)]
    for cell in cannot:
        assert cell.error == "RuntimeError: cannot build" and cell.status == "error" and cell.traceback is None
        assert cell.provenance["params"] is None and cell.provenance["seconds"] == 0.0 and cell.metrics == {}
        assert "immunization" not in cell.provenance
        assert store.get(cell.key) == cell
    assert [c.detector for c in result.cells] == ["bright"] * 3 + ["cannot"] * 3


def test_a_detector_whose_second_construction_fails_is_a_fit_failure(store: ResultStore) -> None:
    built = []

    def once() -> Bright:  # the first call reads the params; the second, the probe, fails
        built.append(1)
        if len(built) > 1:
            raise RuntimeError("out of licences")
        return Bright()

    (cell,) = run(toy_registry({"flaky": once}), store).cells
    assert cell.error == "fit failed: RuntimeError: out of licences"
    assert cell.provenance["params"] == {"gain": 1.0}


def test_an_attack_that_cannot_be_made_is_err_cells_of_that_attack_only(store: ResultStore) -> None:
    registry = toy_registry({"bright": Bright, "tunable": Tunable}, {"broken": no_codec})
    executor = ScriptedRemote()
    result = run(registry, store, executor, attacks="none,broken", immunize=True)
    assert [(c.detector, c.attack, c.immunized, c.ok) for c in result.cells] == [
        ("bright", "none", False, True), ("bright", "broken", False, False), ("bright", "broken", True, False),
        ("tunable", "none", False, True), ("tunable", "broken", False, False), ("tunable", "broken", True, False)]
    assert {c.error for c in result.cells if not c.ok} == {"attack broken failed: RuntimeError: no codec"}
    assert not any("broken" in t.id for t in executor.tasks)
    assert [c.provenance.get("immunization") for c in result.cells if c.immunized] == ["refit", "fine-tuned"]


# -- resume ------------------------------------------------------------------------------------------

def test_resume_skips_exactly_the_finished_ok_cells(store: ResultStore) -> None:
    registry = toy_registry({"attrib": Attrib, "bright": Bright}, {"inv": Invert})
    first = run(registry, store, attacks="none,inv")
    keys = {(c.detector, c.attack): c.key for c in first.cells}
    # bright/inv is turned into an error cell; attrib/inv is removed from the store
    failed = store.get(keys[("bright", "inv")])
    failed.status, failed.error = "error", "RuntimeError: was killed"
    store.put(failed)
    store._conn.execute("DELETE FROM cells WHERE key = ?", (keys[("attrib", "inv")],))
    store._conn.commit()

    executor = ScriptedRemote()
    second = run(registry, store, executor, attacks="none,inv", resume=True)
    # to be computed: attrib/inv (missing) and bright/inv (an error); attrib/none and bright/none are skipped
    assert executor.ids == ["attrib|fit|none|closed", "attrib|fit|none|open", "attrib|calibrate|none",
                            "attrib|eval|inv|clean", "bright|fit|none|closed", "bright|calibrate|none",
                            "bright|eval|inv|clean"]
    assert [c.key for c in second.cells] == [c.key for c in first.cells]
    reused = {(c.detector, c.attack): c for c in second.cells if c.run_id == first.run_id}
    assert set(reused) == {("attrib", "none"), ("bright", "none")}
    assert all(c.ok for c in second.cells)
    assert {c.run_id for c in second.cells} == {first.run_id, second.run_id}

    executor = ScriptedRemote()
    third = run(registry, store, executor, attacks="none,inv", resume=True)
    assert executor.tasks == [] and [c.key for c in third.cells] == [c.key for c in first.cells]
    executor = ScriptedRemote()
    run(registry, store, executor, attacks="none,inv")  # without --resume everything is computed again
    assert len(executor.tasks) == 9


def test_resuming_only_an_immunized_cell_plans_the_clean_fit_it_fine_tunes(store: ResultStore) -> None:
    registry = toy_registry({"tunattr": TunableAttrib}, {"inv": Invert})
    first = run(registry, store, attacks="inv", immunize=True)
    immunized = first.cells[1]
    assert immunized.immunized
    immunized.status, immunized.error = "error", "RuntimeError: was killed"
    store.put(immunized)
    executor = ScriptedRemote()
    second = run(registry, store, executor, attacks="inv", immunize=True, resume=True)
    assert executor.ids == ["tunattr|fit|none|closed", "tunattr|fit|none|open", "tunattr|calibrate|none",
                            "tunattr|fit|inv|closed", "tunattr|fit|inv|open", "tunattr|calibrate|inv",
                            "tunattr|eval|inv|immunized"]
    assert all(t.neural for t in executor.tasks if "|fit|" in t.id)
    assert executor.task("tunattr|fit|none|closed").args[0].name == "tunattr"
    assert executor.task("tunattr|fit|inv|open").kwargs["start_from"] == Ref("tunattr|fit|none|open")
    assert [c.ok for c in second.cells] == [True, True]


def test_a_resumed_run_lists_the_images_its_reused_cells_skipped(store: ResultStore) -> None:
    registry = toy_registry({"bright": Bright})
    first = run(registry, store)
    cell = first.cells[0]
    cell.provenance["skipped_images"] = [["gan_a/x.png", "truncated"], ["real/y.png", "empty"]]
    store.put(cell)
    dataset = hand_dataset()
    dataset.skipped.append(SkippedImage("real/y.png", "empty"))
    second = run(registry, store, dataset=dataset, resume=True)
    assert [(s.id, s.reason) for s in second.dataset.skipped] == [("real/y.png", "empty"),
                                                                   ("gan_a/x.png", "truncated")]
    assert second.cells == [cell]


def test_a_cell_stored_before_skipped_images_were_recorded_is_resumed(store: ResultStore) -> None:
    registry = toy_registry({"bright": Bright})
    cell = run(registry, store).cells[0]
    del cell.provenance["skipped_images"]  # as ganprint wrote cells before it recorded them
    store.put(cell)
    resumed = run(registry, store, resume=True)
    assert resumed.cells == [cell] and resumed.dataset.skipped == []


def test_images_a_task_could_not_read_are_recorded_with_every_later_cell(store: ResultStore) -> None:
    def skips(task: Task) -> Outcome:
        outcome = canned(task)
        if task.id == "bright|eval|inv|clean":
            outcome.skipped = [("gan_b/test/000011", "cannot identify image file")]
        return outcome

    none, inv = run(toy_registry({"bright": Bright}, {"inv": Invert}), store, Scripted(skips),
                    attacks="none,inv").cells
    assert none.provenance["skipped_images"] == []
    assert inv.provenance["skipped_images"] == [["gan_b/test/000011", "cannot identify image file"]]


# -- saving fits ---------------------------------------------------------------------------------------

def test_save_fitted_plans_one_save_per_fit_and_reports_each_sorted_by_path(store: ResultStore,
                                                                           tmp_path: Path) -> None:
    def save_fails(task: Task) -> Outcome:
        if task.id == "tunable|save|none":
            return Outcome(error="OSError: disk full", seconds=0.1)
        if task.id == "bright|fit|inv|closed":
            return Outcome(error="RuntimeError: no memory")
        return canned(task)

    registry = toy_registry({"bright": Bright, "tunable": Tunable}, {"inv": Invert})
    executor = Scripted(save_fails)
    out = tmp_path / "fits"
    result = run(registry, store, executor, attacks="none,inv", immunize=True, save_fitted=out, seed=4)
    saves = [t for t in executor.tasks if "|save|" in t.id]
    assert [t.id for t in saves] == ["tunable|save|none", "tunable|save|inv", "bright|save|none", "bright|save|inv"]
    assert saves[0].fn is runner_module.tasks_module.save and saves[0].label == "tunable save"
    assert saves[0].args == (Ref("tunable|calibrate|none"),)
    assert saves[0].kwargs == dict(path=str(out / "tunable"), name="tunable", seed=4)
    assert saves[1].kwargs["path"] == str(out / "tunable.immunized-inv")
    assert executor.ids.index("bright|save|none") == executor.ids.index("bright|calibrate|none") + 1
    assert result.saved == [
        SavedFit("bright", str(out / "bright")),
        SavedFit("bright", str(out / "bright.immunized-inv"), "RuntimeError: no memory", unfitted=True),
        SavedFit("tunable", str(out / "tunable"), "OSError: disk full", unfitted=False),
        SavedFit("tunable", str(out / "tunable.immunized-inv")),
    ]
    assert [c.ok for c in result.cells] == [True, True, False, True, True, True]


def test_an_open_world_fit_is_saved_after_its_calibration(store: ResultStore, tmp_path: Path) -> None:
    executor = ScriptedRemote()
    run(toy_registry({"attrib": Attrib}), store, executor, save_fitted=tmp_path)
    assert executor.ids[:4] == ["attrib|fit|none|closed", "attrib|fit|none|open", "attrib|calibrate|none",
                                "attrib|save|none"]
    assert executor.task("attrib|save|none").args == (Ref("attrib|calibrate|none"),)


def test_without_save_fitted_nothing_is_saved(store: ResultStore) -> None:
    executor = ScriptedRemote()
    assert run(toy_registry({"bright": Bright}), store, executor).saved == []
    assert not any("|save|" in t.id for t in executor.tasks)


# -- progress ------------------------------------------------------------------------------------------

class Bar:
    """Stands in for tqdm: records what the runner tells its progress bar."""

    made: list["Bar"] = []

    def __init__(self, total: int, desc: str, unit: str, disable: bool | None) -> None:
        self.total, self.desc, self.unit, self.disable = total, desc, unit, disable
        self.count, self.postfix = 0, []
        Bar.made.append(self)

    def __enter__(self) -> "Bar":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def update(self, n: int) -> None:
        self.count += n

    def set_postfix_str(self, text: str) -> None:
        self.postfix.append(text)


@pytest.fixture
def bar(monkeypatch: pytest.MonkeyPatch) -> type[Bar]:
    Bar.made = []
    monkeypatch.setattr(runner_module, "tqdm", Bar)
    return Bar


def test_the_progress_bar_counts_every_cell_once(store: ResultStore, bar: type[Bar]) -> None:
    registry = toy_registry({"bright": Bright, "cannot": Cannot, "tunable": Tunable}, {"inv": Invert})
    first = run(registry, store, attacks="none,inv", progress=None)
    (made,) = bar.made
    assert (made.total, made.desc, made.unit, made.disable) == (6, "cells", "cell", None)
    assert made.count == 6
    # the label of the task that was running when each outcome came in (tunable's are planned first)
    assert made.postfix[:3] == ["tunable fit", "tunable calibrate", "tunable score none"]
    # resumed: the four ok cells count at once, the two ERR cells (of cannot) are done again
    run(registry, store, attacks="none,inv", resume=True, progress=False)
    assert bar.made[1].total == 6 and bar.made[1].count == 6 and bar.made[1].disable is True
    assert sum(c.ok for c in first.cells) == 4


def test_the_progress_postfix_is_cut_to_80_characters(store: ResultStore, bar: type[Bar]) -> None:
    long_name = "d" * 70
    run(toy_registry({long_name: Bright}), store)
    # 70 + len(" fit") = 74 characters stay whole; 70 + len(" score none") = 81 lose the last "e"
    assert bar.made[0].postfix[0] == long_name + " fit"
    assert bar.made[0].postfix[2] == long_name + " score non"


def test_the_progress_postfix_lists_every_running_task(store: ResultStore, bar: type[Bar]) -> None:
    run(toy_registry({"bright": Bright}), store, Scripted(also_running=["other fit"]))
    assert bar.made[0].postfix[0] == "bright fit, other fit"


def test_tasks_show_their_own_progress_only_in_this_process(store: ResultStore, bar: type[Bar]) -> None:
    registry = toy_registry({"bright": Bright})
    local = Scripted()
    run(registry, store, local, progress=None)
    assert local.task("bright|calibrate|none").kwargs["progress"] is True
    assert local.task("bright|eval|none|clean").kwargs["progress"] == "bright/none"
    for executor, progress in ((Scripted(), False), (ScriptedRemote(), None), (ScriptedRemote(), True)):
        run(registry, store, executor, progress=progress)
        assert executor.task("bright|calibrate|none").kwargs["progress"] is False
        assert executor.task("bright|eval|none|clean").kwargs["progress"] is None
    assert [b.disable for b in bar.made] == [None, True, None, None]


# -- for real ------------------------------------------------------------------------------------------

class Counting(LocalExecutor):
    def __init__(self) -> None:
        super().__init__()
        self.ran: list[str] = []

    def run(self, tasks: Sequence[Task], context: RunContext) -> Iterator[tuple[Task, Outcome]]:
        for task, outcome in super().run(tasks, context):
            self.ran.append(task.id)
            yield task, outcome


def test_a_real_run_in_this_process_stores_one_row_per_test_image_and_resumes_to_nothing(
        store: ResultStore) -> None:
    registry = toy_registry({"attrib": Attrib, "bright": Bright}, {"inv": Invert})
    executor = Counting()
    result = run(registry, store, executor, attacks="none,inv")
    assert executor.ran == ["attrib|fit|none|closed", "attrib|fit|none|open", "attrib|calibrate|none",
                            "attrib|eval|none|clean", "attrib|eval|inv|clean", "bright|fit|none|closed",
                            "bright|calibrate|none", "bright|eval|none|clean", "bright|eval|inv|clean"]
    assert all(c.ok for c in result.cells), [c.error for c in result.cells]
    for cell in result.cells:
        assert [r["ids"] for r in store.predictions(cell.key)] == TEST_IDS
    attrib_none, attrib_inv, bright_none, bright_inv = result.cells
    # bright scores mean brightness / 255: test images at 40, 100, 160, 220 (real first), and
    # 255 minus those under inv; real lowest gives AUC 1, real highest AUC 0
    assert [r["scores"] for r in store.predictions(bright_none.key)] == pytest.approx([40 / 255, 100 / 255,
                                                                                      160 / 255, 220 / 255])
    assert [r["scores"] for r in store.predictions(bright_inv.key)] == pytest.approx([215 / 255, 155 / 255,
                                                                                     95 / 255, 35 / 255])
    assert bright_none.metrics["detection"]["auc"] == 1.0 and bright_inv.metrics["detection"]["auc"] == 0.0
    assert "closed_world" not in bright_none.metrics
    # attrib says gan_a (its first class) for every image: 1 of the 4 test images is right
    for cell in (attrib_none, attrib_inv):
        assert [r["predicted"] for r in store.predictions(cell.key)] == ["gan_a"] * 4
        assert cell.metrics["closed_world"]["acc"] == 0.25
    # resumed with the default executor (this process): nothing is left to run
    resumed = run_benchmark(registry, hand_dataset(), store=store, attacks="none,inv", resume=True, progress=False)
    assert resumed.cells == result.cells
    assert json.loads(json.dumps(resumed.cells[0].metrics)) == result.cells[0].metrics
    assert NO_ATTACK == "none" and isinstance(result.cells[0], CellResult)
