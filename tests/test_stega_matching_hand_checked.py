"""Bit matching of the stega plugin on codes whose distances can be counted by hand (issue #37).

Yu et al. 2021, §4.4–4.5: a decoded fingerprint is matched to the nearest registered one; the
fraction of agreeing bits is the detection score, and open-world attribution rejects below 0.75.
Every expected figure below is worked out in a comment from the codes written in the test, never
taken from a run of the code. No trained model is loaded: the attributor's decoder is replaced by
a stand-in that returns the given arrays as logits, so ``decode`` (logit > 0 → 1) still runs.

The rules pinned here:

- ``random_match_probability(n, m)`` is P(at least ⌈m·n⌉ of n fair bits agree): ``>=``, and
  ``m·n`` a whole number up to float rounding (0.28·25 is 7, not 8);
- ``FingerprintDatabase.match``: the publisher with the most agreeing bits; a tie goes to the
  publisher registered first; an empty batch gives empty answers;
- ``allocate``: a candidate exactly ``min_distance`` bits away is accepted (``>=``);
- ``StegaAttributor.decode``: a logit of exactly 0 reads as bit 0;
- ``fit``: per-bit frequencies (count + 1) / (n + 2), clipped to [0.01, 0.99]; the fingerprint
  bit is 1 when that frequency is strictly above one half (a 50/50 bit reads 0);
- ``predict`` ties go to the first class (``real`` first, then alphabetical); ``score`` is the
  best match over generated sources only; ``confidence`` is the match with the *predicted* source;
- ``unmarked_logit``: the |logit| best separating real from generated bits by balanced accuracy,
  the smallest of ties, 0 when none beats chance; a ``real`` prediction's confidence counts a bit
  weaker than it as matching.
"""
from __future__ import annotations

import json
import types
from math import comb
from pathlib import Path

import numpy as np
import pytest
import torch

from ganprint import REAL, NotFittedError
from ganprint.plugins.stega import database
from ganprint.plugins.stega.attributor import MIN_PROBABILITY, StegaAttributor, unmarked_logit
from ganprint.plugins.stega.database import OPEN_WORLD_MATCH, FingerprintDatabase, random_match_probability


def bits(text: str) -> np.ndarray:
    return np.array([int(c) for c in text], dtype=np.uint8)


# Three 8-bit fingerprints, pairwise 4 bits apart (counted position by position):
#   A = 1111 0000, B = 1100 1100: differ at 2, 3, 4, 5                 -> 4
#   A = 1111 0000, C = 1010 1010: differ at 1, 3, 4, 6                 -> 4
#   B = 1100 1100, C = 1010 1010: differ at 1, 2, 5, 6                 -> 4
A, B, C = "11110000", "11001100", "10101010"


def three() -> FingerprintDatabase:
    return FingerprintDatabase({"a": bits(A), "b": bits(B), "c": bits(C)})


# random_match_probability -----------------------------------------------------------------------

def test_random_match_probability_for_eight_bits_by_hand() -> None:
    # C(8, k) = 1, 8, 28, 56, 70, 56, 28, 8, 1 for k = 0..8; 2^8 = 256
    assert random_match_probability(8, 0.75) == 37 / 256  # need 6: 28 + 8 + 1
    assert random_match_probability(8, OPEN_WORLD_MATCH) == 37 / 256  # the paper's 0.75 (§4.5)
    assert random_match_probability(8, 0.7) == 37 / 256  # 5.6 bits rounds up to 6
    assert random_match_probability(8, 0.625) == 93 / 256  # exactly 5: 56 + 37 (>=, not >)
    assert random_match_probability(8, 1.0) == 1 / 256
    assert random_match_probability(8, 0.0) == 1.0
    assert random_match_probability(8, 0.5) == 163 / 256  # 70 + 93


def test_random_match_probability_does_not_round_a_whole_number_of_bits_up() -> None:
    """0.28 · 25 is 7.000000000000001 in floating point: the threshold is still 7 bits, not 8."""
    assert 0.28 * 25 > 7
    # C(25, k) for k = 0..6: 1, 25, 300, 2300, 12650, 53130, 177100 (sum 245506); 2^25 = 33554432
    assert random_match_probability(25, 0.28) == (33554432 - 245506) / 33554432
    # C(25, 7) = 480700: at 0.29 (7.25 bits) 8 are needed
    assert random_match_probability(25, 0.29) == (33554432 - 245506 - 480700) / 33554432


