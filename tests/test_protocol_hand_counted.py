"""core/protocol.py on datasets small enough to list image by image (issue #37).

Every image below is 2x2 pixels of one value v, so its id, label and split can be listed, and the fake
methods answer from tables keyed by v: the figures evaluate() publishes and the thresholds calibrate()
chooses are counted by hand in the comments, not taken from a run of the code.
"""
from __future__ import annotations

import hashlib
import math
from typing import ClassVar

import numpy as np
import pytest

from ganprint import REAL, Attack, protocol
from ganprint.dataset import ArrayDataset
from ganprint.interfaces import Attributor, Detector, FingerprintDecoder
from ganprint.lazy_images import LazyImages


def sha32(text: str) -> int:
    """The first four bytes of SHA-256, big-endian (what the protocol seeds with)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def dataset(rows: list[tuple], name: str = "hand") -> ArrayDataset:
    """rows of (value, source, split[, bits]): one 2x2 image of that value each."""
    images = np.stack([np.full((2, 2, 3), row[0], np.uint8) for row in rows])
    bits = [row[3] if len(row) > 3 else None for row in rows]
    return ArrayDataset(name, images, [r[1] for r in rows], [r[2] for r in rows],
                        bits=bits if any(b is not None for b in bits) else None)


def values(X) -> list[int]:
    return [int(v) for v in np.asarray(X)[:, 0, 0, 0]]


class Scorer(Detector):
    """A detector whose score is the pixel value / 100."""

    def __init__(self) -> None:
        pass

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def score(self, X):
        return np.asarray(X)[:, 0, 0, 0] / 100.0


class Table(Attributor):
    """``answers``: pixel value -> (label, confidence). predict_proba puts the confidence on that
    label and shares the rest equally among the other classes; classes_ are the fitted labels, real
    first. fit records the labels and values it saw and a draw of NumPy's global generator."""

    def __init__(self, answers: dict | None = None) -> None:
        self.answers = answers

    def fit(self, X, y):
        self.classes_ = np.array(sorted(set(np.asarray(y).tolist()), key=lambda s: (s != REAL, s)))
        self.seen_labels_ = [str(s) for s in y]
        self.seen_values_ = values(X)
        self.in_memory_ = isinstance(X, np.ndarray)
        self.draw_ = np.random.random()
        return self

    def predict_proba(self, X):
        classes = list(self.classes_)
        proba = np.empty((len(X), len(classes)))
        for row, v in enumerate(values(X)):
            label, confidence = self.answers[v]
            proba[row] = (1 - confidence) / (len(classes) - 1)
            proba[row, classes.index(label)] = confidence
        return proba


class Decoder(FingerprintDecoder):
    """Decodes the bits listed for each pixel value."""

    def __init__(self, table: dict | None = None) -> None:
        self.table = table

    def decode(self, X):
        return np.array([self.table[v] for v in values(X)], np.uint8)


