"""Everything ``bench stega eval`` reports for one preset (Yu et al. 2021, Tables 1–2, Fig. 3,
App. A.2), written as ``stega_report.json`` and sweep PNGs into a folder; run again, it resumes
after the last finished step.

Image perturbations go through the attacks plugin's fixed-strength attacks and the shared sweep
machinery (``ganprint.sweep``); the "Data" curves (fingerprinted real crops) are the
paper's upper-bound references. Model perturbations are this plugin's ``weight_quantize`` and
``weight_noise`` on the fingerprinted generator of one family, with SWD against strength.
"""
from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from ganprint import REAL
from ganprint.atomic import save_figure, write_text
from ganprint.dataset import ArrayDataset
from ganprint.plugins.stega import evaluation
from ganprint.plugins.stega.perturb import WeightNoise, WeightQuantization
from ganprint.plugins.stega.pipeline import StegaPreset, stega_dataset, transfer_curve

IMAGE_SWEEPS = {
    "noise": ("std", [0.0, 2.0, 5.0, 10.0, 20.0, 40.0]),
    "blur": ("kernel_size", [1, 3, 5, 7, 9]),
    "jpeg": ("quality", [95, 90, 75, 50, 30, 10]),
    "crop": ("size", [32, 30, 28, 26, 24, 20]),  # at 32 px; scaled to the preset's crops
}
MODEL_SWEEPS = {
    "weight_quantize": (WeightQuantization, "precision", [0.001, 0.01, 0.05, 0.1, 0.2, 0.5]),
    "weight_noise": (WeightNoise, "std", [0.0, 0.01, 0.02, 0.05, 0.1, 0.2]),
}


def image_sweep_strengths(image_size: int) -> dict[str, tuple[str, list]]:
    """:data:`IMAGE_SWEEPS` for crops of ``image_size``: the crop sizes keep their fraction of the
    side (the other strengths are absolute)."""
    param, sizes = IMAGE_SWEEPS["crop"]
    return IMAGE_SWEEPS | {"crop": (param, [round(size * image_size / 32) for size in sizes])}


def image_sweeps(p: StegaPreset, out: Path, family: str, n_data: int = 200) -> dict[str, Any]:
    """Bitwise accuracy of the ``stega`` attributor on the samples of one fingerprinted GAN of
    zoo:stega (the paper sweeps one GAN) and on fingerprinted real crops, under each image attack
    at fixed strengths; PNG per attack."""
    from ganprint import protocol
    from ganprint.plugins.stega.attributor import StegaAttributor
    from ganprint.registry import load_registry
    from ganprint.sweep import attack_sweep, plot_sweep

    factories = {name: spec.factory for name, spec in load_registry().attacks.items()}
    full = stega_dataset(p.name)
    keep = [i for i, r in enumerate(full.records()) if r.source in (REAL, family)]
    gan_data = ArrayDataset(f"{full.name}/{family}", full.images[keep], [full.records()[i].source for i in keep],
                            [full.records()[i].split for i in keep], bits=[full.records()[i].bits for i in keep])
    real_data = evaluation.fingerprinted_real_dataset(p, n_data)
    fitted_gan = protocol.prepare(partial(StegaAttributor, model=p.name), gan_data, seed=p.seed)
    fitted_data = protocol.FittedMethod(fitted_gan.method)
    results = {}
    for attack, (param, strengths) in image_sweep_strengths(p.stega.image_size).items():
        curves = [attack_sweep(fitted, data, factories[attack], param, strengths, seed=p.seed,
                               metric="fingerprint.bitwise_acc", label=label, perturbation=attack)
                  for label, fitted, data in ((f"{family} samples", fitted_gan, gan_data),
                                              ("fingerprinted real (upper bound)", fitted_data, real_data))]
        plot_sweep(curves, out / f"sweep_{attack}.png", title=f"Fingerprint bits under {attack} (zoo:stega:{p.name})")
        results[attack] = [c.as_dict() | {"working_range": c.describe_range()} for c in curves]
    return results


def model_sweeps(p: StegaPreset, out: Path, family: str) -> dict[str, Any]:
    """Bitwise accuracy and SWD of a perturbed fingerprinted generator; PNG per perturbation."""
    from ganprint.sweep import SweepCurve, plot_sweep

    results = {}
    for name, (factory, param, strengths) in MODEL_SWEEPS.items():
        curve = evaluation.model_perturbation_curve(p, family, factory, param, strengths)
        bits = SweepCurve(family, name, param, "bitwise_acc", list(strengths), curve["bitwise_acc"])
        plot_sweep([bits], out / f"sweep_{name}.png", title=f"{family} generator under {name}")
        _plot_swd(strengths, curve["swd"], param, name, out / f"swd_{name}.png")
        results[name] = curve | {"working_range": bits.describe_range()}
    return results


def _plot_swd(strengths, values, param: str, name: str, path: Path) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5, 4.0), layout="constrained")
    axes = figure.add_subplot()
    axes.plot(strengths, values, marker="o")
    axes.set_xlabel(f"{name}: {param}")
    axes.set_ylabel("SWD ×10³ to the unperturbed generator")
    axes.grid(alpha=0.3)
    save_figure(figure, path, dpi=120)


def full_report(p: StegaPreset, out: Path, n: int = 500, sweep_family: str | None = None) -> dict[str, Any]:
    """Tables 1–2, the sweeps, secrecy and the transfer curves recorded in training for preset ``p``;
    written to ``out/stega_report.json``."""
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"preset": p.as_dict()}
    saved = out / "stega_report.json"
    if saved.exists() and json.loads(saved.read_text()).get("preset") == json.loads(json.dumps(p.as_dict())):
        report = json.loads(saved.read_text())  # an interrupted report resumes after its last finished step
    steps = [("table1", lambda: evaluation.table1(p, n)),
             ("table2", lambda: evaluation.attribution_table(p, n)),
             ("secrecy", lambda: evaluation.secrecy(p, n_estimate=2 * n, n_test=n)),
             ("model_sweeps", lambda: model_sweeps(p, out, sweep_family or p.families[0])),
             ("image_sweeps", lambda: image_sweeps(p, out, sweep_family or p.families[0])),
             ("transfer_curves", lambda: {f: transfer_curve(p, f) for f in p.families})]
    for key, run in steps:
        if key in report:
            continue
        report[key] = run()
        write_text(out / "stega_report.json", json.dumps(report, indent=1, default=str))
    return report
