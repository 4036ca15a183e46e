"""The secrecy test of Yu et al. 2021, App. A.2: the Artificial Training Sets (ATS) attack of
Lerch-Hostalot & Megías 2016 (unsupervised steganalysis), in the protocol of Zhu et al. 2018.

The attacker holds a test set of images, some fingerprinted once and some not, without labels, and
a steganography encoder E₂ trained independently of the publisher's (another seed, the same
recipe: ``pipeline.independent_model``). Then:

1. the test images themselves are the negatives of an artificial training set (fingerprinted 0 or
   1 time);
2. E₂ applied twice to each test image gives the positives (fingerprinted 2 or 3 times);
3. an SVM (libsvm's, through scikit-learn's ``SVC``) is trained to separate the two;
4. E₂ applied once to each test image moves the clean ones to 1 fingerprint (the 0–1 class) and
   the fingerprinted ones to 2 (the 2–3 class); the SVM's prediction on that copy is the attack's
   answer for the original image ("fingerprinted" iff predicted 2–3).

The score is the accuracy of that answer against the truth; 0.5 is chance (the paper reports 0.502
on 250 fingerprinted and 250 clean GAN samples).

Features: second-order SPAM (Pevný, Bas & Fridrich 2010, "Steganalysis by subtractive pixel
adjacency matrix"), the steganalysis features ATS was introduced with: differences of neighbouring
pixels in 8 directions, truncated to [−T, T] (T = 3), the Markov transition probabilities of
consecutive difference triples, averaged over the 4 straight and over the 4 diagonal directions
(2 × 7³ = 686 features), per colour channel. The SVM has an RBF kernel on standardised features;
its C and γ are chosen by cross-validation on the artificial training set, whose labels are known.

Beside the attack, ``supervised_acc`` is the cross-validated accuracy of the same features and SVM
trained on the test images' true labels: an attacker who had labelled examples. It is not part of
the paper; it says whether these features see the fingerprint at all, so that an attack at chance
is the private encoder's merit, not blind features'.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ganprint.images import check_images

SPAM_T = 3

# an encoder applied once: (uint8 images, rng) -> uint8 images, the same shape
EmbedFn = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _transition_probabilities(a: np.ndarray, b: np.ndarray, c: np.ndarray, t: int) -> np.ndarray:
    """(N, (2t+1)³): P(c | a, b) of the clipped difference triples (a, b, c) of each image."""
    k = 2 * t + 1
    n = len(a)
    index = ((a + t) * k + (b + t)) * k + (c + t)
    index = index.reshape(n, -1) + (k ** 3) * np.arange(n)[:, None]
    counts = np.bincount(index.ravel(), minlength=n * k ** 3).reshape(n, k * k, k).astype(np.float64)
    pairs = counts.sum(axis=2, keepdims=True)
    probabilities = np.divide(counts, pairs, out=np.zeros_like(counts), where=pairs > 0)
    return probabilities.reshape(n, -1)


def _straight(x: np.ndarray, t: int) -> np.ndarray:
    """Transitions along the rows, left to right, of (N, H, W) int images."""
    d = np.clip(x[:, :, :-1] - x[:, :, 1:], -t, t)
    return _transition_probabilities(d[:, :, :-2], d[:, :, 1:-1], d[:, :, 2:], t)


def _diagonal(x: np.ndarray, t: int) -> np.ndarray:
    """Transitions along the main diagonals, top left to bottom right."""
    d = np.clip(x[:, :-1, :-1] - x[:, 1:, 1:], -t, t)
    return _transition_probabilities(d[:, :-2, :-2], d[:, 1:-1, 1:-1], d[:, 2:, 2:], t)


def spam_features(images: np.ndarray, t: int = SPAM_T) -> np.ndarray:
    """Second-order SPAM features (N, 3 · 2 · (2t+1)³) float32 of uint8 RGB images, per channel:
    the straight directions (→ ← ↓ ↑) averaged, then the diagonal ones (↘ ↖ ↙ ↗) averaged."""
    images = check_images(images)
    if min(images.shape[1:3]) < 4:
        raise ValueError(f"SPAM needs images of at least 4x4 pixels; got {images.shape[1:3]}")
    parts = []
    for channel in range(3):
        x = images[..., channel].astype(np.int16)
        xt = np.swapaxes(x, 1, 2)
        straight = [_straight(v, t) for v in (x, x[:, :, ::-1], xt, xt[:, :, ::-1])]
        diagonal = [_diagonal(v, t) for v in (x, x[:, ::-1, ::-1], x[:, ::-1, :], x[:, :, ::-1])]
        parts += [np.mean(straight, axis=0), np.mean(diagonal, axis=0)]
    return np.concatenate(parts, axis=1).astype(np.float32)


def _svm(seed: int):
    """Standardised features, an RBF SVM with C and γ cross-validated (3 folds)."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    grid = {"svc__C": [0.1, 1.0, 10.0, 100.0], "svc__gamma": ["scale", 0.1, 0.01]}
    return GridSearchCV(make_pipeline(StandardScaler(), SVC(kernel="rbf")), grid,
                        cv=StratifiedKFold(3, shuffle=True, random_state=seed), n_jobs=1)


