"""Errors the ``bench`` command reports as one line and exit status 2."""


class UsageError(Exception):
    """A user error: a bad dataset, name or option."""