def test_random_match_probability_is_the_binomial_tail_for_every_threshold() -> None:
    for k in range(0, 17):
        assert random_match_probability(16, k / 16) == sum(comb(16, j) for j in range(k, 17)) / 65536


# FingerprintDatabase.match -------------------------------------------------------------------------

def test_match_finds_the_nearest_of_three_with_its_fraction() -> None:
    # bits that differ (positions 0-7), counted against A 11110000, B 11001100, C 10101010:
    #   11110001 (A, bit 7 flipped): A 7           -> 1;  B 2 3 4 5 7 -> 5;  C 1 3 4 6 7 -> 5
    #   01001100 (B, bit 0 flipped): A 0 2 3 4 5   -> 5;  B 0         -> 1;  C 0 1 2 5 6 -> 5
    #   10101010 (C itself):         A 1 3 4 6     -> 4;  B 1 2 5 6   -> 4;  C none      -> 0
    #   00110000:                    A 0 1         -> 2;  B 0-5       -> 6;  C 0 3 4 6   -> 4
    decoded = np.stack([bits("11110001"), bits("01001100"), bits("10101010"), bits("00110000")])
    names, agree = three().match(decoded)
    assert names.tolist() == ["a", "b", "c", "a"]
    assert agree.tolist() == [7 / 8, 7 / 8, 1.0, 6 / 8]
    # the names are objects, not fixed-width strings: a longer label written in keeps all its letters
    names[agree < 1.0] = "unknown"
    assert names.tolist() == ["unknown", "unknown", "c", "unknown"]


def test_a_tie_goes_to_the_publisher_registered_first() -> None:
    """11111100 is 2 bits from A (bits 4, 5) and 2 from B (bits 2, 3), 4 from C (bits 1, 3, 5, 6):
    A and B tie at 6/8. 00000000 is 4 bits from each: a three-way tie at 4/8."""
    decoded = np.stack([bits("11111100"), bits("00000000")])
    names, agree = three().match(decoded)
    assert names.tolist() == ["a", "a"] and agree.tolist() == [0.75, 0.5]
    reordered = FingerprintDatabase({"c": bits(C), "b": bits(B), "a": bits(A)})
    names, agree = reordered.match(decoded)
    assert names.tolist() == ["b", "c"] and agree.tolist() == [0.75, 0.5]


def test_an_exact_tie_at_the_open_world_threshold_is_known() -> None:
    """The fraction of the tie above is exactly 0.75: at the threshold, not below it."""
    _, agree = three().match(bits("11111100")[None])
    assert agree[0] == OPEN_WORLD_MATCH and not agree[0] < OPEN_WORLD_MATCH


def test_match_of_an_empty_batch_is_empty() -> None:
    names, agree = three().match(np.zeros((0, 8), np.uint8))
    assert names.shape == (0,) and agree.shape == (0,)


def test_match_refuses_codes_of_another_length_and_an_empty_database() -> None:
    """A one-bit code broadcast against 8-bit fingerprints used to be compared with every bit: 1
    against A = 11110000 gave a fraction 4/8 for each publisher, a number with no meaning."""
    for shape in ((2, 1), (2, 7), (8,), (1, 2, 8)):
        with pytest.raises(ValueError) as raised:
            three().match(np.ones(shape, np.uint8))
        assert str(raised.value) == f"decoded bits must be of shape (N, 8); got {shape}"
    with pytest.raises(ValueError) as raised:
        FingerprintDatabase().match(np.ones((1, 8), np.uint8))
    assert str(raised.value) == "the fingerprint database is empty: no publisher to match against"


def test_names_and_matrix_keep_the_registration_order() -> None:
    db = FingerprintDatabase({"c": bits(C), "a": bits(A)})
    assert db.names == ["c", "a"]
    assert db.matrix.tolist() == [bits(C).tolist(), bits(A).tolist()] and db.matrix.shape == (2, 8)