def _features(images: np.ndarray) -> np.ndarray:
    return spam_features(images)


def ats_attack(images: np.ndarray, fingerprinted: np.ndarray, embed_once: EmbedFn, seed: int = 0,
               supervised_folds: int = 5) -> dict[str, Any]:
    """The ATS attack (module docstring) on ``images`` whose truth is ``fingerprinted`` (bool, the
    attack never sees it); ``embed_once`` is the attacker's encoder. Returns the attack's accuracy,
    its share of images called fingerprinted, the SVM's cross-validated accuracy on the artificial
    training set (0–1 vs 2–3 times), and the supervised reference (``supervised_acc``)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    images = check_images(images)
    truth = np.asarray(fingerprinted, bool)
    if truth.shape != (len(images),):
        raise ValueError(f"fingerprinted must be one bool per image; got shape {truth.shape} for {len(images)} images")
    if truth.all() or not truth.any():
        raise ValueError("the test set needs both fingerprinted and clean images to score the attack")
    rng = np.random.default_rng([seed, 17])
    # the attack sees the images in a random order: an order that follows the truth (fingerprinted
    # first) would leak into libsvm's solver, whose result on tied points depends on their order
    order = rng.permutation(len(images))
    images, truth = images[order], truth[order]
    once = embed_once(images, rng)  # the copy the SVM judges: clean -> 1 time, fingerprinted -> 2
    twice = embed_once(once, rng)  # E₂ twice on the test images: the artificial positives (2-3 times)
    for name, out in (("once", once), ("twice", twice)):
        if out.shape != images.shape or out.dtype != np.uint8:
            raise ValueError(f"embed_once must return uint8 images of the input's shape ({name})")
    negatives, positives, test = _features(images), _features(twice), _features(once)
    mixed = rng.permutation(2 * len(images))
    X = np.concatenate([negatives, positives])[mixed]
    y = np.r_[np.zeros(len(negatives), int), np.ones(len(positives), int)][mixed]
    svm = _svm(seed).fit(X, y)
    called = svm.predict(test).astype(bool)
    supervised = cross_val_score(_svm(seed), negatives, truth.astype(int),
                                 cv=StratifiedKFold(supervised_folds, shuffle=True, random_state=seed))
    return {"accuracy": float(np.mean(called == truth)),
            "called_fingerprinted": float(np.mean(called)),
            "artificial_cv_acc": float(svm.best_score_),
            "svm_params": {k.replace("svc__", ""): v for k, v in svm.best_params_.items()},
            "supervised_acc": float(np.mean(supervised)),
            "n_fingerprinted": int(truth.sum()), "n_clean": int((~truth).sum())}
