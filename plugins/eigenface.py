"""Eigenface attribution (Turk and Pentland 1991), the second baseline of Yu et al. 2019 (§4.1).

Images are projected on the leading principal components of the training pixels ("eigenfaces");
an image is attributed to the source whose mean projection is nearest (Turk and Pentland's
nearest class in face space). Probabilities are NearestCentroid's softmax over negative distances.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import numpy as np

from ganprint import DetectorSpec, hookimpl
from ganprint.plugins.pixel_attributor import PixelAttributor

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


class EigenfaceAttributor(PixelAttributor):
    """PCA of raw pixels, then the nearest class centroid in eigenface space."""

    def __init__(self, n_components: int = 64, random_state: int = 0) -> None:
        self.n_components = n_components
        self.random_state = random_state

    def _make_model(self) -> Pipeline:
        from sklearn.decomposition import PCA
        from sklearn.neighbors import NearestCentroid
        from sklearn.pipeline import Pipeline

        return Pipeline([
            ("pca", PCA(n_components=self.n_components_, svd_solver="randomized",
                        random_state=self.random_state)),
            ("centroid", NearestCentroid()),
        ])

    def fit(self, X: np.ndarray, y: np.ndarray) -> "EigenfaceAttributor":
        # PCA cannot keep more components than there are images or pixels.
        self.n_components_ = min(self.n_components, len(X), X[0].size)
        return super().fit(X, y)


@hookimpl
def ganprint_detectors() -> Iterable[DetectorSpec]:
    yield DetectorSpec("eigenface", EigenfaceAttributor,
                       "Eigenface: PCA of pixels, nearest class centroid (Yu et al. 2019 §4.1 baseline)")
