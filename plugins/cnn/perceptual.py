"""An offline perceptual distance and the artifact-free subset of Yu et al. 2019 (§4.3, Table 6).

The paper keeps the 10% of generated test images most similar to the real dataset under LPIPS
(1-nearest-neighbour similarity). LPIPS needs ImageNet-trained backbone weights, which cannot ship.
Here the distance is the Normalised Laplacian Pyramid Distance (NLPD; Laparra, Ballé, Berardino and
Simoncelli 2016), simplified: the luminance of each image is decomposed into a Laplacian pyramid
(5×5 binomial filter, :mod:`ganprint.pyramid`) down to 4×4; each band is divided by a local
amplitude estimate (a constant plus the 3×3 mean of the band's absolute values), which mimics the
divisive normalisation of early vision; the distance is the mean over bands of the root-mean-square
difference.

Why NLPD: it is a perceptual metric of the same purpose as LPIPS (agreement with human similarity
judgements, where it is on par with MS-SSIM and far above pixel MSE), it has no learned weights, and
it does not depend on the classifier being evaluated (using the CNN's own features would select the
images that classifier already finds real-like, which is circular).
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import convolve1d

from ganprint.pyramid import laplacian_pyramid

LUMA = np.array([0.299, 0.587, 0.114])
AMPLITUDE_FLOOR = 0.05
COARSEST = 4  # the pyramid goes down to 4×4


def _local_mean(x: np.ndarray) -> np.ndarray:
    """3×3 mean over the last two axes (border sample repeated)."""
    box = np.ones(3) / 3
    return convolve1d(convolve1d(x, box, axis=1, mode="reflect"), box, axis=2, mode="reflect")


def nlpd_features(images: np.ndarray) -> list[np.ndarray]:
    """Per pyramid band, (N, n_coefficients) normalised Laplacian coefficients of uint8 RGB images."""
    x = (np.asarray(images, dtype=np.float64) / 255.0) @ LUMA
    *bands, residual = laplacian_pyramid(x, COARSEST, border="symmetric")
    features = [(band / (AMPLITUDE_FLOOR + _local_mean(np.abs(band)))).reshape(len(x), -1) for band in bands]
    return features + [residual.reshape(len(x), -1)]


def nlpd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NLPD between paired images ``a[i]`` and ``b[i]``: (N,) distances."""
    return np.mean([np.sqrt(((fa - fb) ** 2).mean(axis=1))
                    for fa, fb in zip(nlpd_features(a), nlpd_features(b))], axis=0)


def nearest_distance(queries: np.ndarray, references: np.ndarray, chunk: int = 512) -> np.ndarray:
    """For each query image, its NLPD to the nearest reference image: (N_queries,)."""
    ref = nlpd_features(references)
    ref_sq = [(r * r).sum(axis=1) for r in ref]
    out = []
    for start in range(0, len(queries), chunk):
        qf = nlpd_features(queries[start:start + chunk])
        total = np.zeros((len(qf[0]), len(ref[0])))
        for q, r, r2 in zip(qf, ref, ref_sq):
            sq = (q * q).sum(axis=1)[:, None] + r2[None, :] - 2.0 * q @ r.T
            total += np.sqrt(np.maximum(sq, 0.0) / q.shape[1])
        out.append(total.min(axis=1) / len(ref))
    return np.concatenate(out)


def artifact_free_mask(images: np.ndarray, labels: np.ndarray, real_images: np.ndarray,
                       fraction: float = 0.1, real_label: str = "real") -> np.ndarray:
    """Boolean mask of the generated images kept: per generated source, the ``fraction`` (at least
    one) nearest to ``real_images`` under NLPD. Real images are not selected."""
    labels = np.asarray(labels)
    distance = nearest_distance(images, real_images)
    keep = np.zeros(len(labels), dtype=bool)
    for source in sorted(set(labels.tolist()) - {real_label}):
        rows = np.flatnonzero(labels == source)
        k = max(1, int(round(fraction * len(rows))))
        keep[rows[np.argsort(distance[rows], kind="stable")[:k]]] = True
    return keep
