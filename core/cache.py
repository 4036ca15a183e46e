"""Where ganprint caches what it builds, and how a cached file is trusted.

The cache folder is ``$GANPRINT_CACHE``, else ``$XDG_CACHE_HOME/ganprint``, else the platform's
user cache folder (``~/.cache/ganprint`` on Linux).

A cached file that results depend on (a built dataset, fitted weights) is *sealed* when written:
:func:`seal` records its sha256 in a sidecar ``<file>.sha256`` (written atomically) and leaves
both writable by their owner only. :func:`read_sealed` reads the file once, checks those very
bytes against the sidecar and returns them, so what is used is exactly what was checked, every
time it is read. A missing, truncated, zeroed or altered file, or a missing sidecar, is a
:class:`CacheEntryError` whose message names the file; the caller reports it in one line, removes
the entry (:func:`discard`) and builds it again. Usage::

    with atomic_path(folder / "images.npy") as tmp:
        np.save(tmp, images, allow_pickle=False)
    seal(folder / "images.npy")
    ...
    try:
        data = read_sealed(folder / "images.npy")
    except CacheEntryError as error:
        print(f"ganprint: {error}; rebuilding it", file=sys.stderr)
        discard(folder)
        ...

What this guarantees for a cache folder shared by several users (POSIX): a digest kept beside a
file protects against accidents (a full disk, a crash, a bad copy), not against someone who may
write the file and its digest. So a sealed file is trusted silently only when it is owned by the
current user and writable by nobody else; then only that user (or root) can have changed it. A
file owned by another user, or writable by others, is still used if its digest matches (sharing a
cache saves rebuilding it), but :func:`read_sealed` prints one line saying whose file it is:
results never depend silently on files another user could have changed. Setting
``GANPRINT_CACHE`` to a folder of one's own gives private copies.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import sys
from pathlib import Path
from typing import Any, Mapping

import platformdirs

from ganprint.atomic import write_text

DIGEST_SUFFIX = ".sha256"
_noted: set[Path] = set()


class CacheEntryError(Exception):
    """A cached file is missing, unreadable or does not match its recorded digest (the message
    names the file)."""


def cache_dir(*parts: str) -> Path:
    """The cache folder (or a sub-folder of it), created if missing."""
    if os.environ.get("GANPRINT_CACHE"):
        root = Path(os.environ["GANPRINT_CACHE"])
    elif os.environ.get("XDG_CACHE_HOME"):
        root = Path(os.environ["XDG_CACHE_HOME"]) / "ganprint"
    else:
        root = Path(platformdirs.user_cache_dir("ganprint"))
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_key(config: Any, length: int = 16) -> str:
    """A stable hash of a JSON-serialisable configuration, for cache keys: the first ``length``
    hex digits of the sha256 of its JSON text (keys sorted, other objects by ``str``)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def without_defaults(config: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` without the entries equal to their value in ``defaults``: options added to a
    configuration later, left at their defaults, then leave the keys of older configurations as
    they were."""
    return {k: v for k, v in config.items() if k not in defaults or v != defaults[k]}


def digest_path(path: Path | str) -> Path:
    """The sidecar holding the sha256 of ``path``: ``<path>.sha256``."""
    path = Path(path)
    return path.with_name(path.name + DIGEST_SUFFIX)


def seal(path: Path | str) -> str:
    """Record the sha256 of the finished file ``path`` in its sidecar and make both writable by
    their owner only (mode 644); return the digest."""
    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    sidecar = digest_path(path)
    write_text(sidecar, digest + "\n")
    for file in (path, sidecar):
        file.chmod(stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    return digest


def read_sealed(path: Path | str) -> bytes:
    """The bytes of ``path``, checked against the digest :func:`seal` recorded.

    Raises :class:`CacheEntryError` naming the file when it or its digest is missing or
    unreadable, or when they differ. Prints one line when the file could have been changed by
    another user (see the module docstring).
    """
    path = Path(path)
    sidecar = digest_path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CacheEntryError(f"cached file {path} is missing") from None
    except OSError as error:
        raise CacheEntryError(f"cached file {path} cannot be read ({error.strerror or error})") from None
    try:
        recorded = sidecar.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise CacheEntryError(f"cached file {path} has no recorded digest ({sidecar.name} is missing)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CacheEntryError(f"the digest of cached file {path} cannot be read ({error})") from None
    if hashlib.sha256(data).hexdigest() != recorded:
        raise CacheEntryError(f"cached file {path} does not match its recorded sha256 "
                              f"({len(data)} bytes; corrupted or changed since it was written)")
    note_foreign(path, sidecar)
    return data


def note_foreign(*paths: Path | str) -> None:
    """Print one line (once per file and process) for each file another user could have changed:
    owned by someone else, or writable by group or others."""
    if not hasattr(os, "getuid"):
        return
    for path in map(Path, paths):
        if path in _noted:
            continue
        try:
            info = path.stat()
        except OSError:
            continue
        if info.st_uid != os.getuid():
            why = f"owned by user {_user_name(info.st_uid)}"
        elif info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            why = "writable by other users"
        else:
            continue
        _noted.add(path)
        print(f"ganprint: note: using cached file {path}, {why} (its digest matches, but another user could "
              "have changed it; set GANPRINT_CACHE to a folder of your own for private copies)",
              file=sys.stderr, flush=True)


def discard(path: Path | str) -> None:
    """Remove a cache entry (a file with its sidecar, or a folder) so that it is built again.

    A folder is first renamed aside, so that no reader finds it half removed. Raises
    :class:`CacheEntryError` when it cannot be removed (e.g. it belongs to another user).
    """
    path = Path(path)
    try:
        if path.is_dir():
            aside = path.with_name(f".discarded-{path.name}-{os.getpid()}")
            os.replace(path, aside)
            handler = "onexc" if sys.version_info >= (3, 12) else "onerror"
            shutil.rmtree(aside, **{handler: _make_writable_and_retry})
        else:
            for file in (path, digest_path(path)):
                file.unlink(missing_ok=True)
    except FileNotFoundError:
        return
    except OSError as error:
        raise CacheEntryError(f"cannot remove the broken cache entry {path} ({error.strerror or error}); "
                              "remove it by hand, or set GANPRINT_CACHE to a folder of your own") from None


def _make_writable_and_retry(function: Any, path: str, _: Any) -> None:
    os.chmod(path, stat.S_IWUSR | stat.S_IRUSR)
    function(path)


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)