def test_the_database_file_is_one_bit_string_per_publisher(tmp_path: Path) -> None:
    three().save(tmp_path / "db.json")
    text = (tmp_path / "db.json").read_text()
    assert json.loads(text) == {"a": A, "b": B, "c": C}
    assert text == '{\n "a": "11110000",\n "b": "11001100",\n "c": "10101010"\n}'
    (tmp_path / "hand.json").write_text('{"q": "0110", "p": "1001"}')
    loaded = FingerprintDatabase.load(tmp_path / "hand.json")
    assert loaded.names == ["q", "p"] and loaded.matrix.tolist() == [[0, 1, 1, 0], [1, 0, 0, 1]]
    assert loaded.matrix.dtype == np.uint8


# FingerprintDatabase.allocate ------------------------------------------------------------------------

class Scripted:
    """A stand-in generator drawing the given codes in order (records how many were drawn)."""

    def __init__(self, codes: list[str]) -> None:
        self.codes, self.drawn = list(codes), 0

    def integers(self, low: int, high: int, size: int, dtype) -> np.ndarray:
        self.drawn += 1
        code = self.codes.pop(0) if len(self.codes) > 1 else self.codes[0]
        assert (low, high, len(code)) == (0, 2, size)
        return bits(code).astype(dtype)


def scripted(monkeypatch, codes: list[str]) -> Scripted:
    rng = Scripted(codes)
    monkeypatch.setattr(database.np.random, "default_rng", lambda seed: rng)
    return rng


def test_allocate_accepts_a_candidate_exactly_min_distance_away(monkeypatch) -> None:
    # a takes the first draw; 00000011 is 2 from a (< 3): redrawn; 00000111 is 3 from a: b.
    # 00000000 is 0 from a: redrawn; 11100000 is 3 from a and 6 from b: c.
    rng = scripted(monkeypatch, ["00000000", "00000011", "00000111", "00000000", "11100000"])
    db = FingerprintDatabase.allocate(["a", "b", "c"], 8, seed=0, min_distance=3)
    assert {n: "".join(map(str, v)) for n, v in db.fingerprints.items()} == {
        "a": "00000000", "b": "00000111", "c": "11100000"}
    assert rng.drawn == 5


def test_the_default_min_distance_is_a_quarter_of_the_bits_rounded_down(monkeypatch) -> None:
    # 10 bits: 10 // 4 = 2, so a candidate 2 bits away is accepted
    scripted(monkeypatch, ["0000000000", "1100000000"])
    assert FingerprintDatabase.allocate(["a", "b"], 10, seed=0).names == ["a", "b"]
    # 12 bits: 12 // 4 = 3, so a candidate 2 bits away is redrawn and one 3 bits away accepted
    rng = scripted(monkeypatch, ["000000000000", "110000000000", "111000000000"])
    db = FingerprintDatabase.allocate(["a", "b"], 12, seed=0)
    assert "".join(map(str, db.fingerprints["b"])) == "111000000000" and rng.drawn == 3


def test_allocate_gives_up_after_ten_thousand_draws_for_one_publisher(monkeypatch) -> None:
    # every draw is 00: b never gets min_distance 1 from a -> 1 draw for a, 10 000 for b
    rng = scripted(monkeypatch, ["00"])
    with pytest.raises(ValueError) as raised:
        FingerprintDatabase.allocate(["a", "b"], 2, seed=0, min_distance=1)
    assert str(raised.value) == "cannot place 2 fingerprints 1 bits apart in 2 bits"
    assert rng.drawn == 1 + 10_000


def test_allocated_codes_are_fair_bits_and_seeded() -> None:
    db = FingerprintDatabase.allocate(["a", "b", "c", "d"], 64, seed=3)
    m = db.matrix
    assert m.dtype == np.uint8 and set(np.unique(m).tolist()) == {0, 1}
    assert 0.3 < m.mean() < 0.7  # 256 fair bits: mean 0.5, sd 0.03
    assert min(np.sum(m[i] != m[j]) for i in range(4) for j in range(i + 1, 4)) >= 16
    assert FingerprintDatabase.allocate(["a", "b", "c", "d"], 64, seed=3).matrix.tolist() == m.tolist()
    assert FingerprintDatabase.allocate(["a", "b", "c", "d"], 64, seed=4).matrix.tolist() != m.tolist()


# StegaAttributor: the matching and likelihood on given logits ---------------------------------------

class GivenLogits(StegaAttributor):
    """The attributor with its decoder replaced: the "images" are the bit logits themselves."""

    def decode_logits(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)


def as_logits(*codes: str) -> np.ndarray:
    """Bit 1 -> logit +1, bit 0 -> logit -1."""
    return np.stack([bits(c) for c in codes]).astype(np.float64) * 2 - 1


