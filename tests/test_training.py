"""Early stopping in the shared training loop (ganprint.training.train_epochs)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ganprint.training import train_epochs


def run(scores: list[float], **kwargs):
    """Train a one-weight model whose validation scores follow ``scores``; return the history."""
    model = torch.nn.Linear(1, 1)
    model.initial = model.weight.item()
    remaining = iter(scores)

    def step(batch):
        with torch.no_grad():
            model.weight += 1.0  # the epoch is visible in the weights
        return {"loss": 0.0}

    return train_epochs(step, [np.zeros((4, 1), np.float32)], {"model": model}, batch_size=4,
                        max_epochs=len(scores), seed=0, evaluate=lambda: next(remaining),
                        progress=False, **kwargs), model


def test_stops_after_patience_and_restores_the_best_epoch():
    history, model = run([0.1, 0.5, 0.4, 0.4, 0.4, 0.9, 0.9], patience=3)
    assert history.stopped_early and len(history.losses) == 5
    assert history.best_epoch == 1
    assert model.weight.item() == pytest.approx(model.initial + 2)  # restored to the end of epoch 2


def test_a_network_at_chance_gets_the_stall_allowance_then_the_patience():
    at_chance = [0.2, 0.21, 0.19, 0.2, 0.2, 0.2, 0.2, 0.2]
    scores = at_chance + [0.6, 0.7, 0.7, 0.7, 0.7, 0.7]
    plain, _ = run(scores, patience=3)
    assert plain.stopped_early and max(plain.val_scores) < 0.3  # stopped at chance
    guarded, _ = run(scores, patience=3, patience_from=0.4, stall_patience=9)
    assert guarded.best_epoch == 9 and len(guarded.losses) == 13
    stalled, _ = run(at_chance * 3, patience=3, patience_from=0.4, stall_patience=9)
    assert stalled.stopped_early and len(stalled.losses) == 11  # the allowance still ends a stall
