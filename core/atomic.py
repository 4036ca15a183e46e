"""Writing files so that an interruption (a kill, a full disk) never leaves half a file.

Everything is first written to a temporary file in the destination's folder, flushed, then
renamed over the destination (``os.replace`` is atomic on one file system): a reader sees the old
file or the new one, never a mixture, and a failed write leaves the previous good file in place.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator


def _file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0666 less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """A temporary path beside ``path``; when the block ends without error it replaces ``path``.

    For writers that want a file name (``savefig``, ``torch.save``, ``np.save``). On an error
    the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, _FILE_MODE)  # mkstemp makes 0600; a written file gets what open() would give
    try:
        yield tmp_path
        _fsync(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: Path | str, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """``open(path, mode)`` on a temporary file that replaces ``path`` when the block succeeds."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes a whole file: mode must start with 'w', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as f:
            yield f


def write_text(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return Path(path)


def write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    with atomic_open(path, "wb") as f:
        f.write(data)
    return Path(path)


def write_json(path: Path | str, value: Any, **kwargs: Any) -> Path:
    """Write ``value`` as indented JSON to ``path`` atomically (``default=repr`` for the rest)."""
    kwargs.setdefault("indent", 2)
    kwargs.setdefault("default", repr)
    return write_text(path, json.dumps(value, **kwargs) + "\n")


def save_figure(figure: Any, path: Path | str, **kwargs: Any) -> Path:
    """``figure.savefig`` into ``path`` atomically, the format taken from the path's suffix."""
    path = Path(path)
    kwargs.setdefault("format", path.suffix.lstrip(".") or "png")
    with atomic_path(path) as tmp:
        figure.savefig(tmp, **kwargs)
    return path


def save_image(image: Any, path: Path | str, **kwargs: Any) -> Path:
    """``image.save`` (a PIL image) into ``path`` atomically, the format taken from the path's suffix."""
    from PIL import Image

    path = Path(path)
    kwargs.setdefault("format", Image.registered_extensions().get(path.suffix.lower(), "PNG"))
    with atomic_path(path) as tmp:
        image.save(tmp, **kwargs)
    return path


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