class Recorder(Attack):
    """Leaves images as they are; records the batch sizes and a draw of the generator it is given."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, float]] = []

    def __call__(self, X, rng):
        self.calls.append((len(X), float(rng.random())))
        return X.copy()


# ---------------------------------------------------------------- seeds and held-out sources

def test_stable_int_is_the_first_four_bytes_of_sha256() -> None:
    # FIPS 180-2 test vectors: SHA-256("") = e3b0c442..., SHA-256("abc") = ba7816bf...
    assert protocol.stable_int("") == 0xE3B0C442
    assert protocol.stable_int("abc") == 0xBA7816BF


def test_attack_rng_is_seeded_from_seed_attack_and_purpose() -> None:
    expected = np.random.default_rng([7, sha32("jpeg"), sha32("test")]).random(3)
    assert protocol.attack_rng(7, "jpeg").random(3).tolist() == expected.tolist()   # purpose "test"
    expected = np.random.default_rng([7, sha32("jpeg"), sha32("train/x")]).random(3)
    assert protocol.attack_rng(7, "jpeg", "train/x").random(3).tolist() == expected.tolist()


@pytest.mark.parametrize("n_generated, n_held", [(0, 0), (1, 0), (2, 1), (3, 1), (7, 1), (8, 2), (11, 2), (12, 3)])
def test_held_out_sources_are_a_quarter_at_least_one(n_generated: int, n_held: int) -> None:
    generated = [f"g{i:02d}" for i in range(n_generated)]
    held = protocol.held_out_sources(["real", *generated], 3)
    assert len(held) == n_held and held == sorted(held) and set(held) <= set(generated)


def test_held_out_sources_are_drawn_with_the_documented_seed() -> None:
    # the draw is part of every published open-world figure: sorted generated sources, then
    # default_rng([seed, sha32("open-world")]).choice(k, replace=False)
    sources = ["real", "e", "b", "h", "a", "g", "c", "f", "d"]
    for seed in (0, 1, 5):
        rng = np.random.default_rng([seed, sha32("open-world")])
        expected = sorted(rng.choice(sorted(sources[1:]), size=2, replace=False).tolist())
        assert protocol.held_out_sources(sources, seed) == expected


# ---------------------------------------------------------------- fitting

TRAIN = [(101, "real", "train"), (102, "a", "train"), (103, "b", "train"), (104, "a", "train"),
         (11, "real", "val"), (1, "real", "test")]


def test_fit_method_fits_on_the_train_split_after_seeding() -> None:
    method = protocol.fit_method(Table, dataset(TRAIN), seed=4)
    assert method.in_memory_   # a method that does not ask to stream gets an array
    assert method.seen_values_ == [101, 102, 103, 104]
    assert method.seen_labels_ == ["real", "a", "b", "a"]
    np.random.seed(4)
    assert method.draw_ == np.random.random()   # seed_everything(4) came right before fit
    only = protocol.fit_method(Table, dataset(TRAIN), seed=4, sources=["a"])
    assert only.seen_values_ == [102, 104] and only.classes_.tolist() == ["a"]


def test_fit_method_returns_a_method_without_fit_as_made() -> None:
    made = []
    decoder = protocol.fit_method(lambda: made.append(Decoder({})) or made[-1], dataset(TRAIN), seed=0)
    assert made == [decoder]


class NotSelf(Table):
    def fit(self, X, y):
        return Table().fit(X, y)

    def fine_tune(self, X, y):
        return Table().fit(X, y)


def test_fit_method_refuses_a_fit_that_does_not_return_self() -> None:
    with pytest.raises(TypeError, match=r"^NotSelf\.fit must return self$"):
        protocol.fit_method(NotSelf, dataset(TRAIN), seed=0)
    start = Table().fit(np.zeros((1, 2, 2, 3), np.uint8), np.array(["a"]))
    start.__class__ = NotSelf
    with pytest.raises(TypeError, match=r"^NotSelf\.fine_tune must return self$"):
        protocol.fit_method(NotSelf, dataset(TRAIN), seed=0, start_from=start)


class Tunable(Table):
    def fine_tune(self, X, y):
        self.tuned_on_ = values(X)
        self.seen_values_ += values(X)   # in place: start_from must not share it
        return self


def test_fit_method_fine_tunes_a_copy_of_start_from() -> None:
    start = protocol.fit_method(Tunable, dataset(TRAIN), seed=0)
    tuned = protocol.fit_method(Tunable, dataset(TRAIN), seed=0, start_from=start, sources=["b"])
    assert tuned is not start and tuned.tuned_on_ == [103] and not hasattr(start, "tuned_on_")
    assert tuned.seen_values_ == [101, 102, 103, 104, 103]   # fit was not called again
    assert start.seen_values_ == [101, 102, 103, 104]          # a deep copy was tuned


class AddTen(Attack):
    def __call__(self, X, rng):
        return X + np.uint8(10) + rng.integers(0, 2, dtype=np.uint8)


def test_fit_method_attacks_each_training_image_with_its_own_generator() -> None:
    method = protocol.fit_method(Table, dataset(TRAIN), seed=2, train_attack=AddTen(), attack_name="plus")
    ids = [f"real/train/{0:06d}", f"a/train/{1:06d}", f"b/train/{2:06d}", f"a/train/{3:06d}"]
    extra = [int(protocol.attack_rng(2, "plus", f"train/{i}").integers(0, 2, dtype=np.uint8)) for i in ids]
    assert method.seen_values_ == [v + 10 + e for v, e in zip([101, 102, 103, 104], extra)]
    streamed = protocol.fit_method(Streaming, dataset(TRAIN), seed=2, train_attack=AddTen(), attack_name="plus")
    assert streamed.seen_values_ == method.seen_values_   # the same attack when read on demand
    # without a name the attack is called "none"
    unnamed = protocol.fit_method(Table, dataset(TRAIN), seed=2, train_attack=AddTen())
    extra = [int(protocol.attack_rng(2, "none", f"train/{i}").integers(0, 2, dtype=np.uint8)) for i in ids]
    assert unnamed.seen_values_ == [v + 10 + e for v, e in zip([101, 102, 103, 104], extra)]
    def sure() -> Table:
        return Table({11: ("real", 0.9), 1: ("real", 0.9)})

    prepared = protocol.prepare(sure, dataset(TRAIN), seed=2, train_attack=AddTen())
    assert prepared.method.seen_values_ == unnamed.seen_values_
    prepared = protocol.prepare(sure, dataset(TRAIN), seed=2, train_attack=AddTen(), attack_name="plus")
    assert prepared.method.seen_values_ == method.seen_values_


class Streaming(Table):
    streams_images = True

    def fit(self, X, y):
        self.got_ = X
        self.label_dtype_ = np.asarray(y).dtype
        return super().fit(X[np.arange(len(X))], y)


def test_training_images_streams_when_the_method_asks() -> None:
    method = protocol.fit_method(Streaming, dataset(TRAIN), seed=0, sources=["real", "b"])
    assert isinstance(method.got_, LazyImages) and method.label_dtype_.kind == "U"
    assert method.seen_values_ == [101, 103] and method.seen_labels_ == ["real", "b"]
    with pytest.raises(ValueError, match=r"^dataset 'hand' has no readable train images of sources \['zzz'\]$"):
        protocol.fit_method(Streaming, dataset(TRAIN), seed=0, sources=["zzz"])
    without_train = dataset([(11, "real", "val"), (12, "a", "test")])
    with pytest.raises(ValueError, match=r"^dataset 'hand' has no readable train images$"):
        protocol.fit_method(Streaming, without_train, seed=0)


def test_streamed_labels_are_text_whatever_the_records_hold() -> None:
    """Both paths give the method str labels (Batch.labels is a str array too)."""
    import dataclasses

    class NumberedSources(ArrayDataset):
        def records(self):
            return [dataclasses.replace(r, source=int(r.source[1:])) for r in super().records()]

    data = dataset([(101, "s1", "train"), (102, "s2", "train")])
    data.__class__ = NumberedSources
    method = protocol.fit_method(Streaming, data, seed=0)
    assert method.label_dtype_.kind == "U" and method.seen_labels_ == ["1", "2"]


def test_can_fine_tune_needs_a_callable() -> None:
    assert protocol.can_fine_tune(Tunable()) and not protocol.can_fine_tune(Table())
    odd = Table()
    odd.fine_tune = 3
    assert not protocol.can_fine_tune(odd)


# ---------------------------------------------------------------- outputs of one batch

def test_attributor_outputs_from_probabilities() -> None:
    method = Table().fit(np.zeros((3, 2, 2, 3), np.uint8), np.array(["real", "a", "b"]))
    proba = np.array([[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])   # columns real a b
    predicted, scores, confidence = protocol.attributor_outputs(method, np.zeros((3, 2, 2, 3), np.uint8), proba)
    assert predicted.tolist() == ["real", "a", "b"]
    assert scores == pytest.approx([0.5, 0.9, 0.8])        # 1 - P(real)
    assert confidence == pytest.approx([0.5, 0.6, 0.6])    # largest probability
    assert scores.dtype == np.float64 and confidence.dtype == np.float64
    no_real = Table().fit(np.zeros((2, 2, 2, 3), np.uint8), np.array(["a", "b"]))
    _, scores, _ = protocol.attributor_outputs(no_real, None, np.array([[0.7, 0.3], [0.4, 0.6]]))
    assert scores == pytest.approx([0.7, 0.6])            # no real class: largest probability


class Overriding(Table):
    def predict(self, X):
        return np.array(["b"] * len(X))

    def score(self, X):
        return np.full(len(X), 0.25, np.float32)

    def confidence(self, X):
        return np.full(len(X), 0.75, np.float32)


def test_attributor_outputs_use_what_a_method_overrides() -> None:
    method = Overriding({1: ("real", 0.9)}).fit(np.zeros((2, 2, 2, 3), np.uint8), np.array(["real", "a"]))
    X = np.full((1, 2, 2, 3), 1, np.uint8)
    predicted, scores, confidence = protocol.attributor_outputs(method, X)
    assert predicted.tolist() == ["b"] and scores.tolist() == [0.25] and confidence.tolist() == [0.75]
    assert scores.dtype == np.float64 and confidence.dtype == np.float64


def test_outputs_rows_hold_the_filled_columns_only() -> None:
    out = protocol.Outputs(ids=["x", "y"], labels=["real", "a"], scores=[0.1, 0.2], n_bits=4)
    assert list(out.rows()) == [{"ids": "x", "labels": "real", "scores": 0.1},
                                {"ids": "y", "labels": "a", "scores": 0.2}]


def test_has_real_and_generated() -> None:
    assert protocol.has_real_and_generated(dataset([(1, "real", "test"), (2, "a", "test")]))
    assert not protocol.has_real_and_generated(dataset([(1, "real", "test"), (2, "real", "val")]))
    assert not protocol.has_real_and_generated(dataset([(1, "a", "test"), (2, "b", "test")]))


# ---------------------------------------------------------------- detection, listed image by image

DETECTION = [
    # val: real scores 0.1 0.3, generated 0.2 0.6 0.7. TPR - FPR: at 0.7: 1/3; 0.6: 2/3;
    # 0.3: 2/3 - 1/2; 0.2: 1 - 1/2; 0.1: 0 -> threshold 0.6
    (10, "real", "val"), (30, "real", "val"), (20, "a", "val"), (60, "a", "val"), (70, "a", "val"),
    # test: real 0.4 0.6 0.05, generated 0.6 0.9 0.5
    (40, "real", "test"), (60, "real", "test"), (5, "real", "test"),
    (60, "a", "test"), (90, "a", "test"), (50, "a", "test"),
    (99, "real", "train"), (98, "a", "train"),
]


def test_detection_threshold_and_figures_hand_counted() -> None:
    data = dataset(DETECTION)
    fitted = protocol.prepare(Scorer, data, seed=0)
    assert fitted.detection_threshold == pytest.approx(0.6) and fitted.open_method is None
    assert fitted.rejection_threshold is None and fitted.own_rejection_threshold is None
    results, out = protocol.evaluate(fitted, data, seed=0)
    assert set(results) == {"detection"}
    detection = results["detection"]
    # at 0.6 (a tie is generated): real 0.6 wrong, 0.4 0.05 right; generated 0.6 0.9 right, 0.5 wrong
    assert detection["acc"] == pytest.approx(4 / 6)
    # AUC: generated above real, ties 1/2: 0.6: 1 + 1/2 + 1; 0.9: 3; 0.5: 2 -> 7.5 of 9
    assert detection["auc"] == pytest.approx(7.5 / 9)
    # AP: 0.9 (P 1, R 1/3); 0.6 (2 of 3, R 2/3); 0.5 (3 of 4, R 1)
    assert detection["ap"] == pytest.approx((1 + 2 / 3 + 3 / 4) / 3)
    # 3 real: 1% FPR allows none, so only 0.9 (above the real 0.6): 1 of 3
    assert detection["tpr@1%fpr"] == pytest.approx(1 / 3)
    assert detection["threshold"] == fitted.detection_threshold
    assert out.labels == ["real"] * 3 + ["a"] * 3 and out.scores == pytest.approx([0.4, 0.6, 0.05, 0.6, 0.9, 0.5])
    assert out.predicted == [] and out.open_predicted == []


def test_no_detection_threshold_without_both_classes_in_val() -> None:
    only_generated_val = [r for r in DETECTION if not (r[1] == "real" and r[2] == "val")]
    fitted = protocol.prepare(Scorer, dataset(only_generated_val), seed=0)
    assert fitted.detection_threshold is None
    only_real_val = [r for r in DETECTION if not (r[1] == "a" and r[2] == "val")]
    assert protocol.prepare(Scorer, dataset(only_real_val), seed=0).detection_threshold is None
    without_real = [(v, "b" if s == "real" else s, split) for v, s, split in DETECTION]
    assert protocol.prepare(Scorer, dataset(without_real), seed=0).detection_threshold is None


# ---------------------------------------------------------------- attribution, listed image by image

ATTRIBUTION = [
    (101, "real", "train"), (102, "a", "train"), (103, "b", "train"),
    (11, "real", "val"), (12, "real", "val"), (13, "a", "val"), (14, "a", "val"), (15, "b", "val"), (16, "b", "val"),
    (1, "real", "test"), (2, "real", "test"), (3, "a", "test"), (4, "a", "test"), (5, "b", "test"), (6, "b", "test"),
]
# the method knowing real a b (the others get (1 - confidence) / 2 each):
CLOSED = {11: ("real", 0.9), 12: ("real", 0.5), 13: ("a", 0.8), 14: ("real", 0.6), 15: ("b", 0.7), 16: ("a", 0.4),
          1: ("real", 0.9), 2: ("a", 0.6), 3: ("a", 0.7), 4: ("b", 0.5), 5: ("b", 0.8), 6: ("b", 0.4)}
# the open-world method knowing real a (the other gets 1 - confidence); b is held out:
OPEN = {11: ("real", 0.95), 12: ("a", 0.55), 13: ("a", 0.75), 14: ("a", 0.65), 15: ("a", 0.9), 16: ("real", 0.6),
        1: ("real", 0.9), 2: ("a", 0.56), 3: ("a", 0.8), 4: ("real", 0.7), 5: ("a", 0.6), 6: ("real", 0.52)}


def calibrated() -> tuple[ArrayDataset, protocol.FittedMethod]:
    data = dataset(ATTRIBUTION)
    method = protocol.fit_method(lambda: Table(CLOSED), data, seed=0)
    open_method = protocol.fit_method(lambda: Table(OPEN), data, seed=0, sources=["real", "a"])
    return data, protocol.calibrate(method, open_method, data, known=["real", "a"], held_out=["b"], batch_size=4)


def test_calibrate_hand_counted() -> None:
    _, fitted = calibrated()
    assert (fitted.known, fitted.held_out) == (["real", "a"], ["b"])
    # detection: val scores 1 - P(real): real 0.1 0.5; a 0.9 0.4; b 0.85 0.7. TPR - FPR at 0.9: 1/4,
    # 0.85: 2/4, 0.7: 3/4 (best), 0.5: 3/4 - 1/2, 0.4: 1 - 1/2, 0.1: 0
    assert fitted.detection_threshold == pytest.approx(0.7)
    # own rejection: all six val images are of classes the method knows; confidences
    # 0.4 0.5 0.6 0.7 0.8 0.9 sorted; position 0.05 x 5 = 0.25 -> 0.4 + 0.25 x 0.1
    assert fitted.own_rejection_threshold == pytest.approx(0.425)
    # open world: known val images (real, a) have open confidences 0.95 0.55 0.75 0.65 (the b images
    # 0.9 and 0.6 do not count): sorted 0.55 0.65 0.75 0.95, position 0.15 -> 0.55 + 0.15 x 0.1
    assert fitted.rejection_threshold == pytest.approx(0.565)


def test_calibrate_on_some_sources_only() -> None:
    data = dataset(ATTRIBUTION)
    method = protocol.fit_method(lambda: Table(CLOSED), data, seed=0)
    fitted = protocol.calibrate(method, None, data, known=[], held_out=[], sources=["real", "a"])
    # val real 0.1 0.5, a 0.9 0.4: TPR - FPR at 0.9: 1/2 (best, first); 0.5: 0; 0.4: 1/2; 0.1: 0
    assert fitted.detection_threshold == pytest.approx(0.9)
    # confidences 0.9 0.5 0.8 0.6: sorted, position 0.15 -> 0.5 + 0.15 x 0.1
    assert fitted.own_rejection_threshold == pytest.approx(0.515)
    assert fitted.rejection_threshold is None


def test_own_rejection_counts_only_val_images_of_the_method_classes() -> None:
    data = dataset(ATTRIBUTION)
    method = protocol.fit_method(lambda: Table(OPEN), data, seed=0, sources=["real", "a"])
    fitted = protocol.calibrate(method, None, data, known=[], held_out=[])
    # as the open threshold above: the b images (0.9, 0.6) are left out
    assert fitted.own_rejection_threshold == pytest.approx(0.565)


def test_evaluate_hand_counted() -> None:
    data, fitted = calibrated()
    results, out = protocol.evaluate(fitted, data, seed=0, batch_size=4)
    assert set(results) == {"detection", "closed_world", "open_world"}
    # test scores 1 - P(real): real 0.1 0.8; a 0.85 0.75; b 0.9 0.7. At 0.7 (b's 0.7 ties: generated)
    # only real 0.8 is wrong: 5 of 6
    assert results["detection"]["acc"] == pytest.approx(5 / 6)
    assert results["detection"]["auc"] == pytest.approx(6 / 8)    # each real below 4, 2 generated
    assert results["detection"]["tpr@1%fpr"] == pytest.approx(2 / 4)   # above real 0.8: 0.85 0.9
    assert results["detection"]["ap"] == pytest.approx((1 + 1 + 3 / 4 + 4 / 5) / 4)
    # closed world: predictions real a | a b | b b
    closed = results["closed_world"]
    assert closed["acc"] == pytest.approx(4 / 6)
    assert closed["confusion"] == {"labels": ["real", "a", "b"], "matrix": [[1, 1, 0], [0, 1, 1], [0, 0, 2]]}
    assert closed["per_class_acc"] == {"real": 0.5, "a": 0.5, "b": 1.0}
    # open world at 0.565: real (0.9) right; a at 0.56 -> unknown, wrong; a (0.8) right; real for an
    # a (0.7) wrong; a for a b (0.6) wrong; real for a b at 0.52 -> unknown, right: 3 of 6
    opened = results["open_world"]
    assert opened["acc"] == pytest.approx(3 / 6)
    # known 0.9 0.56 0.8 0.7 vs held out 0.6 0.52: 2 + 1 + 2 + 2 of 8 pairs
    assert opened["auroc"] == pytest.approx(7 / 8)
    assert opened["rejection_threshold"] == fitted.rejection_threshold and opened["held_out"] == ["b"]
    assert out.ids == [f"{s}/test/{i:06d}" for s, i in
                       [("real", 9), ("real", 10), ("a", 11), ("a", 12), ("b", 13), ("b", 14)]]
    assert out.predicted == ["real", "a", "a", "b", "b", "b"]
    assert out.open_predicted == ["real", "a", "a", "real", "a", "real"]
    assert out.open_confidence == pytest.approx([0.9, 0.56, 0.8, 0.7, 0.6, 0.52])
    assert out.confidence == pytest.approx([0.9, 0.6, 0.7, 0.5, 0.8, 0.4])


def test_open_world_without_known_val_images_is_left_out() -> None:
    """Val holds only images of the held-out b: no rejection threshold can be calibrated. The old
    code stopped with numpy's IndexError (the quantile of no confidence)."""
    rows = [r for r in ATTRIBUTION if r[2] != "val" or r[1] == "b"]
    data = dataset(rows)
    method = protocol.fit_method(lambda: Table(CLOSED), data, seed=0)
    open_method = protocol.fit_method(lambda: Table(OPEN), data, seed=0, sources=["real", "a"])
    fitted = protocol.calibrate(method, open_method, data, known=["real", "a"], held_out=["b"])
    assert fitted.rejection_threshold is None and fitted.detection_threshold is None
    assert fitted.own_rejection_threshold == pytest.approx(0.4 + 0.05 * 0.3)   # b's 0.4 and 0.7
    results, _ = protocol.evaluate(fitted, data, seed=0)
    assert set(results) == {"closed_world"}


