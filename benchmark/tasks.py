"""The runner's work units, as module-level functions an executor can run in any process.

Each takes the run's dataset first (the executor supplies it). A detector's factory travels as a
:class:`DetectorFactory`: the factory itself when it can be sent to another process, else the
detector's name, looked up in that process's registry (so a plugin that cannot be imported there
fails only its own tasks).
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any, Callable

from ganprint import protocol
from ganprint.dataset import Dataset
from ganprint.interfaces import Attack


@dataclass(frozen=True)
class DetectorFactory:
    """Builds the detector ``name``: with ``factory`` if given, else from the registry here."""

    name: str
    factory: Callable[[], Any] | None = None

    @classmethod
    def of(cls, name: str, factory: Callable[[], Any]) -> "DetectorFactory":
        try:
            pickle.dumps(factory)
        except Exception:  # a closure or a local class: other processes find it by name
            return cls(name)
        return cls(name, factory)

    def __call__(self) -> Any:
        if self.factory is not None:
            return self.factory()
        from ganprint.registry import load_registry

        registry = load_registry()
        if self.name not in registry.detectors:
            failures = [f"{f.plugin}: {f.error}" for f in registry.failures]
            raise LookupError(f"detector {self.name!r} is not registered in this process"
                              + (f" (plugin load failures: {'; '.join(failures)})" if failures else ""))
        return registry.detectors[self.name].factory()


def fit(dataset: Dataset, factory: DetectorFactory, *, seed: int, sources: list[str] | None,
        train_attack: Attack | None, attack_name: str, start_from: Any | None = None) -> Any:
    """:func:`ganprint.protocol.fit_method`: one fit (closed world, or open world on ``sources``)."""
    return protocol.fit_method(factory, dataset, seed=seed, sources=sources, train_attack=train_attack,
                               attack_name=attack_name, start_from=start_from)


def calibrate(dataset: Dataset, method: Any, open_method: Any | None, *, known: list[str],
              held_out: list[str], batch_size: int, progress: bool) -> protocol.FittedMethod:
    """:func:`ganprint.protocol.calibrate`: thresholds on clean val images."""
    return protocol.calibrate(method, open_method, dataset, known=known, held_out=held_out,
                              batch_size=batch_size, progress=progress)


def prepare(dataset: Dataset, factory: DetectorFactory, *, seed: int, batch_size: int) -> protocol.FittedMethod:
    """:func:`ganprint.protocol.prepare`: every fit of a detector on clean images, calibrated."""
    return protocol.prepare(factory, dataset, seed=seed, batch_size=batch_size)


def evaluate(dataset: Dataset, fitted: protocol.FittedMethod, *, seed: int, attack: Attack | None,
             attack_name: str, batch_size: int, progress: str | None) -> tuple[dict[str, Any], list[dict]]:
    """:func:`ganprint.protocol.evaluate`: the metrics of one cell and its per-image rows."""
    metrics, outputs = protocol.evaluate(fitted, dataset, seed=seed, attack=attack, attack_name=attack_name,
                                         batch_size=batch_size, progress=progress)
    return metrics, list(outputs.rows())


def save(dataset: Dataset, fitted: protocol.FittedMethod, *, path: str, name: str, seed: int) -> str:
    """:func:`ganprint.saving.save_fitted`: the calibrated fit saved into ``path``."""
    from ganprint.saving import save_fitted

    save_fitted(fitted, dataset, path, name=name, seed=seed)
    return path
