"""Where ganprint caches what it builds: ``$GANPRINT_CACHE``, else ``$XDG_CACHE_HOME/ganprint``,
else the platform's user cache folder (``~/.cache/ganprint`` on Linux)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import platformdirs


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


def config_key(config: Any) -> str:
    """A short stable hash of a JSON-serialisable configuration, for cache keys."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
