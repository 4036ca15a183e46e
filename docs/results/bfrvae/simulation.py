"""The §4 simulation of Ding, Thakur and Li on a small scale: three sets of photo crops with sine-wave
"fingerprints" of orientations 0°, 60° and 120°; BFR-VAE trained on the training crops, the μ′ of
held-out crops compared per set (JSD / correlation matrix and the 1-D PCA densities of Fig. 3).

    python docs/results/bfrvae/simulation.py OUT_DIR [N_TRAIN_PER_SET]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ganprint.plugins.bfrvae import analysis
from ganprint.plugins.bfrvae.attributor import BFRVAEAttributor
from ganprint.plugins.bfrvae.simulation import simulated_sources

PARAMS = dict(width=16, latent_dim=32, max_epochs=10, cache=False)


def main(out: Path, n_train: int = 100) -> None:
    import torch

    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    X, y = simulated_sources(n_train, seed=0)
    X_test, y_test = simulated_sources(max(2, n_train // 4), seed=1)
    results = {}
    for name, lambda2 in (("bfrvae", 100.0), ("no_triplet", 0.0)):
        model = BFRVAEAttributor(**PARAMS, lambda2=lambda2).fit(X, y)
        sets = list(model.classes_)
        train_mu, test_mu = model.fingerprints(X)[0], model.fingerprints(X_test)[0]
        columns = {s: train_mu[y == s] for s in sets}
        rows = {f"{s} test": test_mu[y_test == s] for s in sets}
        space = analysis.FingerprintSpace(columns, 1)
        jsd, corr = analysis.compare(space, rows, columns)
        results[name] = {"lambda2": lambda2, "accuracy": float((model.predict(X_test) == y_test).mean()),
                         "rows": list(rows), "columns": sets, "jsd": jsd.round(4).tolist(),
                         "correlation": corr.round(4).tolist()}
        if name == "bfrvae":
            analysis.plot_matrices(out / "simulation_jsd_correlation.png", list(rows), sets, jsd, corr,
                                   "simulation: held-out sets vs training sets")
            train_named = {f"{s} train": mu for s, mu in columns.items()}  # names without a seed suffix
            analysis.plot_densities(out / "simulation_pca_density.png", space, {**train_named, **rows},
                                    reference=list(train_named),
                                    title="simulation: μ′ along the first principal axis (dashed: held out)")
    (out / "simulation.json").write_text(json.dumps({"n_train_per_set": n_train, "params": PARAMS, **results}, indent=2))
    for name, r in results.items():
        print(f"{name} (lambda2={r['lambda2']}): held-out accuracy {r['accuracy']:.3f}; "
              f"JSD own set {np.diag(r['jsd']).round(3).tolist()}, "
              f"JSD other sets min {np.min(np.asarray(r['jsd'])[~np.eye(3, dtype=bool)]):.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), *(int(a) for a in sys.argv[2:3]))
