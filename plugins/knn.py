"""k-nearest-neighbour attribution on raw pixels, the first baseline of Yu et al. 2019 (§4.1).

Each test image takes the labels of its k nearest training images in Euclidean pixel distance;
class probabilities are the neighbours' (distance-weighted) votes.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from ganprint import DetectorSpec, hookimpl
from ganprint.plugins.pixel_attributor import PixelAttributor

if TYPE_CHECKING:
    from sklearn.neighbors import KNeighborsClassifier


class KNNAttributor(PixelAttributor):
    """kNN on raw pixels (Yu et al. 2019, §4.1 baseline)."""

    def __init__(self, n_neighbors: int = 5, weights: str = "distance") -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights

    def _make_model(self) -> KNeighborsClassifier:
        from sklearn.neighbors import KNeighborsClassifier

        return KNeighborsClassifier(n_neighbors=self.n_neighbors, weights=self.weights)


@hookimpl
def ganprint_detectors() -> Iterable[DetectorSpec]:
    yield DetectorSpec("knn", KNNAttributor, "kNN on raw pixels (Yu et al. 2019 §4.1 baseline)")
