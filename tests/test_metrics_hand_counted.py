"""core/metrics.py on cases small enough to count by hand (issue #37).

Every expected figure below is counted in a comment from the scores and labels written next to it,
not taken from a run of the code. Threshold semantics pinned here: a score (confidence) at or above
the threshold is generated (accepted); "TPR at x% FPR" allows a false-positive rate equal to x%.
"""
from __future__ import annotations

import numpy as np
import pytest

from ganprint import metrics

# The 20-sample ROC. Scores 1.00, 0.95, ..., 0.05 (step 0.05), highest first; F generated, R real:
#   rank  1    2    3    4    5    6    7    8    9    10   11   12   13   14   15   16   17   18   19   20
#   score 1.00 0.95 0.90 0.85 0.80 0.75 0.70 0.65 0.60 0.55 0.50 0.45 0.40 0.35 0.30 0.25 0.20 0.15 0.10 0.05
#   who   F    F    F    R    F    F    R    F    R    F    F    R    R    F    R    R    F    R    R    R
# 10 F (ranks 1 2 3 5 6 8 10 11 14 17) and 10 R. Threshold at rank k = generated are ranks 1..k.
#   TP-FP (J x 10) after rank k: 1 2 3 2 3 4 3 4 3 4 5 4 3 4 3 2 3 2 1 0
TWENTY_WHO = "FFFRFFRFRFFRRFRRFRRR"
TWENTY_SCORES = np.round(np.arange(20, 0, -1) * 0.05, 2)
TWENTY_FAKE = np.array([c == "F" for c in TWENTY_WHO])
TWENTY_LABELS = ["gan" if fake else "real" for fake in TWENTY_FAKE]


@pytest.mark.parametrize("fpr, tpr", [
    (0.0, 0.3),    # no real allowed: threshold 0.90, F at ranks 1 2 3
    (0.05, 0.3),   # 0.5 real of 10 is not possible: still none
    (0.1, 0.5),    # exactly one R (rank 4) allowed: threshold 0.75, F ranks 1 2 3 5 6
    (0.2, 0.6),    # two R (ranks 4 7): threshold 0.65, adds F rank 8
    (0.25, 0.6),   # still two
    (0.3, 0.8),    # three R (4 7 9): threshold 0.50, adds F ranks 10 11
    (0.5, 0.9),    # five R (.. 12 13): threshold 0.35, adds F rank 14
    (1.0, 1.0),
])
def test_tpr_at_fpr_on_the_twenty_sample_roc(fpr: float, tpr: float) -> None:
    assert metrics.tpr_at_fpr(TWENTY_FAKE, TWENTY_SCORES, fpr) == pytest.approx(tpr)


def test_tpr_at_fpr_defaults_to_one_percent() -> None:
    # 1% of 10 real images is 0.1 image: no false positive allowed, TPR 3/10 (ranks 1 2 3)
    assert metrics.tpr_at_fpr(TWENTY_FAKE, TWENTY_SCORES) == pytest.approx(0.3)


def test_tpr_at_one_percent_allows_exactly_two_of_two_hundred_real() -> None:
    # 200 real: three high (0.90 0.80 0.70), 197 low (0.000 .. 0.196). 10 generated:
    # 0.95 0.85 0.75 0.65 0.60 0.55 0.50 0.45 0.40 0.35. FPR <= 1% = at most 2 real above the threshold:
    # threshold 0.75 (real 0.90 0.80 above: FPR exactly 2/200) -> generated 0.95 0.85 0.75 = 3/10.
    real = np.concatenate([[0.90, 0.80, 0.70], np.arange(197) / 1000])
    fake = np.array([0.95, 0.85, 0.75, 0.65, 0.60, 0.55, 0.50, 0.45, 0.40, 0.35])
    is_fake = np.r_[np.zeros(200, bool), np.ones(10, bool)]
    scores = np.r_[real, fake]
    assert metrics.tpr_at_fpr(is_fake, scores, 0.01) == pytest.approx(0.3)
    labels = ["real"] * 200 + ["gan"] * 10
    assert metrics.detection_metrics(labels, scores, 0.5)["tpr@1%fpr"] == pytest.approx(0.3)


