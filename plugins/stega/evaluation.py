"""The evaluation of Yu et al. 2021 on ``zoo:stega``: Table 1 (transfer and fidelity), Table 2
(detection and closed/open-world attribution by fingerprint), Fig. 3 (robustness to image and
model perturbations, working range at 0.75) and App. A.2 (secrecy: removal and forgery).

Every function returns plain dicts of numbers; ``bench stega eval`` prints them and draws the PNGs.
FID needs Inception weights, which cannot ship: fidelity is the sliced Wasserstein distance
(``ganprint.datasets.sliced_wasserstein_distance``) instead, as in the zoo.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ganprint import REAL, UNKNOWN
from ganprint.plugins.stega.database import OPEN_WORLD_MATCH, FingerprintDatabase
from ganprint.plugins.stega.pipeline import (StegaPreset, clean_generator, database, fingerprinted_generator,
                                             steganography_model)
from ganprint.plugins.stega.secrecy import estimate_fingerprint
from ganprint.plugins.stega.config import StegaConfig, bits_of, psnr
from ganprint.plugins.stega.train import decode_logits, embed
from ganprint.plugins.stega.weights import StegaModel, get_model

DETECTION_MARGIN_BITS = 3


def decode(model: StegaModel, images: np.ndarray) -> np.ndarray:
    return bits_of(decode_logits(model.decoder, images))


def bitwise(model: StegaModel, images: np.ndarray, bits: np.ndarray) -> float:
    return float(np.mean(decode(model, images) == np.asarray(bits, np.uint8)))


def real_test_crops(p: StegaPreset, n: int, split: str = "test") -> np.ndarray:
    from ganprint.datasets import sample_crops

    return sample_crops(split, n, p.stega.image_size, p.seed + 11)[0]


def gan_samples(generator, n: int, seed: int) -> np.ndarray:
    from ganprint.datasets import sample

    return sample(generator, n, seed)


def table1(p: StegaPreset, n: int = 500, controls: Sequence[str] = ("dcgan",), families: Sequence[str] | None = None
           ) -> list[dict[str, Any]]:
    """Per family (of ``families``, default every publisher): bitwise accuracy on fingerprinted real
    data, on the fingerprinted GAN's samples and (control) on a clean GAN's samples; PSNR of stego
    vs clean; SWD of the fingerprinted GAN vs the clean GAN of the same family and vs real
    training crops."""
    from ganprint.datasets import training_crops
    from ganprint.datasets import sliced_wasserstein_distance as swd

    from ganprint.plugins.stega.pipeline import generator_config

    model, db = steganography_model(p), database(p)
    real = real_test_crops(p, n)
    rows = []
    for family in p.publishers(families):
        bits = db.fingerprints[family]
        stego = embed(model.encoder, real, bits)
        generator, meta = fingerprinted_generator(p, family)
        samples = gan_samples(generator, n, 1)
        train = training_crops(generator_config(p, family))[:n]
        row = {"family": family, "iterations": meta["config"]["iterations"],
               "data_bitwise": bitwise(model, stego, bits), "data_psnr": psnr(stego, real),
               "gan_bitwise": bitwise(model, samples, bits), "swd_fp_vs_train": swd(samples, train)}
        if family in controls:
            clean, _ = clean_generator(p, family)
            clean_samples = gan_samples(clean, n, 1)
            row |= {"clean_gan_bitwise": bitwise(model, clean_samples, bits),
                    "swd_clean_vs_train": swd(clean_samples, train),
                    "swd_fp_vs_clean": swd(samples, clean_samples)}
        rows.append(row)
    return rows


def recipe_trial(config: StegaConfig, family: str, iterations: int, base: StegaConfig | None = None, n: int = 500,
                 gan_width: int = 16, n_train: int = 2000, gan_ema: float | None = None,
                 gan_precision: str = "", progress: bool = True) -> dict[str, Any]:
    """One row of the training-recipe study (docs/results/stega): the steganography model of
    ``config`` (fine-tuned from ``base`` if given), one ``family`` GAN (width ``gan_width``, generator
    moving average ``gan_ema``, arithmetic ``gan_precision``) trained for ``iterations`` on crops it
    fingerprinted, and how much of the fingerprint the GAN carries (its Table 1 row). Cached like a
    preset."""
    p = StegaPreset("recipe", config, families=(family,), iterations=iterations, width=gan_width, n_train=n_train,
                    stega_base=base, ema=gan_ema, precision=gan_precision)
    model = steganography_model(p, progress)
    fingerprinted_generator(p, family, progress)  # trained here, with progress, before table1 reads it
    return {"val_bitwise": model.manifest["val"]["bitwise_acc"]} | table1(p, n, controls=())[0]


def attribution_table(p: StegaPreset, n: int = 500, held_out: Sequence[str] | None = None,
                      margin_bits: int = DETECTION_MARGIN_BITS) -> dict[str, Any]:
    """Table 2 by the paper's rules: detection (fake iff the decoded bits are within ``margin_bits``
    of a registered fingerprint), closed-world attribution (nearest fingerprint), open-world
    attribution (``held_out`` publishers unregistered; unknown iff the best match < 0.75). Without
    ``held_out``, open world is measured with each publisher held out in turn
    (``open_world:<family>``) and ``open_world`` is their mean accuracy."""
    model, db = steganography_model(p), database(p)
    real = real_test_crops(p, n)
    samples = {f: gan_samples(fingerprinted_generator(p, f)[0], n, 2) for f in p.families}
    n_bits = p.stega.n_bits
    min_match = 1 - margin_bits / n_bits

    decoded = {f: decode(model, samples[f]) for f in p.families}
    real_match = db.match(decode(model, real))[1]
    fake_match = np.concatenate([db.match(bits)[1] for bits in decoded.values()])
    detection = {"acc": float((np.mean(real_match < min_match) + np.mean(fake_match >= min_match)) / 2),
                 "real_false_positive": float(np.mean(real_match >= min_match)),
                 "margin_bits": margin_bits}

    closed_names = np.concatenate([db.match(decoded[f])[0] for f in p.families])
    closed_truth = np.concatenate([[f] * n for f in p.families])
    closed = {"acc": float(np.mean(closed_names == closed_truth))}

    table: dict[str, Any] = {"detection": detection, "closed_world": closed}
    if held_out is not None:
        table["open_world"] = _open_world(db, decoded, list(held_out), n)
        return table
    each = {f: _open_world(db, decoded, [f], n) for f in p.families}
    table["open_world"] = {"acc": float(np.mean([r["acc"] for r in each.values()])), "held_out": "each in turn"}
    table |= {f"open_world:{f}": r for f, r in each.items()}
    return table


def _open_world(db: FingerprintDatabase, decoded: dict[str, np.ndarray], held_out: list[str], n: int
                ) -> dict[str, Any]:
    known = FingerprintDatabase({f: b for f, b in db.fingerprints.items() if f not in held_out})
    predictions, truth = [], []
    for family, bits in decoded.items():
        names, agree = known.match(bits)
        predictions += np.where(agree >= OPEN_WORLD_MATCH, names, UNKNOWN).tolist()
        truth += [family if family not in held_out else UNKNOWN] * n
    predictions, truth = np.array(predictions), np.array(truth)
    return {"acc": float(np.mean(predictions == truth)), "held_out": held_out,
            "known_acc": float(np.mean(predictions[truth != UNKNOWN] == truth[truth != UNKNOWN])),
            "unknown_acc": float(np.mean(predictions[truth == UNKNOWN] == UNKNOWN))}


def model_perturbation_curve(p: StegaPreset, family: str, make_attack: Callable[..., Any], param: str,
                             strengths: Sequence[float], n: int = 300, seed: int = 0) -> dict[str, list]:
    """Bitwise accuracy and SWD (to the unperturbed generator's samples) against the strength of a
    model perturbation of the fingerprinted generator of ``family`` (Fig. 3 f–g)."""
    from ganprint.datasets import sliced_wasserstein_distance as swd

    model, bits = steganography_model(p), database(p).fingerprints[family]
    generator, _ = fingerprinted_generator(p, family)
    reference = gan_samples(generator, n, 3)
    accuracy, distance = [], []
    for strength in strengths:
        perturbed = make_attack(**{param: strength})(generator, np.random.default_rng([seed, 17]))
        samples = gan_samples(perturbed, n, 3)
        accuracy.append(bitwise(model, samples, bits))
        distance.append(swd(samples, reference))
    return {"strengths": list(strengths), "bitwise_acc": accuracy, "swd": distance}


def secrecy(p: StegaPreset, n_estimate: int = 1000, n_test: int = 300, strengths: Sequence[float] = (1.0, 2.0, 4.0),
            families: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Per family (of ``families``, default every publisher): removal (subtract the mean-residual
    estimate from the GAN's samples) and forgery (add it to real test crops) at each strength, as
    bitwise accuracy against the publisher's fingerprint and the fraction attributed to it (match
    ≥ 0.75); also the oracle estimate on fingerprinted real data, the mean of stego − clean over
    ``n_estimate`` crops."""
    model, db = steganography_model(p), database(p)
    real = real_test_crops(p, n_test)
    estimate_crops = real_test_crops(p, n_estimate, "val")
    rows = []
    for family in p.publishers(families):
        bits = db.fingerprints[family]
        generator, _ = fingerprinted_generator(p, family)
        estimate = estimate_fingerprint(gan_samples(generator, n_estimate, 4))
        oracle = (embed(model.encoder, estimate_crops, bits).astype(np.float32) - estimate_crops).mean(axis=0)
        targets = gan_samples(generator, n_test, 5)
        stego_real = embed(model.encoder, real, bits)
        row: dict[str, Any] = {"family": family, "clean_real_bitwise": bitwise(model, real, bits),
                               "gan_bitwise": bitwise(model, targets, bits)}
        for strength in strengths:
            for name, pattern, marked in (("residual", estimate, targets), ("oracle", oracle, stego_real)):
                removed = _add(marked, -strength * pattern)
                forged = _add(real, strength * pattern)
                forged_bits = decode(model, forged)
                row[f"removal_{name}_x{strength:g}"] = bitwise(model, removed, bits)
                row[f"forgery_{name}_x{strength:g}"] = float(np.mean(forged_bits == bits))
                row[f"forged_as_publisher_{name}_x{strength:g}"] = float(
                    np.mean((forged_bits == bits).mean(axis=1) >= OPEN_WORLD_MATCH))
        rows.append(row)
    return rows


def _add(images: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(images.astype(np.float32) + pattern), 0, 255).astype(np.uint8)


def fingerprinted_real_dataset(p: StegaPreset, n: int = 300):
    """Fingerprinted real test crops with their bits: the upper-bound curves of Fig. 3 ("Data")."""
    from ganprint.dataset import ArrayDataset

    model, db = steganography_model(p), database(p)
    real = real_test_crops(p, n)
    images, labels, bits = [], [], []
    for family in p.families:
        images.append(embed(model.encoder, real, db.fingerprints[family]))
        labels += [family] * n
        bits += [db.fingerprints[family]] * n
    images.append(real)
    labels += [REAL] * n
    bits += [None] * n
    return ArrayDataset(f"stega-data:{p.name}", np.concatenate(images), labels, ["test"] * len(labels), bits=bits)


def data_secrecy(config, n_estimate: int = 1000, n_test: int = 300, seed: int = 0) -> dict[str, float]:
    """Secrecy of a steganography model on real data, before any GAN: one fingerprint embedded in
    ``n_estimate`` val crops; the attacker's estimate is their mean noise residual ("residual") or,
    stronger, the mean of stego − clean ("oracle"). Removal subtracts it from fingerprinted test
    crops, forgery adds it to clean test crops; both scored in bitwise accuracy."""
    from ganprint.datasets import sample_crops

    model = get_model(config)
    bits = np.random.default_rng([seed, 5]).integers(0, 2, config.n_bits, dtype=np.uint8)
    estimate_crops = sample_crops("val", n_estimate, config.image_size, seed + 13)[0]
    test = sample_crops("test", n_test, config.image_size, seed + 14)[0]
    stego_estimate = embed(model.encoder, estimate_crops, bits)
    stego_test = embed(model.encoder, test, bits)
    out = {"bitwise": bitwise(model, stego_test, bits), "psnr": psnr(stego_test, test),
           "clean_bitwise": bitwise(model, test, bits)}
    patterns = {"residual": estimate_fingerprint(stego_estimate),
                "oracle": (stego_estimate.astype(np.float32) - estimate_crops).mean(axis=0)}
    residual = stego_test.astype(np.float32) - test
    out["image_independent_share"] = float(np.sum(patterns["oracle"] ** 2) * len(test) / np.sum(residual ** 2))
    for name, pattern in patterns.items():
        out[f"removal_{name}"] = bitwise(model, _add(stego_test, -pattern), bits)
        out[f"forgery_{name}"] = bitwise(model, _add(test, pattern), bits)
    return out


def ats_secrecy(p: StegaPreset, seed: int = 1, n: int = 250, controls: Sequence[str] = ("dcgan",),
                recipe: str = "full", clean_iterations: int | None = None, publisher_control: bool = False,
                progress: bool = True) -> dict[str, Any]:
    """The ATS attack of App. A.2 (``ats.ats_attack``) with an encoder trained by the preset's
    recipe from ``seed`` (``pipeline.independent_model``): on ``n`` samples of each fingerprinted
    GAN of ``controls`` and ``n`` of its clean control (the paper: 250 and 250), and on ``n``
    fingerprinted real test crops (the first publisher's fingerprint) and ``n`` other clean ones.
    ``recipe``: how much of the preset's recipe the attacker's encoder goes through
    (``pipeline.ATTACKER_RECIPES``); ``clean_iterations``: the clean controls' training length, if
    not the preset's. With ``publisher_control``, each set is attacked a second time with the
    publisher's own encoder in the attacker's hands (the leak the paper's conclusion excludes:
    "as long as we keep our encoder private")."""
    from ganprint.plugins.stega.ats import ats_attack
    from ganprint.plugins.stega.pipeline import independent_model
    from ganprint.plugins.stega.config import random_bits

    attacker = independent_model(p, seed, recipe, progress)
    model, db = steganography_model(p), database(p)

    def embedder(encoder):
        def embed_once(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            return embed(encoder, images, random_bits(len(images), encoder.n_bits, rng))
        return embed_once

    sets = []
    for family in controls:
        marked = gan_samples(fingerprinted_generator(p, family)[0], n, 6)
        control, meta = clean_generator(p, family, progress, clean_iterations)
        sets.append((f"{family} samples (fingerprinted vs clean control)", np.concatenate([marked, gan_samples(control, n, 6)]),
                     {"clean_iterations": meta["config"]["iterations"]}))
    real = real_test_crops(p, 2 * n)
    marked = embed(model.encoder, real[:n], db.fingerprints[p.families[0]])
    sets.append(("real test crops (fingerprinted vs clean)", np.concatenate([marked, real[n:]]), {}))
    attacker_psnr = psnr(embedder(attacker.encoder)(real[n:], np.random.default_rng([seed, 3])), real[n:])
    encoders = [("independent", attacker.encoder)] + ([("publisher's", model.encoder)] if publisher_control else [])
    truth = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    rows = [{"images": label, "encoder": who} | extra | ats_attack(images, truth, embedder(encoder), seed=p.seed)
            for label, images, extra in sets for who, encoder in encoders]
    return {"attacker": {"seed": seed, "recipe": recipe, "config": attacker.config.as_dict(),
                         "val": attacker.manifest.get("val"), "train_seconds": attacker.manifest.get("train_seconds"),
                         "strength": attacker.encoder.strength, "psnr_on_test_crops": attacker_psnr},
            "rows": rows}
