"""Split assignment (``ganprint.dataset.assign_splits``) on keys whose splits are listed by hand.

The rule (docstring of ``assign_splits``): a source's keys are ordered by the SHA-256 hex digest of
the key, and cut at ``round(fraction * n)`` keys per split (Python's ``round``: half to even), in
the order train, val, test, the last split with a non-zero fraction taking what is left. When the
source has at least as many keys as non-zero fractions, each of those splits gets at least one key.

The single letters below hash to (first 8 hex digits, ``printf a | sha256sum``)::

    a ca978112   b 3e23e816   c 2e7d2c03   d 18ac3e73   e 3f79bb7b
    f 252f10c8   g cd0aa985   h aaa94026   i de7d1b72   j 189f4003

so, by digest: j < d < f < c < b < e < h < a < g < i  (``189f`` < ``18ac``: ``9`` < ``a``).
Every expected split in this file is counted from that order by hand.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from ganprint.dataset import ArrayDataset, assign_splits

DIGESTS = {"a": "ca978112", "b": "3e23e816", "c": "2e7d2c03", "d": "18ac3e73", "e": "3f79bb7b",
           "f": "252f10c8", "g": "cd0aa985", "h": "aaa94026", "i": "de7d1b72", "j": "189f4003"}
HASH_ORDER = "jdfcbehagi"


def splits_of(keys: str, fractions: tuple[float, float, float] | None = None) -> dict[str, str]:
    out = assign_splits(list(keys)) if fractions is None else assign_splits(list(keys), fractions)
    return dict(zip(keys, out))


def by_split(assigned: dict[str, str]) -> dict[str, str]:
    """split -> its keys in hash order, as a string ('' for an empty split)."""
    return {split: "".join(k for k in HASH_ORDER if assigned.get(k) == split) for split in ("train", "val", "test")}


def test_the_digests_in_the_comment_are_right() -> None:
    for key, prefix in DIGESTS.items():
        assert hashlib.sha256(key.encode()).hexdigest()[:8] == prefix
    assert sorted(DIGESTS, key=lambda k: hashlib.sha256(k.encode()).hexdigest()) == list(HASH_ORDER)


@pytest.mark.parametrize("keys, expected", [
    # 10 keys: 60/20/20 of 10 = 6/2/2, cut in hash order j d f c b e | h a | g i
    ("abcdefghij", {"train": "jdfcbe", "val": "ha", "test": "gi"}),
    # 5 keys, hash order d c b e a: round(3.0)=3, round(1.0)=1, test takes 1
    ("abcde", {"train": "dcb", "val": "e", "test": "a"}),
    # 7 keys, order d f c b e a g: round(4.2)=4, round(1.4)=1, test takes the 2 left
    ("abcdefg", {"train": "dfcb", "val": "e", "test": "ag"}),
    # 8 keys, order d f c b e h a g: round(4.8)=5, round(1.6)=2, test takes the 1 left
    ("abcdefgh", {"train": "dfcbe", "val": "ha", "test": "g"}),
    # 6 keys, order d f c b e a: round(3.6)=4, round(1.2)=1, test 1
    ("abcdef", {"train": "dfcb", "val": "e", "test": "a"}),
    # 4 keys, order d c b a: round(2.4)=2, round(0.8)=1, test 1
    ("abcd", {"train": "dc", "val": "b", "test": "a"}),
    # 3 keys, order c b a: round(1.8)=2 is cut to 1 so that val and test get one each
    ("abc", {"train": "c", "val": "b", "test": "a"}),
    # 2 keys (fewer than the 3 splits: no split is guaranteed), order b a: round(1.2)=1,
    # round(0.4)=0, test takes the 1 left -> no val key
    ("ab", {"train": "b", "val": "", "test": "a"}),
    # 1 key: round(0.6)=1 -> train
    ("a", {"train": "a", "val": "", "test": ""}),
])
def test_60_20_20_cuts_listed_by_hand(keys: str, expected: dict[str, str]) -> None:
    assert by_split(splits_of(keys)) == expected
    assert by_split(splits_of(keys[::-1])) == expected   # the order of the keys does not matter


@pytest.mark.parametrize("keys, expected", [
    # a training set hashed 75/25 (image_files.TRAIN_OR_VAL); test gets nothing (fraction 0)
    # 4 keys, order d c b a: round(3.0)=3 -> val 1
    ("abcd", {"train": "dcb", "val": "a", "test": ""}),
    # 6 keys, order d f c b e a: 0.75 * 6 = 4.5 rounds half to even -> 4, val takes 2
    ("abcdef", {"train": "dfcb", "val": "ea", "test": ""}),
    # 10 keys: 0.75 * 10 = 7.5 rounds half to even -> 8, val 2
    ("abcdefghij", {"train": "jdfcbeha", "val": "gi", "test": ""}),
    # 2 keys, order b a: round(1.5)=2 is cut to 1 so that val gets one
    ("ab", {"train": "b", "val": "a", "test": ""}),
    # 1 key (fewer than the 2 splits): round(0.75)=1 -> train
    ("a", {"train": "a", "val": "", "test": ""}),
])
def test_75_25_cuts_listed_by_hand(keys: str, expected: dict[str, str]) -> None:
    assert by_split(splits_of(keys, (0.75, 0.25, 0.0))) == expected


@pytest.mark.parametrize("fractions, expected", [
    # 4 keys, hash order d c b a
    ((0.0, 0.5, 0.5), {"train": "", "val": "dc", "test": "ba"}),   # train unused: val 2, test 2
    ((0.5, 0.0, 0.5), {"train": "dc", "val": "", "test": "ba"}),
    ((0.0, 0.0, 1.0), {"train": "", "val": "", "test": "dcba"}),
    ((1.0, 0.0, 0.0), {"train": "dcba", "val": "", "test": ""}),
])
def test_zero_fractions_get_no_key(fractions: tuple[float, float, float], expected: dict[str, str]) -> None:
    assert by_split(splits_of("abcd", fractions)) == expected


def test_one_key_two_halves_rounds_half_to_even() -> None:
    """1 key, 50/50 train/val (fewer keys than splits): round(0.5) = 0 -> the key goes to val."""
    assert assign_splits(["a"], (0.5, 0.5, 0.0)) == ["val"]


def test_no_keys_no_splits() -> None:
    assert assign_splits([]) == []


@pytest.mark.parametrize("fractions", [(0.5, 0.5, 0.5), (0.6, 0.2, 0.1), (1.2, -0.1, -0.1), (0.0, 0.0, 0.0)])
def test_fractions_that_do_not_sum_to_one_are_refused(fractions: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError, match="fractions"):
        assign_splits(list("abcd"), fractions)


def test_array_dataset_selects_counts_and_batches_the_listed_splits() -> None:
    """Six images, splits given: the records of each split, per source, are listed by hand."""
    images = np.arange(6, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    labels = ["gan", "real", "real", "gan", "real", "gan"]
    splits = ["train", "test", "train", "test", "val", "test"]
    dataset = ArrayDataset("six", images, labels, splits)
    assert dataset.sources == ["real", "gan"]
    assert [r.id for r in dataset.select("test")] == ["real/test/000001", "gan/test/000003", "gan/test/000005"]
    assert [r.id for r in dataset.select("test", ["gan"])] == ["gan/test/000003", "gan/test/000005"]
    assert dataset.count("train") == {"gan": 1, "real": 1}
    assert dataset.count("test") == {"real": 1, "gan": 2}
    assert dataset.count("val") == {"real": 1}
    # batches of 2 over the 3 test images: rows 1, 3 | 5, each image's pixels equal to its row
    batches = list(dataset.batches("test", batch_size=2))
    assert [len(b) for b in batches] == [2, 1]
    assert [int(b.images[i, 0, 0, 0]) for b in batches for i in range(len(b))] == [1, 3, 5]
    assert list(batches[0].labels) == ["real", "gan"] and batches[1].ids == ["gan/test/000005"]
    loaded = dataset.load("test", ["gan"])
    assert loaded.images[:, 0, 0, 0].tolist() == [3, 5] and loaded.ids == ["gan/test/000003", "gan/test/000005"]
    with pytest.raises(ValueError, match="split must be one of"):
        dataset.select("training")


def four(bits=None, labels=("real", "gan", "gan", "real"), splits=("train", "test", "test", "val"), **kw):
    """Four 2x2 images whose pixels equal their row."""
    images = np.arange(4, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
    return ArrayDataset("four", images, list(labels), list(splits), bits=bits, **kw)


def test_bits_are_recorded_per_image_and_batched_only_when_every_image_has_some() -> None:
    bits = [None, np.array([1, 0, 1]), np.array([0, 0, 1]), None]
    dataset = four(bits)
    assert [r.bits for r in dataset.records()] == [None, (1, 0, 1), (0, 0, 1), None]
    assert dataset.n_bits == 3                       # the first image records none: the next one counts
    test = dataset.load("test")                      # rows 1 and 2, both with bits
    assert test.bits.dtype == np.uint8 and test.bits.tolist() == [[1, 0, 1], [0, 0, 1]]
    assert dataset.load("train").bits is None        # row 0: no bits
    assert four().n_bits is None and four().load("val").bits is None
    assert four(np.array([[1, 1], [0, 1], [1, 0], [0, 0]])).n_bits == 2


def test_an_empty_batch_has_no_bits_and_loading_an_empty_split_says_which() -> None:
    from ganprint.dataset import Batch
    assert Batch(np.zeros((0, 2, 2, 3), np.uint8), ()).bits is None and len(Batch(np.zeros((0, 2, 2, 3)), ())) == 0
    dataset = four(splits=("train", "train", "test", "test"))
    with pytest.raises(ValueError, match=r"^dataset 'four' has no readable val images$"):
        dataset.load("val")
    with pytest.raises(ValueError, match=r"^dataset 'four' has no readable train images of sources \['x'\]$"):
        dataset.load("train", ["x"])


def test_ids_labels_and_skips() -> None:
    dataset = four(ids=["w", "x", "y", "z"])
    assert [r.id for r in dataset.records()] == ["w", "x", "y", "z"]
    assert dataset.load("test").ids == ["x", "y"] and dataset.load("test").images[:, 0, 0, 0].tolist() == [1, 2]
    assert [r.id for r in four().records()] == ["real/train/000000", "gan/test/000001", "gan/test/000002",
                                                "real/val/000003"]
    record = dataset.records()[1]
    dataset.skip(record, "first reason")
    dataset.skip(record, "second reason")            # one line per image: the first reason stays
    dataset.skip(dataset.records()[2], "other")
    assert [(s.id, s.reason) for s in dataset.skipped] == [("x", "first reason"), ("y", "other")]


def test_repeated_ids_are_refused() -> None:
    """Images are read by id: with rows 0 and 1 both "x", reading row 0 gave row 1's image."""
    with pytest.raises(ValueError, match="^ids must be unique; given more than once: w, x$"):
        four(ids=["x", "x", "w", "w"])
    with pytest.raises(ValueError, match="same length"):
        four(ids=["x", "y", "z"])