def test_decode_reads_a_logit_of_exactly_zero_as_bit_zero() -> None:
    decoded = GivenLogits().decode(np.array([[-2.0, 0.0, 1e-9, 3.0], [0.0, -0.0, -1e-9, 5.0]]))
    assert decoded.tolist() == [[0, 0, 1, 1], [0, 0, 0, 1]] and decoded.dtype == np.uint8


def test_fit_counts_bits_with_add_one_smoothing_and_a_half_reads_zero() -> None:
    # class a: two images 1100 and 1000 -> counts 2, 1, 0, 0 -> (c + 1) / (2 + 2) = 3/4, 2/4, 1/4, 1/4
    # fingerprint: 1 where strictly above 1/2 -> 1000 (the 50/50 bit 1 reads 0)
    method = GivenLogits().fit(as_logits("1100", "1000"), np.array(["a", "a"]))
    assert method.classes_.tolist() == ["a"]
    assert method.bit_probability_.tolist() == [[0.75, 0.5, 0.25, 0.25]]
    assert method.fingerprints_.tolist() == [[1, 0, 0, 0]] and method.fingerprints_.dtype == np.uint8


def test_fit_clips_the_bit_probabilities_to_one_percent() -> None:
    # 99 images of 10: (0 + 1) / 101 = 0.0099 -> 0.01 and (99 + 1) / 101 = 0.9901 -> 0.99;
    # 98 images: 1 / 100 = 0.01 and 99 / 100 = 0.99 exactly, unchanged
    method = GivenLogits().fit(as_logits(*["10"] * 99, *["01"] * 98), np.array(["x"] * 99 + ["y"] * 98))
    assert MIN_PROBABILITY == 0.01
    assert method.bit_probability_.tolist() == [[0.99, 0.01], [0.01, 0.99]]
    assert method.fingerprints_.tolist() == [[1, 0], [0, 1]]


def test_fit_orders_the_classes_real_first_then_alphabetically() -> None:
    method = GivenLogits().fit(as_logits("1", "0", "1", "0"), np.array(["zeta", REAL, "alpha", "beta"]))
    assert method.classes_.tolist() == [REAL, "alpha", "beta", "zeta"]
    # one image each: a 1 -> 2/3, a 0 -> 1/3
    assert np.allclose(method.bit_probability_[:, 0], [1 / 3, 2 / 3, 1 / 3, 2 / 3])


def test_fit_refuses_labels_of_another_length() -> None:
    with pytest.raises(ValueError) as raised:
        GivenLogits().fit(as_logits("1", "0", "1"), np.array(["a", "b"]))
    assert str(raised.value) == "X has 3 images but y has 2 labels"


def two_sources() -> GivenLogits:
    """a: two images of 10 -> p_a = 3/4, 1/4; b: two of 01 -> p_b = 1/4, 3/4."""
    return GivenLogits().fit(as_logits("10", "10", "01", "01"), np.array(["a", "a", "b", "b"]))


def test_posterior_is_naive_bayes_over_the_bits_by_hand() -> None:
    method = two_sources()
    assert method.bit_probability_.tolist() == [[0.75, 0.25], [0.25, 0.75]]
    # 10: L_a = 3/4 · 3/4 = 9/16, L_b = 1/4 · 1/4 = 1/16 -> 0.9, 0.1
    # 01: the mirror image -> 0.1, 0.9; 11: L_a = 3/4 · 1/4 = L_b -> 0.5, 0.5
    X = as_logits("10", "01", "11")
    assert np.allclose(method._log_likelihood(method.decode(X)),
                       np.log([[9 / 16, 1 / 16], [1 / 16, 9 / 16], [3 / 16, 3 / 16]]))
    assert np.allclose(method.predict_proba(X), [[0.9, 0.1], [0.1, 0.9], [0.5, 0.5]])
    assert method.predict(X).tolist() == ["a", "b", "a"]  # the tie goes to the first class


