"""How well a feature representation separates image sources: the FD ratio of Yu et al. 2019 (§4.1)
and a t-SNE scatter (Fig. 1). Method-agnostic: any (N, D) features with source labels.

FD ratio = mean inter-class Fréchet distance (over pairs of sources) / mean intra-class Fréchet
distance (between two disjoint random halves of each source). The larger, the more distinguishable
the sources. The Fréchet distance is computed exactly in the span of the samples,
``tr sqrt(Σ1 Σ2) = Σ singular values of A1 A2ᵀ / sqrt((n1−1)(n2−1))`` for centred sample matrices
A1, A2, so raw pixels of any resolution cost an n1×n2 SVD rather than a D×D matrix square root.
"""
from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np

from ganprint.atomic import save_figure


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the rows of ``a`` and of ``b`` (each ≥ 2 rows)."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Fréchet distance needs at least two samples on each side")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    A, B = a - mu_a, b - mu_b
    na, nb = len(a) - 1, len(b) - 1
    trace_a, trace_b = (A * A).sum() / na, (B * B).sum() / nb
    cross = np.linalg.svd(A @ B.T, compute_uv=False).sum() / np.sqrt(na * nb)
    return float(max(((mu_a - mu_b) ** 2).sum() + trace_a + trace_b - 2.0 * cross, 0.0))


def fd_ratio(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> dict[str, float]:
    """{"inter": mean FD between sources, "intra": mean FD between halves of a source, "ratio"}."""
    features = np.asarray(features).reshape(len(features), -1)
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    groups = {c: features[labels == c] for c in sorted(set(labels.tolist()))}
    if len(groups) < 2 or any(len(g) < 4 for g in groups.values()):
        raise ValueError("the FD ratio needs at least two sources with four or more samples each")
    inter = [frechet_distance(groups[p], groups[q]) for p, q in combinations(groups, 2)]
    intra = []
    for g in groups.values():
        order = rng.permutation(len(g))
        intra.append(frechet_distance(g[order[: len(g) // 2]], g[order[len(g) // 2:]]))
    inter_mean, intra_mean = float(np.mean(inter)), float(np.mean(intra))
    return {"inter": inter_mean, "intra": intra_mean, "ratio": inter_mean / max(intra_mean, 1e-12)}


def tsne_plot(panels: dict[str, np.ndarray], labels: np.ndarray, path: Path, *, seed: int = 0,
              max_points: int = 2000) -> Path:
    """A PNG with one t-SNE scatter per feature representation in ``panels``, coloured by source."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    labels = np.asarray(labels)
    keep = np.sort(np.random.default_rng(seed).permutation(len(labels))[:max_points])
    sources = sorted(set(labels[keep].tolist()), key=lambda s: (s != "real", s))
    colours = plt.get_cmap("tab10" if len(sources) <= 10 else "tab20")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 5), squeeze=False)
    for ax, (title, features) in zip(axes[0], panels.items()):
        x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)[keep]
        x = (x - x.mean(axis=0)) / (x.std() + 1e-12)
        embedded = TSNE(n_components=2, init="pca", random_state=seed,
                        perplexity=min(30.0, max(2.0, (len(x) - 1) / 3))).fit_transform(x)
        for i, source in enumerate(sources):
            rows = labels[keep] == source
            ax.scatter(embedded[rows, 0], embedded[rows, 1], s=5, color=colours(i), label=source)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][-1].legend(markerscale=3, fontsize=8, loc="best")
    fig.tight_layout()
    path = save_figure(fig, path, dpi=120)
    plt.close(fig)
    return path
