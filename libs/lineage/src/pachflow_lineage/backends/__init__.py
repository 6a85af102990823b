"""Backends behind one interface, and the rule that picks one.

`auto` (the default): the local store when PACHFLOW_HOME is set (the local runner sets it
for every datum, and real Pachyderm workers never have it), else Pachyderm when one is
configured (PACHD_ADDRESS, in-cluster env, pachctl config), else the local store in
./.pachflow. `--backend local|pachyderm` (PACHFLOW_LINEAGE_BACKEND) overrides the rule.
"""

from __future__ import annotations

import os

from pachflow_lineage.backends.base import Backend, CommitRecord
from pachflow_lineage.errors import LineageError
from pachflow_store.names import HOME_ENV

BACKENDS = ("auto", "local", "pachyderm")


def choose_backend(kind: str = "auto", home: str | None = None) -> str:
    """Which backend `auto` means here (see module doc)."""
    if kind not in BACKENDS:
        raise LineageError(f"unknown backend {kind!r}: expected one of {', '.join(BACKENDS)}")
    if kind != "auto":
        return kind
    from pachflow_lineage.client import pachyderm_configured

    if home or os.environ.get(HOME_ENV):
        return "local"
    return "pachyderm" if pachyderm_configured() else "local"


def open_backend(
    kind: str = "auto",
    *,
    home: str | None = None,
    pachd_address: str | None = None,
    console_url: str | None = None,
) -> Backend:
    """Open the chosen backend; Unreachable (a LineageError) when it cannot be used."""
    chosen = choose_backend(kind, home)
    if chosen == "local":
        from pachflow_lineage.backends.local import LocalBackend

        return LocalBackend.open(home)
    from pachflow_lineage.backends.pachyderm import PachydermBackend
    from pachflow_lineage.client import connect, resolve_target

    return PachydermBackend(connect(resolve_target(pachd_address)), console_url)


__all__ = ["BACKENDS", "Backend", "CommitRecord", "choose_backend", "open_backend"]