@pytest.mark.parametrize("images, labels, splits, message", [
    (np.zeros((2, 2, 2), np.uint8), ["a", "b"], ["train", "test"], "must be uint8"),
    (np.zeros((2, 2, 2, 4), np.uint8), ["a", "b"], ["train", "test"], "must be uint8"),
    (np.zeros((2, 2, 2, 3), np.float32), ["a", "b"], ["train", "test"], "must be uint8"),
    (np.zeros((2, 2, 3, 3), np.uint8), ["a", "b"], ["train", "test"], "must be square; got 2x3"),
    (np.zeros((2, 2, 2, 3), np.uint8), ["a"], ["train", "test"], "same length"),
    (np.zeros((2, 2, 2, 3), np.uint8), ["a", "b"], ["train"], "same length"),
    (np.zeros((2, 2, 2, 3), np.uint8), ["a", "b"], ["train", "testing"], r"unknown splits \['testing'\]"),
])
def test_array_dataset_refuses_bad_arrays(images, labels, splits, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ArrayDataset("bad", images, labels, splits)
    with pytest.raises(ValueError, match="same length"):
        ArrayDataset("bad", np.zeros((2, 2, 2, 3), np.uint8), ["a", "b"], ["train", "test"], bits=[None])


def test_content_hash_covers_pixels_labels_splits_bits_and_ids() -> None:
    from ganprint.dataset import DatasetError
    base = four().content_hash()
    assert len(base) == 16 and four().content_hash() == base
    assert four(labels=("real", "gan", "gan2", "real")).content_hash() != base
    assert four(splits=("train", "test", "val", "val")).content_hash() != base
    assert four([None, [1], [0], None]).content_hash() != base
    assert four(ids=["a", "b", "c", "d"]).content_hash() != base
    other = four()
    other.images[3, 1, 1, 2] = 200
    assert other.content_hash() != base
    assert four().image_size == 2 and four().name == "four"
    with pytest.raises(DatasetError) as raised:
        four().with_image_size(4)
    assert str(raised.value) == ("dataset 'four' has a fixed image size (2 px); an image size or fit applies "
                                 "to datasets read from files (folder:, manifest:)")


def test_load_reads_1024_images_at_a_time() -> None:
    """1030 test images: load reads them as 1024 + 6 (batches() reads 256 at a time by default)."""
    class Counting(ArrayDataset):
        sizes: list[int] = []

        def read(self, records):
            Counting.sizes.append(len(records))
            return super().read(records)

    n = 1030
    dataset = Counting("many", np.zeros((n, 1, 1, 3), np.uint8), ["gan"] * n, ["test"] * n)
    assert len(dataset.load("test")) == n and Counting.sizes == [1024, 6]
    Counting.sizes = []
    assert sum(len(b) for b in dataset.batches("test")) == n and Counting.sizes == [256, 256, 256, 256, 6]
