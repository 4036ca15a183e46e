"""The fingerprint-distribution analyses of Ding, Thakur and Li §5 (Tables 1-3, Fig. 5).

A source's fingerprint is the distribution of the μ′ of its images. Two such distributions are
compared by the Jensen-Shannon divergence (base 2, so in [0, 1]) and the correlation coefficient of
their densities. The paper does not say in which space; here, as in its Fig. 5, the μ′ are projected
on the leading principal axes of the reference sources' μ′, each axis's density is a Gaussian
kernel estimate on a grid shared by all sources, and JSD and correlation are averaged over the
``n_components`` axes (1 = exactly the space of Fig. 5).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from scipy.stats import gaussian_kde
from sklearn.decomposition import PCA

from ganprint.atomic import save_figure

GRID_POINTS = 256
SEED_SUFFIX = re.compile(r"[_\-.]?(seed|s)?\d+$")


class FingerprintSpace:
    """The principal axes of reference fingerprints and a density grid over each axis."""

    def __init__(self, reference: Mapping[str, np.ndarray], n_components: int = 1, seed: int = 0) -> None:
        stacked = np.concatenate(list(reference.values())).astype(np.float64)
        self.n_components = min(n_components, stacked.shape[1], len(stacked))
        self.pca = PCA(self.n_components, random_state=seed).fit(stacked)
        projected = self.pca.transform(stacked)
        low, high = projected.min(axis=0), projected.max(axis=0)
        pad = 0.5 * (high - low) + 1e-6
        self.grid = np.linspace(low - pad, high + pad, GRID_POINTS).T  # (n_components, GRID_POINTS)

    def project(self, mu: np.ndarray) -> np.ndarray:
        return self.pca.transform(np.asarray(mu, dtype=np.float64))

    def densities(self, mu: np.ndarray) -> np.ndarray:
        """(n_components, GRID_POINTS) normalised densities of the μ′ along each axis."""
        projected = self.project(mu)
        out = np.empty_like(self.grid)
        for k in range(self.n_components):
            values = projected[:, k]
            if len(values) < 2 or np.ptp(values) == 0:
                out[k] = np.exp(-0.5 * ((self.grid[k] - values.mean()) / (np.ptp(self.grid[k]) / GRID_POINTS)) ** 2)
            else:
                out[k] = gaussian_kde(values)(self.grid[k])
            out[k] /= out[k].sum()
        return out


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """JSD in bits between two discrete distributions over the same bins, in [0, 1]."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)
    def kl(a: np.ndarray) -> float:
        keep = (a > 0) & (m > 0)  # a subnormal a can give m = a / 2 = 0; its term is below a·1 bit
        return float(np.sum(a[keep] * np.log2(a[keep] / m[keep])))
    return 0.5 * kl(p) + 0.5 * kl(q)


def density_correlation(p: np.ndarray, q: np.ndarray) -> float:
    """Pearson correlation of two densities on the same grid (1 = the same shape)."""
    if p.std() == 0 or q.std() == 0:
        return 0.0
    return float(np.corrcoef(p, q)[0, 1])


def compare(space: FingerprintSpace, rows: Mapping[str, np.ndarray],
            columns: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(JSD, correlation) matrices of shape (len(rows), len(columns)), averaged over the axes."""
    row_d = {name: space.densities(mu) for name, mu in rows.items()}
    col_d = {name: space.densities(mu) for name, mu in columns.items()}
    jsd = np.zeros((len(rows), len(columns)))
    corr = np.zeros_like(jsd)
    for i, r in enumerate(rows):
        for j, c in enumerate(columns):
            jsd[i, j] = np.mean([jensen_shannon(a, b) for a, b in zip(row_d[r], col_d[c])])
            corr[i, j] = np.mean([density_correlation(a, b) for a, b in zip(row_d[r], col_d[c])])
    return jsd, corr


def family(source: str) -> str:
    """A source's GAN family: its name without a trailing seed (``progan_s3`` → ``progan``)."""
    return SEED_SUFFIX.sub("", source) or source


def nearest_columns(jsd: np.ndarray, rows: Sequence[str], columns: Sequence[str]) -> list[str]:
    """For each row, the column of smallest JSD other than itself."""
    out = []
    for i, r in enumerate(rows):
        order = [j for j in np.argsort(jsd[i], kind="stable") if columns[j] != r]
        out.append(columns[order[0]] if order else "")
    return out


def closer_within(rows: Sequence[str], columns: Sequence[str], jsd: np.ndarray,
                  key=family) -> dict[str, float]:
    """Table 2's check: per row, is the mean JSD to columns of the same ``key`` (family) smaller than
    to columns of other keys? Returns the fraction of rows where it is and the mean gap."""
    wins, gaps = [], []
    for i, r in enumerate(rows):
        same = [jsd[i, j] for j, c in enumerate(columns) if key(c) == key(r) and c != r]
        other = [jsd[i, j] for j, c in enumerate(columns) if key(c) != key(r)]
        if same and other:
            wins.append(np.mean(same) < np.mean(other))
            gaps.append(np.mean(other) - np.mean(same))
    return {"fraction_closer": float(np.mean(wins)) if wins else float("nan"),
            "mean_jsd_gap": float(np.mean(gaps)) if gaps else float("nan"), "n_rows": len(wins)}


def plot_matrices(path: Path, rows: Sequence[str], columns: Sequence[str], jsd: np.ndarray,
                  corr: np.ndarray, title: str = "") -> None:
    """The JSD and correlation matrices side by side, values written in the cells."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = (max(6.0, 1.0 + 0.7 * len(columns)) * 2, max(3.0, 1.0 + 0.45 * len(rows)))
    fig, axes = plt.subplots(1, 2, figsize=size)
    for ax, matrix, name, cmap in ((axes[0], jsd, "JSD", "viridis_r"), (axes[1], corr, "correlation", "viridis")):
        image = ax.imshow(matrix, vmin=0, vmax=1, cmap=cmap, aspect="auto")
        ax.set_xticks(range(len(columns)), columns, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
        for i in range(len(rows)):
            for j in range(len(columns)):
                ax.text(j, i, f"{100 * matrix[i, j]:.0f}", ha="center", va="center", fontsize=6,
                        color="white" if (matrix[i, j] > 0.5) == (name == "JSD") else "black")
        ax.set_title(f"{name} (×1e-2)")
        fig.colorbar(image, ax=ax, fraction=0.04)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)


def plot_densities(path: Path, space: FingerprintSpace, fingerprints: Mapping[str, np.ndarray],
                   reference: Sequence[str] = (), title: str = "") -> None:
    """Fig. 5: the 1-D density of each source's μ′ along the first principal axis; a family shares a
    colour, sources in ``reference`` (seen in training) are solid and the others dashed."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = sorted({family(s) for s in fingerprints})
    colours = plt.get_cmap("tab10" if len(families) <= 10 else "tab20")
    fig, ax = plt.subplots(figsize=(8, 4.5))
    grid = space.grid[0]
    step = grid[1] - grid[0]
    for name, mu in fingerprints.items():
        density = space.densities(mu)[0] / step
        ax.plot(grid, density, color=colours(families.index(family(name)) % colours.N),
                linestyle="-" if not reference or name in reference else "--", label=name, linewidth=1.2)
    ax.set_xlabel("first principal component of μ′")
    ax.set_ylabel("density")
    ax.legend(fontsize=6, ncol=2 if len(fingerprints) > 12 else 1)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)
    plt.close(fig)
