"""The run's test images, reopened from the dataset spec the run recorded.

Thumbnails are only shown when the reopened dataset has the run's content hash: a dataset that
cannot be opened, or whose images changed since the run, yields a :class:`RunImages` without
images and with the reason, which the page prints instead of showing wrong pictures.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ganprint.dataset import Dataset


@dataclass
class RunImages:
    """The run's dataset, reopened and verified, or ``problem`` saying why it is not available."""

    dataset: Dataset | None = None
    problem: str | None = None

    @property
    def available(self) -> bool:
        return self.dataset is not None

    def read(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The images of ``ids`` that can be read, by id (none when the dataset is unavailable)."""
        if self.dataset is None or not ids:
            return {}
        wanted = set(ids)
        records = [r for r in self.dataset.records() if r.id in wanted]
        images, kept = self.dataset.read(records)
        return {r.id: image for r, image in zip(kept, images)}

    def test_samples(self, per_source: int) -> dict[str, list[tuple[str, np.ndarray]]]:
        """The first ``per_source`` test images of each source (in the dataset's fixed order)."""
        if self.dataset is None:
            return {}
        chosen = {source: [r.id for r in self.dataset.select("test", [source])][:per_source]
                  for source in self.dataset.sources}
        images = self.read([i for ids in chosen.values() for i in ids])
        return {source: [(i, images[i]) for i in ids if i in images] for source, ids in chosen.items()}


def reopen(spec: str, expected_hash: str, registry: Any = None) -> RunImages:
    """Open ``spec`` and check its content hash against the run's ``expected_hash``."""
    from ganprint.registry import load_registry

    if not spec:
        return RunImages(problem="the run did not record how to reopen its dataset")
    try:
        dataset = (registry if registry is not None else load_registry()).open_dataset(spec)
        found = dataset.content_hash()
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - any failure to reopen is shown on the page, not raised
        message = str(error).strip().splitlines()
        return RunImages(problem=f"the dataset {spec} could not be reopened "
                                 f"({type(error).__name__}{': ' + message[0] if message else ''})")
    if found != expected_hash:
        return RunImages(problem=f"the dataset {spec} now has content hash {found}, not the run's "
                                 f"{expected_hash}: its images changed since the run")
    return RunImages(dataset)