def test_tpr_at_fpr_reads_points_inside_a_straight_run_of_tied_scores() -> None:
    """Each of 0.8, 0.7, 0.6 holds one real and one generated image, so the ROC points of these three
    thresholds lie on one straight line, which scikit-learn's default ``drop_intermediate`` thins
    out. At FPR <= 25% (one of four real) the threshold 0.8 is allowed: generated 0.9 and 0.8, TPR 2/4.
    (The old code, reading the thinned curve, said 1/4.)"""
    is_fake = np.array([0, 0, 0, 0, 1, 1, 1, 1], bool)
    scores = np.array([0.8, 0.7, 0.6, 0.1, 0.9, 0.8, 0.7, 0.6])
    assert metrics.tpr_at_fpr(is_fake, scores, 0.25) == pytest.approx(0.5)
    assert metrics.tpr_at_fpr(is_fake, scores, 0.5) == pytest.approx(0.75)   # threshold 0.7
    assert metrics.tpr_at_fpr(is_fake, scores, 0.2) == pytest.approx(0.25)   # threshold 0.9


def test_detection_threshold_on_the_twenty_sample_roc() -> None:
    # J x 10 peaks (5) only after rank 11, score 0.50: TPR 8/10, FPR 3/10
    assert metrics.detection_threshold(TWENTY_FAKE, TWENTY_SCORES) == pytest.approx(0.50)


def test_detection_threshold_separable_is_the_lowest_generated_score() -> None:
    # real 0.1 0.2 0.3, generated 0.6 0.7: TPR - FPR is 1 from 0.6 (both generated, no real) only
    is_fake = np.array([0, 0, 0, 1, 1], bool)
    assert metrics.detection_threshold(is_fake, np.array([0.1, 0.2, 0.3, 0.6, 0.7])) == 0.6


def test_detection_threshold_tie_takes_the_highest() -> None:
    # real 0.1 0.5, generated 0.6 0.3. TPR - FPR: at 0.6: 1/2 - 0 = 0.5; at 0.5: 1/2 - 1/2 = 0;
    # at 0.3: 1 - 1/2 = 0.5; at 0.1: 0. Tie between 0.6 and 0.3: the highest, 0.6.
    is_fake = np.array([0, 0, 1, 1], bool)
    assert metrics.detection_threshold(is_fake, np.array([0.1, 0.5, 0.6, 0.3])) == 0.6


def test_detection_threshold_of_a_worse_than_chance_detector_calls_nothing_generated() -> None:
    """real 0.9 0.8, generated 0.2 0.1: TPR - FPR is 0 above every score and at 0.1 (everything
    generated), negative between. The highest best threshold calls nothing generated, balanced
    accuracy 1/2. The old code returned the top score 0.9: the real image at 0.9 called generated,
    balanced accuracy (0 + 1/2) / 2 = 1/4."""
    is_fake = np.array([0, 0, 1, 1], bool)
    scores = np.array([0.9, 0.8, 0.2, 0.1])
    threshold = metrics.detection_threshold(is_fake, scores)
    assert np.isfinite(threshold) and threshold == np.nextafter(0.9, 1.0)
    assert not metrics.is_generated(scores, threshold).any()
    # the same with float32 scores: the smallest float64 above the largest float32 score
    scores32 = scores.astype(np.float32)
    assert metrics.detection_threshold(is_fake, scores32) == np.nextafter(float(scores32[0]), np.inf)


def test_is_generated_at_or_above() -> None:
    assert metrics.is_generated([0.4, 0.5, 0.6], 0.5).tolist() == [False, True, True]


def test_is_generated_compares_float32_scores_in_float64() -> None:
    score = np.float32(0.1)
    just_above = float(np.nextafter(float(score), 1.0))   # between float32(0.1) and the next float32
    assert metrics.is_generated(np.array([score]), just_above).tolist() == [False]
    assert metrics.is_generated(np.array([score]), float(score)).tolist() == [True]


def test_open_world_decisions_keep_predictions_at_or_above() -> None:
    decided = metrics.open_world_decisions(["a", "b", "c"], np.array([0.4, 0.5, 0.6]), 0.5)
    assert decided.tolist() == ["unknown", "b", "c"]
    # integer classes are kept as integers (not turned into "0")
    assert metrics.open_world_decisions(np.array([0, 1]), [0.9, 0.1], 0.5).tolist() == [0, "unknown"]