def test_posterior_stays_finite_when_every_likelihood_underflows() -> None:
    """200 bits at p = 0.99 (99 images each, clipped): the all-zero code has likelihood 0.01^200 =
    1e-400 under a, below the smallest double; under b, whose bit 0 is 0.01, it is 99 times that.
    The posterior is still 1 : 99, i.e. 0.01 and 0.99."""
    ones = "1" * 200
    method = GivenLogits().fit(as_logits(*[ones] * 99, *["0" + ones[1:]] * 99), np.array(["a"] * 99 + ["b"] * 99))
    assert method.bit_probability_[1, 0] == 0.01 and method.bit_probability_[0, 0] == 0.99
    proba = method.predict_proba(as_logits("0" * 200))
    assert np.allclose(proba, [[0.01, 0.99]], rtol=1e-9, atol=0)
    # beside a code that a matches perfectly (likelihoods 0.99^200 = 0.13 and 0.99^199 · 0.01: 99 : 1),
    # the underflowing row keeps its own posterior: each row is scaled by its own largest likelihood
    proba = method.predict_proba(as_logits(ones, "0" * 200))
    assert np.allclose(proba, [[0.99, 0.01], [0.01, 0.99]], rtol=1e-9, atol=0)


def three_sources() -> GivenLogits:
    """real: 3 × 100 -> p = 4/5, 1/5, 1/5, fingerprint 100
    a: 99 × 111 -> p = 100/101 clipped to 0.99 each, fingerprint 111
    b: 000, 011, 000 -> counts 0, 1, 1 -> p = 1/5, 2/5, 2/5, fingerprint 000"""
    codes = ["100"] * 3 + ["111"] * 99 + ["000", "011", "000"]
    return GivenLogits().fit(as_logits(*codes), np.array([REAL] * 3 + ["a"] * 99 + ["b"] * 3))


def test_three_sources_by_hand_score_and_confidence_differ() -> None:
    method = three_sources()
    assert np.allclose(method.bit_probability_, [[0.8, 0.2, 0.2], [0.99, 0.99, 0.99], [0.2, 0.4, 0.4]])
    assert method.fingerprints_.tolist() == [[1, 0, 0], [1, 1, 1], [0, 0, 0]]
    X = as_logits("011", "100")
    # 011: L_real = 0.2 · 0.2 · 0.2 = 0.008, L_a = 0.01 · 0.99 · 0.99 = 0.009801, L_b = 0.8 · 0.4 · 0.4 = 0.128
    # 100: L_real = 0.8 · 0.8 · 0.8 = 0.512, L_a = 0.99 · 0.01 · 0.01 = 0.000099, L_b = 0.2 · 0.6 · 0.6 = 0.072
    likelihood = np.array([[0.008, 0.009801, 0.128], [0.512, 0.000099, 0.072]])
    assert np.allclose(method.predict_proba(X), likelihood / likelihood.sum(axis=1, keepdims=True))
    assert method.predict(X).tolist() == ["b", REAL]
    # bits agreeing with real 100, a 111, b 000: 011 -> 0, 2, 1 of 3; 100 -> 3, 1, 2 of 3
    assert np.allclose(method.match_fractions(X), [[0, 2 / 3, 1 / 3], [1, 1 / 3, 2 / 3]])
    # detection: the best generated match (a for 011, b for 100), never real's
    assert np.allclose(method.score(X), [2 / 3, 2 / 3])
    # open world: the match with the *predicted* source (b for 011: 1/3; real for 100: 3/3),
    # not with the nearest fingerprint
    assert np.allclose(method.confidence(X), [1 / 3, 1.0])


def test_unmarked_logit_by_hand() -> None:
    # real 1, 1, 2 / generated 3, 3, 5; candidates 3 and 5:
    #   t = 3: P_real(< 3) = 3/3, P_gen(>= 3) = 3/3 -> 1;  t = 5: 3/3 and 1/3 -> 2/3
    assert unmarked_logit(np.array([1.0, 1.0, 2.0]), np.array([3.0, 5.0, 3.0])) == 3.0
    # real 1, 4 / generated 2, 6: t = 2: 1/2 + 2/2 -> 3/4; t = 6: 2/2 + 1/2 -> 3/4; a tie: the smaller
    assert unmarked_logit(np.array([4.0, 1.0]), np.array([6.0, 2.0])) == 2.0
    # equal magnitudes: t = 1 gives 0/2 + 2/2 -> 1/2, not above chance
    assert unmarked_logit(np.array([1.0, 1.0]), np.array([1.0, 1.0])) == 0.0
    # generated weaker than real: t = 1 gives 0/1 + 1/1 -> 1/2
    assert unmarked_logit(np.array([5.0]), np.array([1.0])) == 0.0
    # one kind missing
    assert unmarked_logit(np.array([]), np.array([3.0])) == 0.0
    assert unmarked_logit(np.array([1.0]), np.array([])) == 0.0


