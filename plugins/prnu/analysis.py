"""The analyses of Marra et al. 2019 (§3 and §4, Figs. 2–6) on any ganprint dataset.

For every source, up to ``max_n`` training residuals estimate the fingerprint and up to
``max_test`` residuals of the other splits (val and test, never used for a fingerprint) are
compared with the fingerprints:

- Fig. 2: the fingerprint estimated from the first N = 2, 8, 32, 128, 512 residuals, amplified
  (and enlarged by an integer factor when it is smaller than ``STRIP_HEIGHT`` pixels);
- Fig. 3: the fingerprint energy E(N) (mean squared value, 0–255 scale) for every N, with the fit
  E(N) = E∞ + E0 / N. The extracted text of eq. 4 reads "E∞ + E0 × 2−N": with N plotted on a
  log2 axis that is 2^−n = 1/N, the decay of the noise energy in a mean of N residuals;
- Fig. 4: the fingerprint's normalised circular autocorrelation;
- Fig. 5: for two generated sources A and B, the correlations of A's residuals with F_A (same)
  and F_B (cross), and the other way round, with the AUC of same versus cross (eqs. 6, 7);
- Fig. 6: the mean residual-to-fingerprint correlation over all pairs of sources (eq. 8).

Beyond the paper's single pair, the same-versus-cross AUC is also given for every ordered pair of
generated sources (A's residuals with F_A against F_B), so the two-GAN figure can be read against
all the pairs a dataset offers rather than one chosen pair.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from matplotlib.figure import Figure
from PIL import Image
from sklearn.metrics import roc_auc_score

from ganprint import REAL
from ganprint.atomic import save_figure, save_image, write_json
from ganprint.dataset import Dataset
from ganprint.plugins.prnu.residual import residuals
from ganprint.plugins.prnu.similarity import correlation

FIGURE_NS = (2, 8, 32, 128, 512)
AMPLITUDE_STDS = 3.0  # an amplified fingerprint saturates at this many standard deviations
STRIP_HEIGHT = 128  # small fingerprints are enlarged (nearest neighbour) to about this many pixels


@dataclass
class SourceAnalysis:
    """What the analyses keep of one source."""

    name: str
    fingerprints: dict[int, np.ndarray] = field(default_factory=dict)  # N -> fingerprint of N residuals
    energies: np.ndarray = field(default_factory=lambda: np.zeros(0))  # E(N) for N = 1, 2, ...
    test_residuals: np.ndarray | None = None

    @property
    def fingerprint(self) -> np.ndarray:
        return self.fingerprints[max(self.fingerprints)]


def prefix_fingerprints(batches: Iterable[np.ndarray], ns: Sequence[int]) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """Fingerprints of the first N residuals for each N in ``ns`` (and for all of them), and E(N).

    ``batches`` yields residual batches (n, H, W) in order; only running sums are kept in memory.
    """
    total: np.ndarray | None = None
    count = 0
    energies: list[np.ndarray] = []
    fingerprints: dict[int, np.ndarray] = {}
    for R in batches:
        R = np.asarray(R, dtype=np.float64)
        running = np.cumsum(R, axis=0) + (0 if total is None else total)
        sizes = count + np.arange(1, len(R) + 1)
        energies.append(np.mean(np.square(running / sizes[:, None, None]), axis=(1, 2)))
        for i, n in enumerate(sizes):
            if n in ns:
                fingerprints[int(n)] = (running[i] / n).astype(np.float32)
        total, count = running[-1], int(sizes[-1])
    if total is None:
        raise ValueError("no residuals to estimate a fingerprint from")
    fingerprints[count] = (total / count).astype(np.float32)
    return fingerprints, np.concatenate(energies)


def fit_energy_limit(energies: np.ndarray) -> tuple[float, float]:
    """(E∞, E0) of the least-squares fit E(N) = E∞ + E0 / N to E(1), E(2), ... (eq. 4)."""
    n = np.arange(1, len(energies) + 1, dtype=np.float64)
    design = np.stack([np.ones_like(n), 1.0 / n], axis=1)
    (limit, initial), *_ = np.linalg.lstsq(design, np.asarray(energies, np.float64), rcond=None)
    return float(limit), float(initial)


def amplify(F: np.ndarray) -> np.ndarray:
    """A fingerprint as a uint8 image: mid-grey at 0, saturating at ±3 standard deviations."""
    spread = float(np.std(F)) or 1.0
    return np.round(127.5 + 127.5 * np.clip(F / (AMPLITUDE_STDS * spread), -1, 1)).astype(np.uint8)


def autocorrelation(F: np.ndarray) -> np.ndarray:
    """Normalised circular autocorrelation of a fingerprint, zero shift at the centre (value 1)."""
    centred = np.asarray(F, np.float64) - np.mean(F)
    spectrum = np.fft.rfft2(centred)
    acf = np.fft.irfft2(np.abs(spectrum) ** 2, s=centred.shape)
    return np.fft.fftshift(acf / acf[0, 0]) if acf[0, 0] > 0 else np.fft.fftshift(acf)


def same_cross_auc(same: np.ndarray, cross: np.ndarray) -> float:
    """AUC of same-source (positive) versus cross-source correlations."""
    truth = np.r_[np.ones(len(same)), np.zeros(len(cross))]
    return float(roc_auc_score(truth, np.r_[same, cross]))


def correlation_matrix(analyses: Sequence[SourceAnalysis]) -> np.ndarray:
    """⟨ρ⟩[A, B]: the mean correlation of A's test residuals with B's fingerprint (eq. 8)."""
    fingerprints = np.stack([a.fingerprint for a in analyses])
    return np.stack([correlation(a.test_residuals, fingerprints).mean(axis=0) for a in analyses])


def analyse_source(dataset: Dataset, source: str, *, max_n: int, max_test: int, batch_size: int,
                   options: dict[str, Any]) -> SourceAnalysis:
    """Fingerprints, energies and held-out residuals of one source of ``dataset``."""
    def residual_batches(records):
        for start in range(0, len(records), batch_size):
            images, _ = dataset.read(records[start:start + batch_size])
            if len(images):
                yield residuals(images, **options)

    train = dataset.select("train", [source])[:max_n]
    held_out = (dataset.select("val", [source]) + dataset.select("test", [source]))[:max_test]
    fingerprints, energies = prefix_fingerprints(residual_batches(train), FIGURE_NS)
    test = list(residual_batches(held_out))
    return SourceAnalysis(source, fingerprints, energies, np.concatenate(test) if test else None)


def pairwise_auc(analyses: Sequence[SourceAnalysis]) -> np.ndarray:
    """AUC[A, B] of corr(R_A, F_A) (same) against corr(R_A, F_B) (cross); NaN on the diagonal."""
    fingerprints = np.stack([a.fingerprint for a in analyses])
    out = np.full((len(analyses), len(analyses)), np.nan)
    for i, a in enumerate(analyses):
        scores = correlation(a.test_residuals, fingerprints)
        for j in range(len(analyses)):
            if j != i:
                out[i, j] = same_cross_auc(scores[:, i], scores[:, j])
    return out


def _save_fingerprint_strip(analysis: SourceAnalysis, path: Path) -> list[int]:
    ns = sorted(analysis.fingerprints)
    shown = [n for n in FIGURE_NS if n in analysis.fingerprints] or ns[-1:]
    if ns[-1] not in shown:
        shown.append(ns[-1])
    zoom = max(1, STRIP_HEIGHT // analysis.fingerprints[shown[0]].shape[0])
    tiles = [np.kron(amplify(analysis.fingerprints[n]), np.ones((zoom, zoom), np.uint8)) for n in shown]
    gap = np.full((tiles[0].shape[0], 2 * zoom), 255, np.uint8)
    strip = np.concatenate([x for tile in tiles for x in (tile, gap)][:-1], axis=1)
    save_image(Image.fromarray(strip), path)
    return shown


def _plot_energy(analyses: Sequence[SourceAnalysis], fits: dict[str, tuple[float, float]], path: Path) -> None:
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for a in analyses:
        n = np.arange(1, len(a.energies) + 1)
        limit, initial = fits[a.name]
        line, = ax.plot(n, a.energies, label=f"{a.name} E(N)")
        ax.plot(n, limit + initial / n, "--", color=line.get_color(), label=f"{a.name} fit, E∞={limit:.4g}")
    ax.set(xscale="log", yscale="log", xlabel="N (residuals averaged)", ylabel="fingerprint energy")
    ax.legend(fontsize="small")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def _plot_autocorrelation(analyses: Sequence[SourceAnalysis], path: Path) -> None:
    fig = Figure(figsize=(3 * len(analyses), 3.2))
    for i, a in enumerate(analyses):
        ax = fig.add_subplot(1, len(analyses), i + 1)
        acf = autocorrelation(a.fingerprint)
        ax.imshow(acf, cmap="gray", vmin=-np.abs(acf).max() / 4, vmax=np.abs(acf).max() / 4)
        ax.set_title(f"{a.name} (N={max(a.fingerprints)})", fontsize="small")
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def _plot_histograms(pairs: dict[str, tuple[np.ndarray, np.ndarray, float]], path: Path) -> None:
    fig = Figure(figsize=(5 * len(pairs), 3.5))
    for i, (name, (same, cross, auc)) in enumerate(pairs.items()):
        ax = fig.add_subplot(1, len(pairs), i + 1)
        bins = np.histogram_bin_edges(np.r_[same, cross], bins=40)
        ax.hist(same, bins=bins, color="tab:green", alpha=0.7, label="same source")
        ax.hist(cross, bins=bins, color="tab:red", alpha=0.7, label="cross source")
        ax.set(title=f"{name} residuals, AUC {auc:.3f}", xlabel="correlation", ylabel="images")
        ax.legend(fontsize="small")
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def _plot_matrix(names: Sequence[str], matrix: np.ndarray, path: Path) -> None:
    size = 2.5 + 0.5 * len(names)
    fig = Figure(figsize=(size, size))
    ax = fig.add_subplot()
    image = ax.imshow(matrix, cmap="viridis")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize="small")
    ax.set_yticks(range(len(names)), names, fontsize="small")
    ax.set(xlabel="fingerprint", ylabel="residuals")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    save_figure(fig, path, dpi=120)


def two_source_experiment(a: SourceAnalysis, b: SourceAnalysis) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """Same- versus cross-source correlations and their AUC for A's and for B's residuals (§3)."""
    out = {}
    for this, other in ((a, b), (b, a)):
        scores = correlation(this.test_residuals, np.stack([this.fingerprint, other.fingerprint]))
        out[this.name] = (scores[:, 0], scores[:, 1], same_cross_auc(scores[:, 0], scores[:, 1]))
    return out


def analyse(
    dataset: Dataset,
    out: Path,
    *,
    sources: Sequence[str] | None = None,
    pair: Sequence[str] | None = None,
    max_n: int = 512,
    max_test: int = 512,
    batch_size: int = 64,
    levels: int = 4,
    sigma: float = 5.0,
    zero_mean: bool = False,
    wiener_dft: bool = False,
) -> dict[str, Any]:
    """Run every analysis on ``dataset``, write the PNGs and ``summary.json`` to ``out``; return the summary.

    ``sources`` defaults to all of the dataset's; ``pair`` (the two-GAN experiment) to its first
    two generated sources.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sources = list(sources or dataset.sources)
    unknown = sorted(set(sources) - set(dataset.sources))
    if unknown:
        raise ValueError(f"dataset {dataset.name!r} has no source {', '.join(unknown)} "
                         f"(it has {', '.join(dataset.sources)})")
    if pair and (len(pair) != 2 or any(p not in sources for p in pair) or max_test == 0):
        raise ValueError(f"pair must name two analysed sources with held-out images; got {list(pair)}")
    options = dict(levels=levels, sigma=sigma, zero_mean=zero_mean, wiener_dft=wiener_dft)
    analyses = [analyse_source(dataset, s, max_n=max_n, max_test=max_test, batch_size=batch_size,
                               options=options) for s in sources]
    by_name = {a.name: a for a in analyses}
    summary: dict[str, Any] = {"dataset": dataset.name, "content_hash": dataset.content_hash(),
                               "residual": options, "sources": {}}

    fits = {a.name: fit_energy_limit(a.energies) for a in analyses}
    for a in analyses:
        shown = _save_fingerprint_strip(a, out / f"fingerprint_{a.name}.png")
        summary["sources"][a.name] = {
            "n_fingerprint": int(max(a.fingerprints)), "n_test": 0 if a.test_residuals is None else len(a.test_residuals),
            "fingerprint_ns_shown": shown, "energy": float(a.energies[-1]),
            "energy_limit": fits[a.name][0], "energy_e0": fits[a.name][1],
        }
    _plot_energy(analyses, fits, out / "energy.png")
    _plot_autocorrelation(analyses, out / "autocorrelation.png")

    tested = [a for a in analyses if a.test_residuals is not None]
    if tested:
        matrix = correlation_matrix(tested)
        _plot_matrix([a.name for a in tested], matrix, out / "correlation_matrix.png")
        summary["correlation_matrix"] = {"sources": [a.name for a in tested], "matrix": matrix.tolist()}

    if pair and (len(pair) != 2 or any(p not in by_name or by_name[p].test_residuals is None for p in pair)):
        raise ValueError(f"pair must name two analysed sources with held-out images; got {list(pair)}")
    pair = list(pair) if pair else [a.name for a in tested if a.name != REAL][:2]
    if len(pair) == 2:
        experiment = two_source_experiment(by_name[pair[0]], by_name[pair[1]])
        _plot_histograms(experiment, out / "same_vs_cross.png")
        summary["two_source"] = {"pair": pair, "auc": {k: v[2] for k, v in experiment.items()}}
    generated = [a for a in tested if a.name != REAL]
    if len(generated) >= 2:
        aucs = pairwise_auc(generated)
        summary["pairwise_auc"] = {"sources": [a.name for a in generated],
                                   "auc": [[None if np.isnan(v) else float(v) for v in row] for row in aucs]}
    write_json(out / "summary.json", summary)
    return summary
