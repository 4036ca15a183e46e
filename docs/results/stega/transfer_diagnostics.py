"""Where a publisher's GAN loses the fingerprint: for each fingerprinted generator of a zoo:stega
preset (and the clean control), on 1000 samples,

- the bitwise accuracy per sample (quantiles) and per bit (lowest, highest), with the shipped decoder;
- the decoder's bit margin (logit × ±1 of the true bit): mean and spread, beside fingerprinted real crops;
- the fingerprint's image-independent part: the mean of stego − clean over 1000 training crops
  embedded with the publisher's bits (its share of the residual energy), and how much of it the
  samples carry: the least-squares amplitude of that pattern in (sample − mean training crop),
  mean ± sd over samples (1 = as strong as in the fingerprinted crops; clean crops give 0 ± the
  content's spread);
- a second decoder, linear: ridge regression from pixels to ±1 bits, fitted on fingerprinted real
  training crops with random bits (8 × 2048 images). If it read the GAN samples better than the
  CNN, the CNN would be the bottleneck; if not, the samples lack the fingerprint.

    python docs/results/stega/transfer_diagnostics.py [PRESET]     # default: default
"""
import sys

import numpy as np
import torch

from ganprint.datasets.gan_training import sample, training_crops
from ganprint.datasets.realset import sample_crops
from ganprint.plugins.stega import pipeline
from ganprint.plugins.stega.config import random_bits
from ganprint.plugins.stega.train import decode_logits, embed
from ganprint.plugins.stega.weights import real_crops

N, SAMPLE_SEED, RIDGE = 1000, 7, 30.0

torch.set_num_threads(1)
preset = pipeline.preset(sys.argv[1] if len(sys.argv) > 1 else "default")
model = pipeline.steganography_model(preset, progress=False)
fingerprints = pipeline.database(preset).fingerprints
rng = np.random.default_rng(0)


def flat(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / 127.5 - 1


train, _ = real_crops(model.config)
bits = [random_bits(len(train), model.config.n_bits, rng) for _ in range(8)]
features = np.concatenate([flat(embed(model.encoder, train, b)) for b in bits])
targets = np.concatenate(bits).astype(np.float32) * 2 - 1
mean = features.mean(0)
centred = features - mean
weights = np.linalg.solve(centred.T @ centred + RIDGE * np.eye(centred.shape[1], dtype=np.float32), centred.T @ targets)


def linear_bits(images: np.ndarray) -> np.ndarray:
    return ((flat(images) - mean) @ weights > 0).astype(np.uint8)


test, _ = sample_crops("test", 500, model.config.image_size, 0)
test_bits = random_bits(len(test), model.config.n_bits, rng)
print(f"linear decoder on fingerprinted test crops: {np.mean(linear_bits(embed(model.encoder, test, test_bits)) == test_bits):.3f}")

crops = training_crops(pipeline.generator_config(preset, preset.families[0]))[:N]
crops_f = crops.astype(np.float32)
for family in preset.families:
    fingerprint = fingerprints[family]
    sign = np.where(fingerprint, 1.0, -1.0)
    stego = embed(model.encoder, crops, fingerprint)
    residual = stego.astype(np.float32) - crops_f
    pattern = residual.mean(0)
    share = float((pattern ** 2).sum() / (residual ** 2).mean(0).sum())

    def amplitude(images: np.ndarray) -> np.ndarray:
        return ((images.astype(np.float32) - crops_f.mean(0)) * pattern).sum(axis=(1, 2, 3)) / (pattern ** 2).sum()

    generator, _ = pipeline.fingerprinted_generator(preset, family, progress=False)
    samples = sample(generator, N, SAMPLE_SEED)
    logits = decode_logits(model.decoder, samples)
    correct = (logits > 0) == fingerprint
    per_sample, per_bit = correct.mean(1), np.sort(correct.mean(0))
    margin, stego_margin = logits * sign, decode_logits(model.decoder, stego) * sign
    a_gan, a_stego, a_clean = amplitude(samples), amplitude(stego), amplitude(crops)
    print(f"\n{family}: CNN bitwise {correct.mean():.3f}, linear {np.mean(linear_bits(samples) == fingerprint):.3f}")
    print("  per sample, quantiles 0/10/25/50/75/90/100%: " + " ".join(f"{q:.3f}" for q in np.quantile(per_sample, [0, .1, .25, .5, .75, .9, 1])))
    print(f"  per bit: lowest {per_bit[0]:.2f}, highest {per_bit[-1]:.2f}")
    print(f"  margin: samples {margin.mean():.2f} ± {margin.std():.2f}, fingerprinted crops {stego_margin.mean():.2f} ± {stego_margin.std():.2f}")
    print(f"  image-independent pattern: {share:.2f} of the residual energy; amplitude in samples {a_gan.mean():.2f} ± {a_gan.std():.2f}, "
          f"fingerprinted crops {a_stego.mean():.2f} ± {a_stego.std():.2f}, clean crops {a_clean.mean():.2f} ± {a_clean.std():.2f}")

if "dcgan" in preset.families:
    control, _ = pipeline.clean_generator(preset, "dcgan", progress=False)
    samples = sample(control, N, SAMPLE_SEED)
    print(f"\nclean dcgan (control) against dcgan's fingerprint: CNN {np.mean((decode_logits(model.decoder, samples) > 0) == fingerprints['dcgan']):.3f}, "
          f"linear {np.mean(linear_bits(samples) == fingerprints['dcgan']):.3f}")
