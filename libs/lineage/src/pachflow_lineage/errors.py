"""What can go wrong while resolving lineage. The CLI turns every LineageError into exit 2
with its message as the one line on stderr (the argument or the service named is wrong)."""

from __future__ import annotations


class LineageError(Exception):
    """A lineage question cannot be answered as asked (bad argument or service down)."""


class UnknownCommit(LineageError):
    """The backend has no such commit."""


class UnknownRun(LineageError):
    """MLflow has no such run."""


class UnknownModelVersion(LineageError):
    """MLflow has no such registered model version or alias."""


class Unreachable(LineageError):
    """pachd, the local store or MLflow cannot be reached (or is not configured)."""