def test_a_real_prediction_counts_weak_bits_as_matching() -> None:
    """real images read as weak random bits, a's as strong 111: a weak image predicted real is
    consistent with real; a strong (fingerprinted) one that matches no publisher is not."""
    real = np.array([[0.5, -0.5, 0.5], [-0.5, 0.5, -0.5]])
    a = np.full((3, 3), 4.0)
    method = GivenLogits().fit(np.concatenate([real, a]), np.array([REAL] * 2 + ["a"] * 3))
    # |logit| real 0.5 (6 values), generated 4 (9): t = 4 -> 6/6 + 9/9
    assert method.unmarked_logit_ == 4.0
    # real: counts 1, 1, 1 of 2 -> (1 + 1) / 4 = 1/2 each, fingerprint 000; a: 4/5 each, fingerprint 111
    assert np.allclose(method.bit_probability_, [[0.5] * 3, [0.8] * 3])
    X = np.array([[0.3, -0.3, -0.3], [6.0, -6.0, -6.0], [-6.0, -3.0, 6.0], [0.3, 0.3, -0.3]])
    # 100 (both first rows): L_real = 1/8 = 0.125, L_a = 0.8 · 0.2 · 0.2 = 0.032 -> real
    # 001: L_a = 0.032 -> real;  110: L_a = 0.8 · 0.8 · 0.2 = 0.128 > 0.125 -> a
    assert method.predict(X).tolist() == [REAL, REAL, REAL, "a"]
    # row 1: bits 2 and 3 agree with real's 000, bit 1 (|0.3| < 4) is weak -> 3/3
    # row 2: bits 2 and 3 agree, bit 1 (|6|) is strong -> 2/3, as without the rule
    # row 3: bits 1 and 2 agree (bit 2 also weak), bit 3 strong and 1 -> 2/3
    # row 4: predicted a, whose match counts bits only: 110 against 111 -> 2/3
    assert np.allclose(method.confidence(X), [1.0, 2 / 3, 2 / 3, 2 / 3])


def test_detection_needs_a_generated_source() -> None:
    method = GivenLogits().fit(as_logits("10", "11"), np.array([REAL, REAL]))
    with pytest.raises(ValueError) as raised:
        method.score(as_logits("10"))
    assert str(raised.value) == "detection needs at least one generated source among the training labels"


def test_without_real_the_score_is_the_best_match_over_all_sources() -> None:
    method = two_sources()  # fingerprints a = 10, b = 01
    assert method.score(as_logits("10", "11", "00")).tolist() == [1.0, 0.5, 0.5]


@pytest.mark.parametrize("call", ["predict_proba", "match_fractions", "score", "confidence"])
def test_an_unfitted_attributor_says_so(call: str) -> None:
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(GivenLogits(), call)(as_logits("10"))


# StegaAttributor: which decoder it reads with -----------------------------------------------------

def test_decode_logits_reads_images_of_the_decoder_s_size_only(monkeypatch) -> None:
    from ganprint.plugins.stega import train

    calls = []
    monkeypatch.setattr(train, "decode_logits", lambda decoder, X, batch: calls.append((decoder, X.shape, batch))
                        or np.zeros((len(X), 4)))
    method = StegaAttributor(batch_size=5)
    method._loaded = types.SimpleNamespace(config=types.SimpleNamespace(image_size=8), decoder="the decoder")
    assert method.decode_logits(np.zeros((2, 8, 8, 3), np.uint8)).shape == (2, 4)
    assert calls == [("the decoder", (2, 8, 8, 3), 5)]
    for shape, got in (((1, 16, 16, 3), "16x16"), ((1, 8, 16, 3), "8x16"), ((1, 16, 8, 3), "16x8")):
        with pytest.raises(ValueError) as raised:
            method.decode_logits(np.zeros(shape, np.uint8))
        assert str(raised.value) == f"the steganography decoder reads 8x8 images; got {got}"
    with pytest.raises(ValueError, match="uint8"):
        method.decode_logits(np.zeros((1, 8, 8, 3), np.float32))


