"""Shared base of the raw-pixel baselines (Yu et al. 2019, §4.1): a scikit-learn pipeline over
flattened pixels scaled to [0, 1]."""
from __future__ import annotations

import numpy as np

from ganprint import Attributor, check_is_fitted
from ganprint.images import check_images, check_same_size


def flatten_pixels(X: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """(N, H, W, 3) uint8 → (N, H·W·3) float32 in [0, 1], converted ``chunk`` images at a time, so
    that images read on demand (:class:`ganprint.lazy_images.LazyImages`) are held only as these
    features, never as a whole uint8 copy beside them."""
    features = np.empty((len(X), int(np.prod(X.shape[1:]))), np.float32)
    for start in range(0, len(X), chunk):
        part = np.asarray(X[start:start + chunk])
        features[start:start + len(part)] = part.reshape(len(part), -1).astype(np.float32) / 255.0
    return features


class PixelAttributor(Attributor):
    """An Attributor whose subclass builds a scikit-learn classifier in ``_make_model``."""

    streams_images = True  # fit reads its images a chunk at a time into pixel features

    def _make_model(self):  # pragma: no cover - abstract in spirit
        raise NotImplementedError

    def fit(self, X: np.ndarray, y: np.ndarray) -> "PixelAttributor":
        check_images(X)
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} images but y has {len(y)} labels")
        model = self._make_model()
        model.fit(flatten_pixels(X), y)
        self.model_ = model
        self.classes_ = model.classes_
        self.image_shape_ = X.shape[1:3]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        check_images(X)
        check_same_size(X, self.image_shape_)
        return self.model_.predict_proba(flatten_pixels(X))
