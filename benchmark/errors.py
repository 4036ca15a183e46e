"""Errors the ``bench`` command reports as one line and exit status 2 (see :mod:`ganprint.commands`)."""
from ganprint.commands import UsageError

__all__ = ["UsageError"]
