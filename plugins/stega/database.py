"""The fingerprint database of Yu et al. 2021, §3 and §4.4–4.5: one fingerprint per GAN publisher.

Fingerprints are drawn at random (the paper samples w ∈ {0, 1}ⁿ) with a minimum pairwise Hamming
distance, so two publishers are never confused even with a few wrong bits. Matching a decoded
fingerprint returns the nearest registered one and the fraction of bits that agree: detection
calls an image generated when that fraction is within a margin of 1, open-world attribution calls
it unknown when the fraction is below 0.75 (§4.5).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from math import comb
from pathlib import Path

import numpy as np

from ganprint.atomic import write_text

OPEN_WORLD_MATCH = 0.75


def random_match_probability(n_bits: int, min_match: float) -> float:
    """Chance that ``n_bits`` fair coin flips agree with a fixed fingerprint on ≥ ``min_match`` of bits.

    This is the false-match rate of a real image whose decoded bits are random (§4.4 assumption 1):
    the binomial tail P(K ≥ ⌈min_match · n_bits⌉), K ~ Bin(n_bits, 1/2). The comparison is ``>=``
    (the open-world rule keeps a fraction of exactly 0.75), and a product that is a whole number up
    to float rounding (0.28 · 25 = 7.000000000000001) counts as that whole number.
    """
    need = int(np.ceil(min_match * n_bits - 1e-9))
    return sum(comb(n_bits, k) for k in range(need, n_bits + 1)) / 2.0 ** n_bits


@dataclass
class FingerprintDatabase:
    """Publisher name → fingerprint bits (uint8 0/1, all the same length)."""

    fingerprints: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def allocate(cls, publishers: list[str], n_bits: int, seed: int, min_distance: int | None = None
                 ) -> "FingerprintDatabase":
        """Random fingerprints for ``publishers``, pairwise at least ``min_distance`` bits apart
        (default: a quarter of the bits, rounded down; a candidate exactly ``min_distance`` away is
        kept), drawn in order from a seeded generator, at most 10 000 draws per publisher."""
        min_distance = n_bits // 4 if min_distance is None else min_distance
        rng = np.random.default_rng([seed, n_bits])
        chosen: dict[str, np.ndarray] = {}
        for name in publishers:
            for _ in range(10_000):
                bits = rng.integers(0, 2, n_bits, dtype=np.uint8)
                if all(np.sum(bits != other) >= min_distance for other in chosen.values()):
                    break
            else:
                raise ValueError(f"cannot place {len(publishers)} fingerprints {min_distance} bits apart in {n_bits} bits")
            chosen[name] = bits
        return cls(chosen)

    @property
    def names(self) -> list[str]:
        return list(self.fingerprints)

    @property
    def matrix(self) -> np.ndarray:
        """(n_publishers, n_bits) uint8 in the order of :attr:`names`."""
        return np.stack([self.fingerprints[n] for n in self.names])

    def match(self, decoded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For decoded bits (N, n_bits): the nearest publisher's name and the fraction of matching bits.

        Publishers at the same distance tie; the one registered first (first in :attr:`names`) is
        named, and the fraction is the same for all of them. An empty batch gives empty arrays.
        Decoded codes of another length than the fingerprints are refused (compared bit by bit
        after numpy's broadcasting, a one-bit code would give a fraction for every publisher).
        """
        decoded = np.asarray(decoded)
        if not self.fingerprints:
            raise ValueError("the fingerprint database is empty: no publisher to match against")
        registered = self.matrix
        if decoded.ndim != 2 or decoded.shape[1] != registered.shape[1]:
            raise ValueError(f"decoded bits must be of shape (N, {registered.shape[1]}); got {decoded.shape}")
        agree = (decoded[:, None, :] == registered[None]).mean(axis=2)
        best = agree.argmax(axis=1)
        return np.asarray(self.names, dtype=object)[best], agree[np.arange(len(best)), best]

    def save(self, path: Path) -> None:
        write_text(path, json.dumps({k: "".join(map(str, v)) for k, v in self.fingerprints.items()}, indent=1))

    @classmethod
    def load(cls, path: Path) -> "FingerprintDatabase":
        raw = json.loads(Path(path).read_text())
        return cls({k: np.array([int(c) for c in v], dtype=np.uint8) for k, v in raw.items()})