def test_closed_world_classes_are_the_method_classes_then_the_dataset_sources() -> None:
    data = dataset(ATTRIBUTION)
    # fitted on a and b only: its classes a b, then the dataset's real
    answers = {1: ("a", 0.9), 2: ("a", 0.6), 3: ("a", 0.7), 4: ("b", 0.8), 5: ("b", 0.8), 6: ("b", 0.9)}
    method = protocol.fit_method(lambda: Table(answers), data, seed=0, sources=["a", "b"])
    results, _ = protocol.evaluate(protocol.FittedMethod(method), data, seed=0)
    assert results["closed_world"]["confusion"]["labels"] == ["a", "b", "real"]
    # rows a b real: a: a b; b: b b; real: a a
    assert results["closed_world"]["confusion"]["matrix"] == [[1, 1, 0], [0, 2, 0], [2, 0, 0]]
    assert "detection" not in results and "open_world" not in results


def test_evaluate_attacks_test_images_with_the_attack_generator() -> None:
    data = dataset(DETECTION)
    fitted = protocol.prepare(Scorer, data, seed=0)
    attack = Recorder()
    protocol.evaluate(fitted, data, seed=5, attack=attack, attack_name="rec", batch_size=4)
    rng = protocol.attack_rng(5, "rec")
    expected = [(4, float(rng.random())), (2, float(rng.random()))]   # one generator across batches
    assert attack.calls == expected


