"""What the store's parts (file store, job ledger) share: one SQLite connection and its
write transaction, provided by pachflow_store.store.Store."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager

from pachflow_store.processes import DatumGroup


class Connected:
    conn: sqlite3.Connection

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def live_runner_since(self) -> float | None:
        """When the live `pachflow run` holding the store's run lock started; None when no
        runner is alive (none holds it, or its holder was killed)."""
        raise NotImplementedError

    def surviving_datums(self) -> list[DatumGroup]:
        """Datum process groups alive though the runner that started them is gone."""
        raise NotImplementedError
