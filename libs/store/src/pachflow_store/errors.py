"""Errors of the local store. `NotFound` names what does not exist (the CLI exits 2)."""

from __future__ import annotations


class StoreError(Exception):
    """Anything wrong with the local store."""


class NotFound(StoreError):
    """A repo, branch, commit, file, job or pipeline that does not exist."""


class StoreBusy(StoreError):
    """Another pachflow command holds the lock this one needs (the message names it)."""


class StoreReadOnly(StoreError):
    """A command that writes, on a store whose filesystem is mounted read-only."""


class DuplicateContent(StoreError):
    """A put of content the repo already holds under another path (the message names it)."""