def test_evaluate_refuses_what_it_cannot_score() -> None:
    no_test = dataset([(1, "real", "val"), (2, "a", "val")], name="empty")
    with pytest.raises(ValueError, match=r"^dataset 'empty' has no readable test images$"):
        protocol.evaluate(protocol.FittedMethod(Scorer()), no_test, seed=0)
    data = dataset(DETECTION, name="d")
    with pytest.raises(ValueError, match=r"^no protocol applies to Decoder on dataset 'd' \(detection needs"):
        protocol.evaluate(protocol.FittedMethod(Decoder({})), data, seed=0)


# ---------------------------------------------------------------- fingerprint bits

FINGERPRINTS = [
    (1, "real", "test"), (3, "a", "test", (1, 0, 1, 1)), (4, "a", "test", (1, 0, 1, 1)),
    (5, "b", "test", (0, 0, 0, 0)), (7, "real", "val"), (8, "a", "val", (1, 0, 1, 1)),
]
DECODED = {1: (1, 1, 1, 1), 3: (1, 0, 1, 0), 4: (1, 0, 1, 1), 5: (1, 1, 0, 0), 7: (0, 0, 0, 0), 8: (1, 1, 1, 1)}


def test_bitwise_accuracy_pools_the_images_that_record_bits() -> None:
    data = dataset(FINGERPRINTS)
    fitted = protocol.prepare(lambda: Decoder(DECODED), data, seed=0)
    # val holds real and generated images, but a decoder has no score: no detection threshold
    assert fitted.detection_threshold is None
    results, out = protocol.evaluate(fitted, data, seed=0, batch_size=2)
    # real: no bits, not scored; a: 3 of 4, 4 of 4; b: 2 of 4 -> 9 of 12
    assert results == {"fingerprint": {"bitwise_acc": 9 / 12}}
    assert (out.n_bits_correct, out.n_bits) == (9, 12)
    assert math.isnan(out.bits_correct[0]) and out.bits_correct[1:] == [0.75, 1.0, 0.5]


