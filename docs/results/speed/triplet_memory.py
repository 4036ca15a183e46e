"""Time and peak memory of BFR-VAE's triplet term on n fingerprints: the n³ formula it replaced
against ``ganprint.plugins.bfrvae.model.triplet_loss`` (issue #31, item 6).

    python docs/results/speed/triplet_memory.py old 1000
    python docs/results/speed/triplet_memory.py new 1000

Run each in its own process: the peak RSS printed is the process's. One thread, 128-dimensional
random fingerprints of 5 sources, margin 1.
"""
import resource
import sys
import time

import torch
import torch.nn.functional as F

from ganprint.plugins.bfrvae.model import triplet_loss


def every_triplet_at_once(fingerprints, labels, margin):
    """The formula before: one (n, n, n) tensor of hinges."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool)
    valid = (same & ~eye)[:, :, None] & (~same)[:, None, :]
    total = fingerprints[0].new_zeros(())
    for p in fingerprints:
        d = torch.cdist(p, p).pow(2)
        total = total + F.relu(d[:, :, None] - d[:, None, :] + margin)[valid].mean()
    return total


def main() -> None:
    which, n = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 5, (n,), generator=g)
    parts = [torch.randn(n, 128, generator=g) for _ in range(2)]
    fn = every_triplet_at_once if which == "old" else triplet_loss
    start = time.perf_counter()
    value = fn(parts, labels, 1.0).item()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{which} n={n} value={value:.6f} {seconds:.2f} s peak {peak} MB")


if __name__ == "__main__":
    main()
