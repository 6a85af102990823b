"""The local backend reads the store's commits as they are: one CommitRef type."""

from __future__ import annotations

from pathlib import Path

import pachflow_store as ps
from pachflow_contracts.commits import CommitRef
from pachflow_lineage.backends.local import LocalBackend


def test_the_store_returns_the_ref_lineage_reads(tmp_path: Path) -> None:
    """No converter between the store and the lineage backend: the store's commit is the
    backend's commit, equal and hashable alike."""
    (tmp_path / "a.csv").write_text("x\n")
    with ps.Store(tmp_path / "home") as store:
        ref = store.put_files("raw_data", [("/a.csv", tmp_path / "a.csv")])
        backend = LocalBackend(store)
        assert type(ref) is CommitRef
        record = backend.inspect_commit(ref)
        assert record.commit.ref == ref and {ref} == {record.commit.ref}