def test_no_bits_scored_when_the_dataset_records_none() -> None:
    data = dataset([(v, s, split) for v, s, split, *_ in FINGERPRINTS], name="nobits")
    out = protocol.collect(protocol.FittedMethod(Decoder(DECODED)), data, "test")
    assert out.bits_correct == [] and out.n_bits == 0


# ---------------------------------------------------------------- prepare

def test_open_world_split() -> None:
    data = dataset(ATTRIBUTION)
    assert protocol.open_world_split(Scorer(), data, 0) == ([], [])   # not an Attributor
    two = dataset([(1, "real", "train"), (2, "a", "train")])
    assert protocol.open_world_split(Table(), two, 0) == ([], [])     # one generated source
    known, held = protocol.open_world_split(Table(), data, 0)
    assert len(held) == 1 and known == [s for s in ["real", "a", "b"] if s not in held]


def test_prepare_fits_the_open_method_without_the_held_out_sources() -> None:
    data = dataset(ATTRIBUTION)
    fitted = protocol.prepare(lambda: Table({**CLOSED, **{k: ("real", 0.9) for k in CLOSED}}), data, seed=0)
    held = protocol.held_out_sources(["real", "a", "b"], 0)
    assert fitted.held_out == held and fitted.known == [s for s in ["real", "a", "b"] if s not in held]
    assert fitted.method.seen_values_ == [101, 102, 103]
    assert set(fitted.open_method.seen_labels_) == set(fitted.known)


