"""The experiments of Ding, Thakur and Li §5.2 on a ganprint dataset, as one function.

BFR-VAE is trained on the train split of the *reference* sources (Table 1: every GAN with two seeds;
Table 2: two seeds per family). Its triplet loss (eq. 4) pulls together images "from the same GAN",
so by default the training labels are the sources' families (the name without its seed suffix) and
seeds of one GAN are not pushed apart; ``by_family=False`` trains on the source labels instead.
The μ′ of the test split of every source are then compared with those of each reference source
(:mod:`~ganprint.plugins.bfrvae.analysis`):

- Tables 1/2: a "JSD / correlation" table and PNG matrix, rows every source (seen first, then
  unseen), columns the reference sources; for unseen sources, whether they are closer to the seen
  seeds of their own family than to other families (family = name without its seed suffix);
- Fig. 5: the 1-D PCA density of each source;
- Table 3: the same comparison with each reference source's test images under each attack (rows
  ``source(attack)``), and how often a source's attacked fingerprints are closest to its own clean ones.
"""
from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ganprint.atomic import write_json
from ganprint.dataset import Dataset
from ganprint.interfaces import Attack
from ganprint.protocol import attack_rng
from ganprint.seeding import seed_everything
from ganprint.plugins.bfrvae import analysis
from ganprint.plugins.bfrvae.attributor import BFRVAEAttributor


def select_sources(sources: Sequence[str], patterns: Sequence[str] | None) -> list[str]:
    """The sources matching any of the glob ``patterns`` (all sources when None), in dataset order."""
    if not patterns:
        return list(sources)
    chosen = [s for s in sources if any(fnmatch.fnmatchcase(s, p) for p in patterns)]
    missing = [p for p in patterns if not any(fnmatch.fnmatchcase(s, p) for s in sources)]
    if missing:
        raise ValueError(f"no source matches {missing}; the sources are {list(sources)}")
    return chosen


def _by_source(images: np.ndarray, labels: np.ndarray, limit: int | None) -> dict[str, np.ndarray]:
    out = {}
    for source in dict.fromkeys(labels.tolist()):
        rows = np.flatnonzero(labels == source)
        out[source] = images[rows[:limit] if limit else rows]
    return out


def _comparison(space: analysis.FingerprintSpace, rows: Mapping[str, np.ndarray],
                columns: Mapping[str, np.ndarray]) -> dict[str, Any]:
    jsd, corr = analysis.compare(space, rows, columns)
    return {"rows": list(rows), "columns": list(columns), "jsd": jsd.tolist(), "correlation": corr.tolist()}


def analyse(
    dataset: Dataset,
    out: Path,
    *,
    reference: Sequence[str] | None = None,
    attacks: Mapping[str, Attack] | None = None,
    n_components: int = 1,
    max_per_source: int | None = None,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    by_family: bool = True,
) -> dict[str, Any]:
    """Train on ``reference`` (globs; default every source), write tables, PNGs and summary.json
    to ``out`` and return the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seen = select_sources(dataset.sources, reference)
    train = dataset.load("train", seen)
    seed_everything(seed)
    labels = np.array([analysis.family(s) for s in train.labels]) if by_family else train.labels
    model = BFRVAEAttributor(**{"random_state": seed, **dict(params or {})}).fit(train.images, labels)
    test = dataset.load("test")
    images = _by_source(test.images, test.labels, max_per_source)
    fingerprints = {s: model.fingerprints(x)[0] for s, x in images.items()}
    ordered = [s for s in seen if s in fingerprints] + [s for s in fingerprints if s not in seen]
    columns = {s: fingerprints[s] for s in seen if s in fingerprints}
    space = analysis.FingerprintSpace(columns, n_components, seed)
    rows = {s: fingerprints[s] for s in ordered}
    clean = _comparison(space, rows, columns)
    jsd = np.asarray(clean["jsd"])
    unseen = [s for s in ordered if s not in seen]
    summary: dict[str, Any] = {
        "dataset": dataset.name, "content_hash": dataset.content_hash(), "seed": seed,
        "params": model.get_params(), "n_components": n_components, "reference": seen,
        "training_labels": model.classes_.tolist(),
        "n_test": {s: int(len(x)) for s, x in images.items()},
        "best_epoch": model.history_.get("best_epoch"), "clean": clean,
        "nearest": dict(zip(ordered, analysis.nearest_columns(jsd, ordered, list(columns)))),
        "seen_family_closer": analysis.closer_within(seen, list(columns), jsd[:len(seen)]),
    }
    if unseen:
        summary["unseen_family_closer"] = analysis.closer_within(unseen, list(columns), jsd[len(seen):])
    analysis.plot_matrices(out / "jsd_correlation.png", ordered, list(columns), jsd,
                           np.asarray(clean["correlation"]), f"BFR-VAE fingerprints, {dataset.name}")
    analysis.plot_densities(out / "pca_density.png", space, rows, reference=seen,
                            title=f"μ′ along the first principal axis, {dataset.name}")
    summary["attacks"] = {}
    for name, attack in (attacks or {}).items():
        attacked = {f"{s}({name})": model.fingerprints(attack(images[s], attack_rng(seed, name)))[0]
                    for s in columns}
        result = _comparison(space, attacked, columns)
        attacked_jsd = np.asarray(result["jsd"])
        names = list(columns)
        nearest = [names[int(np.argmin(attacked_jsd[i]))] for i in range(len(names))]
        result["own_source_closest"] = float(np.mean([n == s for n, s in zip(nearest, names)]))
        result["own_family_closest"] = float(np.mean([analysis.family(n) == analysis.family(s)
                                                      for n, s in zip(nearest, names)]))
        result["attack"] = repr(attack)
        summary["attacks"][name] = result
        analysis.plot_matrices(out / f"jsd_correlation_{name}.png", list(attacked), list(columns),
                               attacked_jsd, np.asarray(result["correlation"]),
                               f"BFR-VAE fingerprints under {name}, {dataset.name}")
    write_json(out / "summary.json", summary, default=str)
    return summary
