"""CommitRef and the commit id rule: one type for the store, the runner and lineage."""

from __future__ import annotations

import subprocess
import sys

from pachflow_contracts.commits import SPEC, CommitRef, is_commit_id

ID = "0123456789abcdef0123456789abcdef"


def test_a_commit_prints_as_pachctl_names_it() -> None:
    assert str(CommitRef("raw_data", ID)) == f"raw_data@{ID}"
    assert CommitRef("split", ID, repo_type=SPEC).label == f"split.spec@{ID}"
    assert CommitRef("etl", ID, project="fraud").label == f"fraud/etl@{ID}"
    assert CommitRef("etl", ID, project="fraud").key == f"commit:fraud/etl@{ID}"


def test_the_id_rule_is_pachyderm_global_id() -> None:
    assert is_commit_id(ID)
    assert not is_commit_id(ID.upper()) and not is_commit_id(ID[:-1]) and not is_commit_id("master")


def test_the_run_contract_imports_no_pyarrow() -> None:
    """The store, the lineage commands and the provenance stage import commits without
    the Parquet contracts' pyarrow (~0.3 s at start-up; not in their images)."""
    code = (
        "import sys, pachflow_contracts.commits, pachflow_contracts.run_manifest, "
        "pachflow_contracts.run_tags, pachflow_contracts.worker_context; "
        "print('pyarrow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