def test_open_world_decisions_compare_float32_confidence_in_float64() -> None:
    confidence = np.array([0.1, 0.9], np.float32)
    just_above = float(np.nextafter(float(confidence[0]), 1.0))
    assert metrics.open_world_decisions(["a", "b"], confidence, just_above).tolist() == ["unknown", "b"]


def test_detection_metrics_on_the_twenty_sample_roc() -> None:
    out = metrics.detection_metrics(TWENTY_LABELS, TWENTY_SCORES, 0.50)
    # at 0.50: generated ranks 1..11 hold 8 F and 3 R; below: 2 F, 7 R. Right: 8 + 7 = 15 of 20
    assert out["acc"] == pytest.approx(15 / 20)
    assert out["tpr@1%fpr"] == pytest.approx(0.3)
    # AUC: for each F, the R ranked below it: ranks 1 2 3 -> 10 each; 5 6 -> 9; 8 -> 8; 10 11 -> 7;
    # 14 -> 5; 17 -> 3. Sum 30 + 18 + 8 + 14 + 5 + 3 = 78 of 100 pairs
    assert out["auc"] == pytest.approx(0.78)
    # AP: precision at each F: 1/1 2/2 3/3 4/5 5/6 6/8 7/10 8/11 9/14 10/17, mean of the ten
    precisions = [1, 1, 1, 4 / 5, 5 / 6, 6 / 8, 7 / 10, 8 / 11, 9 / 14, 10 / 17]
    assert out["ap"] == pytest.approx(sum(precisions) / 10)


def test_detection_metrics_threshold_tie_is_generated() -> None:
    # real 0.2 0.5, generated 0.5 0.8; threshold 0.5: real 0.5 wrong (generated), others right: 3/4
    out = metrics.detection_metrics(["real", "real", "gan", "gan"], [0.2, 0.5, 0.5, 0.8], 0.5)
    assert out["acc"] == pytest.approx(0.75)


def test_detection_metrics_read_text_scores_as_numbers() -> None:
    # real "9" "2", generated "10" "11": as numbers separable (AUC 1); as text "10" < "11" < "2" < "9"
    out = metrics.detection_metrics(["real", "real", "gan", "gan"], np.array(["9", "2", "10", "11"]), 10)
    assert out["auc"] == 1.0 and out["acc"] == 1.0


def test_detection_metrics_refuse_one_class_with_the_full_message() -> None:
    for labels in (["gan", "gan"], ["real", "real"]):
        with pytest.raises(ValueError, match=r"^detection needs both real and generated test images$"):
            metrics.detection_metrics(labels, np.array([0.1, 0.2]), 0.5)


def test_attribution_three_classes_with_an_empty_class() -> None:
    classes = ["real", "a", "b", "c"]
    labels = ["real", "real", "real", "a", "a", "b", "b", "b", "b"]
    predicted = ["real", "a", "real", "a", "b", "b", "b", "real", "a"]
    # rows = truth, columns = prediction (real a b c):
    #   real: real real a        -> 2 1 0 0
    #   a:    a b                -> 0 1 1 0
    #   b:    b b real a         -> 1 1 2 0
    #   c:    (no image)         -> 0 0 0 0
    out = metrics.attribution_metrics(labels, predicted, classes)
    assert out["confusion"] == {"labels": classes, "matrix": [[2, 1, 0, 0], [0, 1, 1, 0], [1, 1, 2, 0], [0, 0, 0, 0]]}
    assert out["per_class_acc"] == {"real": pytest.approx(2 / 3), "a": 0.5, "b": 0.5}   # no "c"
    assert out["acc"] == pytest.approx(5 / 9)   # 2 + 1 + 2 on the diagonal


@pytest.mark.parametrize("labels, predicted", [(["a", "x"], ["a", "a"]), (["a", "a"], ["a", "x"])])
def test_attribution_refuses_labels_outside_the_classes(labels, predicted) -> None:
    """The old code dropped such an image from the confusion matrix: with truth a a and predictions
    a x it said per-class accuracy 1.0 for a (1 of 1 counted) beside accuracy 0.5."""
    with pytest.raises(ValueError, match=r"^labels or predictions \['x'\] are not among the classes \['a', 'b'\]$"):
        metrics.attribution_metrics(labels, predicted, ["a", "b"])


