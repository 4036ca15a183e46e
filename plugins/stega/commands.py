"""``bench stega``: the artificial-fingerprint pipeline of Yu et al. 2021 on the GAN zoo.

- ``bench stega build [--preset default] [--families dcgan,...] [--controls dcgan] [--jobs 2]``:
  trains (or resumes) the steganography model, the fingerprinted generators and the clean controls
  (``--jobs`` at a time), and builds the ``zoo:stega`` dataset; each step is cached, an interrupted
  run continues;
- ``bench stega eval --out DIR``: Tables 1–2, secrecy, and the robustness sweeps (PNGs) into DIR;
- ``bench stega ats [--preset default] [--seed 1] [--n 250] [--out DIR]``: the secrecy test of the
  paper's App. A.2 (the ATS attack, ``ats``) with an encoder trained from another seed, beside the
  averaging attacks (removal and forgery by mean residuals) from GAN samples and from real crops;
- ``bench stega recipe --noise 0.2 --lambda 45 ...``: one row of the training-recipe study
  (docs/results/stega): a steganography config, one GAN on its crops, the share of bits it carries;
- ``bench stega-ship [--preset P]`` (maintenance): copies the trained fingerprinted generators into
  the package.

Registered by the plugin through the ``ganprint_commands`` hook.
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from tabulate import tabulate

from ganprint.commands import (
    UsageError,
    add_out_argument,
    check_output_dir,
    names,
    non_negative_float,
    non_negative_int,
    positive_int,
    unit_interval,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="stega_command", metavar="COMMAND")
    commands.required = True
    build = commands.add_parser("build", help="train / resume the pipeline and build zoo:stega")
    build.add_argument("--preset", default="default", help="zoo:stega preset")
    build.add_argument("--families", default=None, help="comma list of families to train (default: every publisher of the preset)")
    build.add_argument("--controls", default="", help="comma list of families whose clean control to train")
    build.add_argument("--no-dataset", action="store_true", help="train only, do not sample the dataset")
    build.add_argument("--jobs", type=positive_int, default=min(2, os.cpu_count() or 1),
                       help="generators trained at once, one process and one thread each (default: up to 2)")
    build.set_defaults(handler=run_build)
    evaluate = commands.add_parser("eval", help="Tables 1-2, secrecy and robustness sweeps")
    evaluate.add_argument("--preset", default="default", help="zoo:stega preset")
    add_out_argument(evaluate, "folder for stega_report.json and the PNGs")
    evaluate.add_argument("--n", type=positive_int, default=500, help="images per source and table")
    evaluate.add_argument("--sweep-family", default=None,
                          help="the publisher whose generator the robustness sweeps perturb (default: the preset's first)")
    evaluate.set_defaults(handler=run_eval)
    ats = commands.add_parser("ats", help="the ATS secrecy test (App. A.2) beside the averaging attacks")
    ats.add_argument("--preset", default="default", help="zoo:stega preset")
    ats.add_argument("--seed", type=non_negative_int, default=1,
                     help="seed of the attacker's independently trained encoder (not the preset's)")
    ats.add_argument("--attacker-recipe", default="full", choices=("full", "base"),
                     help="the attacker's encoder: the preset's whole recipe, or its stage 1 alone calibrated "
                          "to the preset's PSNR target (cheaper)")
    ats.add_argument("--n", type=positive_int, default=250, help="fingerprinted and clean images each (the paper: 250)")
    ats.add_argument("--controls", default="dcgan",
                     help="comma list of publishers whose fingerprinted vs clean-control samples are attacked")
    ats.add_argument("--clean-iterations", type=positive_int, default=None,
                     help="train the clean controls this long instead of the preset's iterations")
    ats.add_argument("--publisher-control", action="store_true",
                     help="also attack with the publisher's own encoder (the leak a private encoder excludes)")
    ats.add_argument("--no-averaging", action="store_true", help="the ATS attack only, not the averaging attacks")
    ats.add_argument("--out", type=Path, default=None, help="folder for stega_ats.json (default: print only)")
    ats.set_defaults(handler=run_ats)
    recipe = commands.add_parser("recipe", help="train one steganography config and one GAN on its crops; print the transfer")
    recipe.add_argument("--family", default="dcgan", help="GAN family")
    recipe.add_argument("--iterations", type=positive_int, default=4000, help="GAN iterations")
    recipe.add_argument("--gan-width", type=positive_int, default=16, help="GAN channel width")
    recipe.add_argument("--gan-ema", type=unit_interval, default=None, help="GAN generator moving-average decay, in [0, 1)")
    recipe.add_argument("--gan-precision", default="", choices=("", "bf16"),
                        help="GAN training arithmetic: float32, or bfloat16 autocast (fast on CPUs with AMX)")
    recipe.add_argument("--bits", type=positive_int, default=32, help="fingerprint length")
    recipe.add_argument("--image-size", type=positive_int, default=32, help="crop side, of the model and the GAN")
    recipe.add_argument("--decoder-init", default="", choices=("", "he"),
                        help="initialisation of the decoder's convolutions: torch's default or He's (needed at 64 px)")
    recipe.add_argument("--epochs", type=positive_int, default=8, help="steganography epochs")
    recipe.add_argument("--lambda", dest="lambda_final", type=non_negative_float, default=40.0, help="final λ of the MSE term")
    recipe.add_argument("--noise", type=non_negative_float, default=0.0, help="std of the training-time noise before the decoder")
    recipe.add_argument("--blur", type=non_negative_float, default=0.0, help="max sigma of the training-time blur before the decoder")
    recipe.add_argument("--jpeg-min", type=non_negative_int, default=0,
                        help="straight-through JPEG before the decoder, quality uniform in [this, 95] (0: off)")
    recipe.add_argument("--crop-min", type=unit_interval, default=0.0,
                        help="random crop resized back before the decoder, side fraction in [this, 1] (0: off)")
    recipe.add_argument("--crop-centre", action="store_true",
                        help="centre that crop (Yu 2021's centre cropping) instead of placing it at random")
    recipe.add_argument("--independence-weight", type=non_negative_float, default=0.0,
                        help="weight of the penalty on the fingerprint's image-independent share (0: off)")
    recipe.add_argument("--finetune-lambda", type=non_negative_float, default=None, help="then fine-tune at this λ")
    recipe.add_argument("--finetune-epochs", type=positive_int, default=8, help="epochs of the fine-tune")
    recipe.add_argument("--psnr-target", type=non_negative_float, default=0.0,
                        help="calibrate the residual strength to this val PSNR in dB (of the fine-tune if any)")
    recipe.add_argument("--decoder-epochs", type=non_negative_int, default=0,
                        help="then train the decoder alone this many epochs on fainter fingerprints")
    recipe.add_argument("--attenuation", type=unit_interval, default=0.3,
                        help="weakest residual strength the decoder phase trains on")
    recipe.add_argument("--n", type=positive_int, default=500, help="images scored")
    recipe.set_defaults(handler=run_recipe)


def run(args: argparse.Namespace) -> int:
    return args.handler(args)


def add_ship_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="default", help="zoo:stega preset")


def _publishers(p: Any, families: list[str]) -> list[str]:
    """``families``, each a publisher of preset ``p`` (else a usage error)."""
    try:
        return p.publishers(families)
    except ValueError as error:
        raise UsageError(str(error)) from error


def _preset(name: str) -> Any:
    from ganprint.plugins.stega import pipeline

    try:
        return pipeline.preset(name)
    except ValueError as error:
        raise UsageError(str(error)) from error


def run_build(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)
    from ganprint.plugins.stega import pipeline

    p = _preset(args.preset)
    families, controls = names(args.families) or list(p.families), names(args.controls)
    _publishers(p, families + controls)
    pipeline.train_generators(p, families, controls, jobs=args.jobs)
    for family in families:
        _, meta = pipeline.fingerprinted_generator(p, family)
        print(f"{family}: fingerprinted generator ready ({meta['config']['iterations']} iterations)")
    for family in controls:
        pipeline.clean_generator(p, family)
        print(f"{family}: clean control ready")
    if not args.no_dataset:
        dataset = pipeline.stega_dataset(p.name)
        print(f"{dataset.name}: {len(dataset.records())} images, hash {dataset.content_hash()}")
    return 0


def run_ship(args: argparse.Namespace) -> int:
    from ganprint.plugins.stega import pipeline

    folder = pipeline.ship(_preset(args.preset))
    print(f"shipped generators and manifest in {folder}")
    return 0


def run_recipe(args: argparse.Namespace) -> int:
    import json

    import torch

    torch.set_num_threads(1)
    from ganprint.datasets import GeneratorConfig
    from ganprint.plugins.stega import evaluation, pipeline, train
    try:  # every setting is checked before the steganography model trains
        config = train.StegaConfig(n_bits=args.bits, image_size=args.image_size, decoder_init=args.decoder_init,
                                   max_epochs=args.epochs, lambda_final=args.lambda_final,
                                   noise_std=args.noise, blur_sigma=args.blur, secrecy_weight=0.0,
                                   jpeg_min_quality=args.jpeg_min, crop_min=args.crop_min,
                                   crop_centre=args.crop_centre, independence_weight=args.independence_weight)
        GeneratorConfig(args.family, image_size=args.image_size, width=args.gan_width, iterations=args.iterations,
                        ema=args.gan_ema, precision=args.gan_precision)
    except ValueError as error:
        raise UsageError(str(error)) from error
    base = None
    if args.finetune_lambda is not None:
        base, config = config, pipeline.refined(config, max_epochs=args.finetune_epochs,
                                                lambda_final=args.finetune_lambda, psnr_target=args.psnr_target)
    else:
        config = replace(config, psnr_target=args.psnr_target)
    if args.decoder_epochs:
        config = replace(config, decoder_epochs=args.decoder_epochs, attenuation=args.attenuation)
    row = evaluation.recipe_trial(config, args.family, args.iterations, base=base, n=args.n,
                                                         gan_width=args.gan_width, gan_ema=args.gan_ema,
                                                         gan_precision=args.gan_precision)
    print(json.dumps({"config": config.as_dict()} | row))
    return 0


def _averaging_attacks(p: Any, n: int) -> dict[str, Any]:
    """The averaging attacks (removal and forgery by mean residuals; ``evaluation.secrecy`` and
    ``evaluation.data_secrecy``), the estimate from 4n images (1000 at the paper's n), scored on n;
    printed, and returned for the report."""
    from ganprint.plugins.stega import evaluation

    averaging = evaluation.secrecy(p, n_estimate=4 * n, n_test=n, strengths=(1.0, 4.0))
    real = evaluation.data_secrecy(p.stega, n_estimate=4 * n, n_test=n)
    keys = ("removal_residual_x1", "removal_residual_x4", "forgery_residual_x1", "forgery_residual_x4",
            "forged_as_publisher_residual_x1")
    print(f"\nAveraging attacks, the estimate from {4 * n} GAN samples, bitwise on {n} "
          "(removal: GAN samples; forgery: real crops)\n"
          + _table([{"family": row["family"], "gan_bitwise": row["gan_bitwise"]} | {k: row[k] for k in keys}
                    for row in averaging]))
    print(f"\nAveraging attacks, the estimate from {4 * n} fingerprinted real crops, bitwise on {n}\n" + _table(
        [{k: real[k] for k in ("bitwise", "psnr", "image_independent_share", "removal_residual", "forgery_residual",
                               "removal_oracle", "forgery_oracle")}]))
    return {"averaging_gan": averaging, "averaging_real": real}


def run_ats(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)
    from ganprint.atomic import write_text
    from ganprint.plugins.stega import evaluation, pipeline
    from ganprint.plugins.stega.weights import get_model

    p = _preset(args.preset)
    controls = _publishers(p, names(args.controls))
    try:
        *bases, _ = pipeline.independent_configs(p, args.seed)
    except (ValueError, FileNotFoundError) as error:
        raise UsageError(str(error)) from error
    if args.out is not None:
        check_output_dir(args.out, files=("stega_ats.json",))
    try:
        result = {"preset": p.name, "n": args.n} | evaluation.ats_secrecy(p, args.seed, args.n, controls,
                                                                          args.attacker_recipe, args.clean_iterations,
                                                                          args.publisher_control)
    except ValueError as error:  # a clean control's checkpoint past --clean-iterations
        raise UsageError(str(error)) from error
    before = bases if args.attacker_recipe == "full" else bases[:-1]  # the stages before the attacker's own
    if before:
        result["attacker"]["base_train_seconds"] = sum(get_model(base).manifest.get("train_seconds") or 0
                                                       for base in before)
    attacker = result["attacker"]
    print(f"attacker's encoder: seed {args.seed}, recipe {args.attacker_recipe}, val bitwise "
          f"{attacker['val']['bitwise_acc']:.3f}, {attacker['psnr_on_test_crops']:.2f} dB on the clean test crops; trained in "
          + " + ".join(f"{attacker[k]:.0f} s" for k in ("base_train_seconds", "train_seconds") if attacker.get(k)))
    print("\nATS attack (Yu 2021 App. A.2; chance 0.5, the paper 0.502)\n" + _table(
        [{k: v for k, v in row.items() if k != "svm_params"} for row in result["rows"]]))
    if not args.no_averaging:
        result |= _averaging_attacks(p, args.n)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        write_text(args.out / "stega_ats.json", json.dumps(result, indent=1, default=str))
        print(f"\nwritten to {args.out / 'stega_ats.json'}")
    return 0


def _table(rows: list[dict[str, Any]]) -> str:
    return tabulate(rows, headers="keys", floatfmt=".3f", tablefmt="github")


def run_eval(args: argparse.Namespace) -> int:
    import torch

    from ganprint.plugins.stega import report as reports

    check_output_dir(args.out, files=("stega_report.json",))
    torch.set_num_threads(1)
    p = _preset(args.preset)
    if args.sweep_family is not None:
        _publishers(p, [args.sweep_family])
    report = reports.full_report(p, args.out, n=args.n, sweep_family=args.sweep_family)
    print("Table 1 (transfer and fidelity)\n" + _table(report["table1"]))
    table2 = report["table2"]
    print("\nTable 2 (by fingerprint)\n" + _table([{"protocol": k, **{m: v for m, v in d.items() if m != "held_out"}}
                                                 for k, d in table2.items()]))
    print("\nSecrecy\n" + _table(report["secrecy"]))
    for name, curve in report["model_sweeps"].items():
        print(f"\n{name}: working range {curve['working_range']}; bitwise {curve['bitwise_acc']}; swd {curve['swd']}")
    for name, curves in report["image_sweeps"].items():
        for curve in curves:
            print(f"{name} [{curve['label']}]: {curve['working_range']}; values {curve['values']}")
    for family, curve in report["transfer_curves"].items():
        if curve:
            print(f"{family} bits carried while training: " + ", ".join(f"{i}: {v:.3f}" for i, v in curve.items()))
    print(f"\nwritten to {args.out}")
    return 0