def test_prepare_fine_tunes_copies_when_the_method_can() -> None:
    data = dataset(ATTRIBUTION)
    answers = {k: ("real", 0.9) for k in CLOSED}
    first = protocol.prepare(lambda: Tunable(answers), data, seed=0)
    again = protocol.prepare(lambda: Tunable(answers), data, seed=0, fine_tune_from=first)
    assert again.method is not first.method and again.method.tuned_on_ == [101, 102, 103]
    assert again.open_method.tuned_on_ == [v for v, s, split in ATTRIBUTION if split == "train" and s in first.known]
    plain = protocol.prepare(lambda: Table(answers), data, seed=0)
    plain.method.marked_ = plain.open_method.marked_ = True
    refit = protocol.prepare(lambda: Table(answers), data, seed=0, fine_tune_from=plain)   # cannot fine-tune
    assert not hasattr(refit.method, "marked_") and not hasattr(refit.open_method, "marked_")
    assert refit.method.seen_values_ == [101, 102, 103]


def test_a_batch_scores_bits_unless_told_otherwise() -> None:
    data = dataset(FINGERPRINTS)
    batch = next(data.batches("test", 10))
    decoder = Decoder(DECODED)
    out = protocol.Outputs()
    protocol._collect_batch(protocol.FittedMethod(decoder), decoder, batch, batch.images, out)
    assert (out.n_bits_correct, out.n_bits) == (9, 12)
    out = protocol.Outputs()
    protocol._collect_batch(protocol.FittedMethod(decoder), decoder, batch, batch.images, out, decodes_bits=False)
    assert (out.n_bits, out.bits_correct) == (0, [])