def test_rejection_threshold_on_twenty_one_values() -> None:
    confidence = np.arange(21) / 20   # 0.00 0.05 ... 1.00
    # position 0.05 * 20 = 1 exactly: the second lowest, 0.05; only 0.00 is below it
    assert metrics.rejection_threshold(confidence) == pytest.approx(0.05)
    assert metrics.rejection_threshold(confidence, 0.95) == pytest.approx(0.05)
    # accept half: position 10, the median 0.50
    assert metrics.rejection_threshold(confidence, 0.5) == pytest.approx(0.5)
    # 30 values 1..30: position 0.05 * 29 = 1.45, between 2 and 3 -> 2.45; 1 and 2 rejected (28 of 30 kept)
    assert metrics.rejection_threshold(np.arange(1, 31), 0.95) == pytest.approx(2.45)


def test_rejection_threshold_ties_are_accepted() -> None:
    # five at 0.2, fifteen at 0.9: position 0.05 * 19 = 0.95 falls between two 0.2s -> 0.2; all 20 kept
    confidence = np.array([0.2] * 5 + [0.9] * 15)
    threshold = metrics.rejection_threshold(confidence)
    assert threshold == pytest.approx(0.2)
    known = ["a"] * 20
    assert metrics.open_world_decisions(known, confidence, threshold).tolist() == known


def test_rejection_threshold_interpolates_in_float64() -> None:
    confidence = np.array([0.1, 0.7], np.float32)
    low, high = float(confidence[0]), float(confidence[1])
    # position 0.05 * 1: low + 0.05 (high - low), in float64 (float32 would differ at the 9th digit)
    assert metrics.rejection_threshold(confidence) == pytest.approx(low + 0.05 * (high - low), rel=1e-15)


def test_open_world_hand_counted() -> None:
    known = ["real", "a"]
    labels = ["real", "real", "a", "a", "a", "held", "held", "held"]
    predicted = ["real", "a", "a", "a", "real", "a", "real", "a"]
    confidence = np.array([0.9, 0.8, 0.5, 0.4, 0.7, 0.6, 0.3, 0.95])
    # threshold 0.5 (the third image, at 0.5, is accepted): decisions real a a unknown real a unknown a
    # truth real real a a a unknown unknown unknown -> right: 1 (real), 3 (a), 7 (unknown) = 3 of 8
    # AUROC known vs held by confidence: known 0.9 0.8 0.5 0.4 0.7; held 0.6 0.3 0.95.
    # held below each known: 0.9: 2; 0.8: 2; 0.5: 1; 0.4: 1; 0.7: 2 -> 8 of 5 x 3 = 15 pairs
    for given in (confidence, confidence.astype(str)):   # text (as read from a CSV) reads as numbers
        out = metrics.open_world_metrics(labels, predicted, given, known, 0.5)
        assert out["acc"] == pytest.approx(3 / 8)
        assert out["auroc"] == pytest.approx(8 / 15)


def test_open_world_without_held_out_images_has_no_auroc() -> None:
    # all known: accuracy only; right: real (0.9 accepted), a (0.6 accepted); wrong: a at 0.2 -> 2/3
    out = metrics.open_world_metrics(["real", "a", "a"], ["real", "a", "a"], [0.9, 0.6, 0.2], ["real", "a"], 0.5)
    assert out == {"acc": pytest.approx(2 / 3)}
    # none known: right only where rejected (0.2) -> 1/3
    out = metrics.open_world_metrics(["x", "y", "y"], ["real", "a", "a"], [0.9, 0.6, 0.2], ["real", "a"], 0.5)
    assert out == {"acc": pytest.approx(1 / 3)}


def test_open_world_compares_float32_confidence_in_float64() -> None:
    confidence = np.array([0.1, 0.9], np.float32)
    just_above = float(np.nextafter(float(confidence[0]), 1.0))
    # known a at float32(0.1) is below the threshold: rejected, wrong; held at 0.9 predicted a: wrong
    out = metrics.open_world_metrics(["a", "held"], ["a", "a"], confidence, ["a"], just_above)
    assert out["acc"] == 0.0