def test_the_defaults_are_the_shipped_model_of_the_image_size_in_batches_of_256() -> None:
    assert StegaAttributor().get_params() == {"model": "auto", "batch_size": 256}


def test_auto_picks_the_preset_by_the_image_height(monkeypatch) -> None:
    """A 32×64 batch: the shipped preset of size 32 (the height) is loaded, then the width is refused."""
    from ganprint.plugins.stega import pipeline

    model = types.SimpleNamespace(config=types.SimpleNamespace(image_size=32), decoder=None)
    monkeypatch.setattr(pipeline, "PRESETS", {"small": "P32"})
    monkeypatch.setattr(pipeline, "shipped_preset_of_size", lambda size: types.SimpleNamespace(name={32: "small"}[size]))
    monkeypatch.setattr(pipeline, "steganography_model", lambda preset: model)
    with pytest.raises(ValueError) as raised:
        StegaAttributor().decode_logits(np.zeros((1, 32, 64, 3), np.uint8))
    assert str(raised.value) == "the steganography decoder reads 32x32 images; got 32x64"


def test_the_decoder_is_chosen_by_size_by_preset_or_by_path_and_loaded_once(monkeypatch) -> None:
    from ganprint.plugins.stega import pipeline, weights

    asked = []
    monkeypatch.setattr(pipeline, "PRESETS", {"default": "P64", "small": "P32"})
    monkeypatch.setattr(pipeline, "shipped_preset_of_size", lambda size: asked.append(("size", size))
                        or types.SimpleNamespace(name="small"))
    monkeypatch.setattr(pipeline, "steganography_model", lambda preset: asked.append(("preset", preset))
                        or f"model of {preset}")
    monkeypatch.setattr(weights, "load_model", lambda path: asked.append(("path", path)) or f"model at {path}")
    auto = StegaAttributor()
    assert auto._stega(32) == "model of P32" and auto._stega(64) == "model of P32"
    assert asked == [("size", 32), ("preset", "P32")]
    asked.clear()
    assert StegaAttributor(model="default")._stega(32) == "model of P64" and asked == [("preset", "P64")]
    asked.clear()
    assert StegaAttributor(model="/models/mine")._stega(32) == "model at /models/mine"
    assert asked == [("path", Path("/models/mine"))]


@pytest.mark.parametrize("head", ["dense", "pool"])
def test_the_saved_state_rebuilds_the_very_decoder(monkeypatch, head: str) -> None:
    from ganprint.plugins.stega.config import StegaConfig
    from ganprint.plugins.stega.model import FingerprintDecoderNet
    from ganprint.plugins.stega.weights import StegaModel

    assert StegaAttributor()._extra_state() == {}
    empty = StegaAttributor()
    empty._set_extra_state({})
    assert getattr(empty, "_loaded", None) is None
    torch.manual_seed(0)
    config = StegaConfig(n_bits=4, image_size=8, width=2, decoder_head=head)
    decoder = FingerprintDecoderNet(4, 8, 2, head)
    source = StegaAttributor()
    source._loaded = StegaModel(config, None, decoder, {})
    state = source._extra_state()
    assert state["decoder_config"] == config.as_dict() and set(state) == {"decoder_config", "decoder_weights"}
    copy = StegaAttributor(model="/nowhere")
    copy._set_extra_state(state)
    rebuilt = copy._loaded
    assert rebuilt.config == config and rebuilt.encoder is None and not rebuilt.decoder.training
    assert rebuilt.manifest == {"source": "a saved attributor"}
    for name, tensor in decoder.state_dict().items():
        assert torch.equal(rebuilt.decoder.state_dict()[name].cpu(), tensor)


def test_the_rebuilt_decoder_is_put_on_the_training_device(monkeypatch) -> None:
    """Where decode_logits sends the images (ganprint.training.device); "meta" stands in for a GPU."""
    from ganprint import training
    from ganprint.plugins.stega.config import StegaConfig
    from ganprint.plugins.stega.model import FingerprintDecoderNet

    config = StegaConfig(n_bits=4, image_size=8, width=2)
    state = {"decoder_config": config.as_dict(), "decoder_weights": FingerprintDecoderNet(4, 8, 2).state_dict()}
    monkeypatch.setattr(training, "device", lambda: torch.device("meta"))
    method = StegaAttributor()
    method._set_extra_state(state)
    assert {p.device.type for p in method._loaded.decoder.parameters()} == {"meta"}
