"""ganprint.atomic: a write replaces the file whole or not at all, with the mode open() would give."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ganprint import atomic


def test_an_interrupted_write_leaves_the_previous_file(tmp_path: Path) -> None:
    path = atomic.write_text(tmp_path / "out.json", "good")
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(path, "w") as f:
            f.write("half")
            raise RuntimeError("killed mid-write")
    assert path.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"], "no temporary file is left behind"


def test_a_written_file_gets_the_mode_open_would_give(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    written = atomic.write_text(tmp_path / "atomic.txt", "x")
    assert stat.S_IMODE(os.stat(written).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)
