"""One call that fixes every random choice: Python, NumPy's global state and, if loaded, torch."""
from __future__ import annotations

import random
import sys

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed ``random``, NumPy's global generator and torch (only if torch is already imported)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)