class Verdict(Detector):
    """A detector answering with booleans (value above 50)."""

    def __init__(self) -> None:
        pass

    def fit(self, X, y):
        return self

    def score(self, X):
        return np.asarray(X)[:, 0, 0, 0] > 50


def test_scores_are_stored_as_floats() -> None:
    out = protocol.collect(protocol.FittedMethod(Verdict()), dataset(DETECTION), "test")
    # test values 40 60 5 60 90 50
    assert out.scores == [0.0, 1.0, 0.0, 1.0, 1.0, 0.0] and {type(s) for s in out.scores} == {float}


# ---------------------------------------------------------------- batches and progress bars

class CountingReads(ArrayDataset):
    def read(self, records):
        self.reads.append((records[0].split, len(records)))
        return super().read(records)


def many(n_val: int = 300, n_test: int = 300) -> CountingReads:
    rows = [(10, "real", "train"), (20, "a", "train")]
    rows += [(i % 200, "real" if i % 2 else "a", "val") for i in range(n_val)]
    rows += [(i % 200, "real" if i % 3 else "a", "test") for i in range(n_test)]
    data = dataset(rows)
    data.__class__ = CountingReads
    data.reads = []
    return data


def test_default_batches_are_256_images() -> None:
    data = many()
    fitted = protocol.prepare(Scorer, data, seed=0)
    assert [n for split, n in data.reads if split == "val"] == [256, 44]
    data.reads.clear()
    protocol.calibrate(Scorer(), None, data, known=[], held_out=[])
    assert [n for split, n in data.reads if split == "val"] == [256, 44]
    data.reads.clear()
    protocol.collect(fitted, data, "test")
    assert [n for split, n in data.reads] == [256, 44]
    attack = Recorder()
    protocol.evaluate(fitted, data, seed=1, attack=attack)
    rng = protocol.attack_rng(1, "none")   # an attack without a name is called "none"
    assert attack.calls == [(256, float(rng.random())), (44, float(rng.random()))]


