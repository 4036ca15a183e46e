"""The GAN-dependent bars of issue #34 for one publisher of a zoo:stega preset, before the others
are trained: Table 1's row (bitwise accuracy of the fingerprinted GAN's samples, of fingerprinted
real crops, their PSNR; ``evaluation.table1``) and the averaging attacks from the GAN's samples
(removal and forgery at ×1, ×2, ×4; ``evaluation.secrecy``), as ``bench stega eval`` computes them
for every publisher. The preset's model and the family's generator are trained (and cached) if
they are not.

    python docs/results/stega/family_bars.py --preset default --family dcgan [--n 500] [--out FILE.json]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from ganprint.plugins.stega import evaluation
from ganprint.plugins.stega.presets import preset

from model_bars import emit  # noqa: E402  (the script beside this one)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--family", required=True, help="one publisher of the preset")
    parser.add_argument("--n", type=int, default=500, help="images per source of Table 1")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    p = preset(args.preset)
    emit({"preset": p.name, "table1": evaluation.table1(p, args.n, controls=(), families=[args.family]),
          "secrecy": evaluation.secrecy(p, families=[args.family])}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
