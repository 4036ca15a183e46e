"""Table 1/2's unseen-seed question beyond the 1-D PCA of ``families_and_seeds.py``: the same
BFR-VAE (same data, parameters and seed, so the fitted-weights cache gives the same model) compared
on 4 principal axes, and each unseen seed's test images attributed by the plugin's per-source
likelihood (`predict_proba`; training labels are GAN families, as in the paper).

    python docs/results/bfrvae/unseen_seeds.py OUT_DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ganprint.plugins.bfrvae import analysis
from ganprint.plugins.bfrvae.attributor import BFRVAEAttributor
from ganprint.plugins.bfrvae.experiments import analyse
from ganprint.registry import load_registry

sys.path.insert(0, str(Path(__file__).parent))
from families_and_seeds import UNSEEN, joined  # noqa: E402


def main(out: Path) -> None:
    dataset = joined(load_registry())
    reference = [s for s in dataset.sources if s not in UNSEEN]
    summary = analyse(dataset, out, reference=reference, attacks=None, n_components=4)
    print("4 principal axes: nearest source", summary["nearest"])
    print("unseen seeds closer to their family:", summary["unseen_family_closer"])
    train = dataset.load("train", reference)
    model = BFRVAEAttributor(random_state=0).fit(train.images, [analysis.family(s) for s in train.labels])
    test = dataset.load("test")
    attributed = {}
    for source in dataset.sources:
        predicted = model.classes_[model.predict_proba(test.images[np.asarray(test.labels) == source]).argmax(1)]
        names, counts = np.unique(predicted, return_counts=True)
        attributed[source] = {str(n): round(int(c) / len(predicted), 3) for n, c in zip(names, counts)}
        print(f"{source:12s} attributed to {attributed[source]}")
    (out / "attribution.json").write_text(json.dumps(attributed, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
