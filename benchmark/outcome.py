"""A call's outcome as a record instead of a crash, after pytest's ``CallInfo.from_call``.

One failing plugin becomes an ERR row while the rest of the benchmark goes on; only
KeyboardInterrupt stops a run.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Outcome:
    """The value of a call, or its error message and traceback, and how long it took.

    ``cause`` names the task whose failure this outcome repeats, when the call was not made
    because a task it depends on failed. ``skipped`` lists, as (id, reason), the images the
    call's dataset could not read (a worker process sends them back with the outcome)."""

    value: Any = None
    error: str | None = None
    traceback: str | None = None
    seconds: float = 0.0
    cause: str | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def of(cls, fn: Callable[[], Any]) -> "Outcome":
        start = time.perf_counter()
        try:
            value = fn()
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - a plugin's SystemExit must not end the run either
            message = str(error).strip().splitlines()
            text = f"{type(error).__name__}: {message[0]}" if message else type(error).__name__
            return cls(error=text, traceback=traceback.format_exc(), seconds=time.perf_counter() - start)
        return cls(value=value, seconds=time.perf_counter() - start)
