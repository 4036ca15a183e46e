"""Source attribution and detection by residual fingerprints (Marra et al. 2019, §3 and §4).

``fit`` estimates one fingerprint per training label, the mean residual of its images (eq. 3),
``"real"`` included (real photographs leave camera fingerprints too, Marra et al. §4). An image is
compared with every fingerprint by normalised correlation (eq. 5) or, as an alternative, by PCE;
the largest similarity names its source.

- ``predict_proba`` is a softmax of the similarities times one scale fitted on the training
  images: by maximum likelihood of their labels, where each kept training image is compared with
  fingerprints estimated without its own fold (5 folds within each source), so the scale is not
  fitted on the optimism of images scored against fingerprints they helped estimate. The scale is
  searched within a factor 1000 either way of the inverse spread of those similarities: on
  separable training images it stops at that bound instead of growing without limit.
- ``score`` (real vs generated) is read from the similarities directly: the largest similarity
  with a generated source's fingerprint minus the similarity with the real fingerprint (without a
  real class, the largest similarity).
- ``confidence`` (open-world rejection) is the correlation margin: the largest similarity minus
  the second largest (the largest alone with one class). An image of an unknown source correlates
  weakly with every fingerprint, so its margin is small.
"""
from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from ganprint import REAL, Attributor, check_is_fitted
from ganprint.images import check_images, check_same_size
from ganprint.plugins.prnu.residual import residuals
from ganprint.plugins.prnu.similarity import correlation, pce

SIMILARITIES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {"corr": correlation, "pce": pce}
FOLDS = 5
CALIBRATION_VALUES = 1 << 24  # residual values kept in memory to fit the softmax scale
SCALE_RANGE = 1e3


def fit_softmax_scale(similarities: np.ndarray, labels: np.ndarray) -> float:
    """The scale t maximising the likelihood of ``labels`` under softmax(t · similarities)."""
    spread = float(np.std(similarities))
    if not np.isfinite(spread) or spread == 0:
        return 1.0
    z = similarities / spread
    rows = np.arange(len(z))

    def loss(log_scale: float) -> float:
        return float(-log_softmax(np.exp(log_scale) * z, axis=1)[rows, labels].mean())

    bound = np.log(SCALE_RANGE)
    best = minimize_scalar(loss, bounds=(-bound, bound), method="bounded")
    return float(np.exp(best.x) / spread)


class PRNUAttributor(Attributor):
    """Residual fingerprints with correlation (or PCE) attribution (Marra et al. 2019)."""

    def __init__(
        self,
        levels: int = 4,
        sigma: float = 5.0,
        zero_mean: bool = False,
        wiener_dft: bool = False,
        similarity: str = "corr",
        batch_size: int = 64,
    ) -> None:
        self.levels = levels
        self.sigma = sigma
        self.zero_mean = zero_mean
        self.wiener_dft = wiener_dft
        self.similarity = similarity
        self.batch_size = batch_size

    def _residual_batches(self, X: np.ndarray):
        for start in range(0, len(X), self.batch_size):
            yield start, residuals(X[start:start + self.batch_size], levels=self.levels, sigma=self.sigma,
                                   zero_mean=self.zero_mean, wiener_dft=self.wiener_dft)

    def _compare(self, R: np.ndarray, F: np.ndarray) -> np.ndarray:
        return SIMILARITIES[self.similarity](R, F)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "PRNUAttributor":
        X = check_images(X)
        y = np.asarray(y).astype(str)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} images but y has {len(y)} labels")
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {sorted(SIMILARITIES)}; got {self.similarity!r}")
        self._last = None  # similarities memoised for the previous fingerprints
        classes, label = np.unique(y, return_inverse=True)
        n_classes, (height, width) = len(classes), X.shape[1:3]
        rank = np.empty(len(y), dtype=int)
        for k in range(n_classes):
            rank[label == k] = np.arange(np.sum(label == k))
        fold = rank % FOLDS
        keep = rank < max(FOLDS, CALIBRATION_VALUES // (n_classes * height * width))

        sums = np.zeros((n_classes, FOLDS, height, width))
        counts = np.zeros((n_classes, FOLDS))
        kept = []
        for start, R in self._residual_batches(X):
            rows = slice(start, start + len(R))
            for k, f in set(zip(label[rows], fold[rows])):
                members = (label[rows] == k) & (fold[rows] == f)
                sums[k, f] += R[members].sum(axis=0, dtype=np.float64)
                counts[k, f] += members.sum()
            kept.append(R[keep[rows]])
        totals, n_images = sums.sum(axis=1), counts.sum(axis=1)
        self.fingerprints_ = (totals / n_images[:, None, None]).astype(np.float32)

        kept_R = np.concatenate(kept)
        kept_fold, kept_label = fold[keep], label[keep]
        similarities = np.empty((len(kept_R), n_classes))
        for f in range(FOLDS):
            rows = kept_fold == f
            if rows.any():
                similarities[rows] = self._compare(kept_R[rows], self._out_of_fold(sums, counts, f))
        self.scale_ = fit_softmax_scale(similarities, kept_label)
        self.classes_ = classes
        self.image_shape_ = (height, width)
        return self

    def _out_of_fold(self, sums: np.ndarray, counts: np.ndarray, f: int) -> np.ndarray:
        """Fingerprints without fold ``f``; a source with no image elsewhere keeps its full one."""
        n_out = counts.sum(axis=1) - counts[:, f]
        out = (sums.sum(axis=1) - sums[:, f]) / np.maximum(n_out, 1)[:, None, None]
        return np.where(n_out[:, None, None] > 0, out, self.fingerprints_).astype(np.float32)

    def similarities(self, X: np.ndarray) -> np.ndarray:
        """Similarities (N, len(classes_)) of each image's residual with each fingerprint.

        The last batch's result is kept, so ``predict_proba``, ``score`` and ``confidence`` on the
        same images extract the residuals once.
        """
        check_is_fitted(self)
        X = check_images(X)
        check_same_size(X, self.image_shape_)
        key = (X.shape, hashlib.blake2b(np.ascontiguousarray(X).data, digest_size=16).digest())
        last = getattr(self, "_last", None)
        if last is not None and last[0] == key:
            return last[1].copy()
        S = np.concatenate([self._compare(R, self.fingerprints_) for _, R in self._residual_batches(X)])
        self._last = (key, S)
        return S.copy()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return softmax(self.scale_ * self.similarities(X), axis=1)

    def score(self, X: np.ndarray) -> np.ndarray:
        S = self.similarities(X)
        is_real = np.asarray(self.classes_) == REAL
        if not is_real.any():
            return S.max(axis=1)
        if is_real.all():
            return -S[:, 0]
        return S[:, ~is_real].max(axis=1) - S[:, is_real][:, 0]

    def confidence(self, X: np.ndarray) -> np.ndarray:
        S = self.similarities(X)
        if S.shape[1] == 1:
            return S[:, 0]
        top = np.sort(S, axis=1)
        return top[:, -1] - top[:, -2]