def test_batch_size_reaches_calibration() -> None:
    data = many(n_val=10, n_test=3)
    protocol.prepare(Scorer, data, seed=0, batch_size=4)
    assert [n for split, n in data.reads if split == "val"] == [4, 4, 2]
    data.reads.clear()
    protocol.calibrate(Scorer(), None, data, known=[], held_out=[], batch_size=3)
    assert [n for split, n in data.reads if split == "val"] == [3, 3, 3, 1]


class Bar:
    """Stands in for tqdm: records how it was made and updated."""

    made: ClassVar[list[Bar]] = []

    def __init__(self, **kwargs) -> None:
        self.kwargs, self.updates = kwargs, []
        Bar.made.append(self)

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc) -> bool:
        return False

    def update(self, n: int) -> None:
        self.updates.append(n)


def bar(total: int, desc: str | None) -> dict:
    return {"total": total, "desc": desc, "unit": "img", "disable": None if desc else True, "leave": False}


def test_progress_bars(monkeypatch) -> None:
    monkeypatch.setattr(protocol, "tqdm", Bar)
    Bar.made = []
    data = dataset(DETECTION)   # 5 val, 6 test images
    fitted = protocol.prepare(Scorer, data, seed=0, batch_size=4)
    protocol.evaluate(fitted, data, seed=0, batch_size=4)
    protocol.calibrate(Scorer(), None, data, known=[], held_out=[], batch_size=4)
    assert [(b.kwargs, b.updates) for b in Bar.made] == [
        (bar(5, None), [4, 1]), (bar(6, None), [4, 2]), (bar(5, None), [4, 1])]
    Bar.made = []
    fitted = protocol.prepare(Scorer, data, seed=0, batch_size=4, progress=True)
    protocol.evaluate(fitted, data, seed=0, batch_size=4, progress="scoring")
    protocol.calibrate(Scorer(), None, data, known=[], held_out=[], progress=True, sources=["a"])
    assert [(b.kwargs, b.updates) for b in Bar.made] == [
        (bar(5, "calibrating"), [4, 1]), (bar(6, "scoring"), [4, 2]), (bar(3, "calibrating"), [3])]
